"""Per-key locks: claimed, refused while held (in this process or another), released on any thread,
and dropped by the kernel when their holder is killed — also while a child it started lives on."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from storyboard.store.locks import Locks

from support.lock_holder import Holder


@pytest.fixture
def holders() -> Iterator[list[Holder]]:
    started: list[Holder] = []
    yield started
    for holder in started:
        holder.close()


def test_a_name_is_claimed_once_until_released(tmp_path: Path) -> None:
    locks = Locks(tmp_path / "locks")
    claim = locks.try_claim("k1")
    assert claim is not None and claim.held and locks.holds("k1")
    assert locks.try_claim("k1") is None  # not re-entrant: a second claim in this process is refused
    assert Locks(tmp_path / "locks").try_claim("k1") is None  # nor through another instance
    other = locks.try_claim("k2")
    assert other is not None and sorted(locks.held()) == ["k1", "k2"]
    claim.release()
    claim.release()  # idempotent
    assert not claim.held and not locks.holds("k1")
    again = Locks(tmp_path / "locks").try_claim("k1")
    assert again is not None
    again.release()
    assert sorted(p.name for p in (tmp_path / "locks").iterdir()) == ["k1.lock", "k2.lock"]  # files stay


def test_a_claim_taken_on_one_thread_is_released_on_another(tmp_path: Path) -> None:
    locks = Locks(tmp_path / "locks")
    claim = locks.try_claim("k")
    assert claim is not None
    worker = threading.Thread(target=claim.release)
    worker.start()
    worker.join()
    assert not locks.holds("k")
    assert Locks(tmp_path / "locks").try_claim("k") is not None


def test_a_claim_is_released_when_its_block_raises(tmp_path: Path) -> None:
    locks = Locks(tmp_path / "locks")
    with pytest.raises(KeyError):
        with locks.try_claim("k") or pytest.fail("free"):
            raise KeyError("k")
    assert locks.try_claim("k") is not None


def test_shared_is_one_instance_per_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shared = Locks.shared(tmp_path / "locks")
    assert Locks.shared(Path("locks")) is shared
    assert Locks.shared(tmp_path / "other") is not shared


def test_another_process_holding_it_refuses_it_until_killed(tmp_path: Path, holders: list[Holder]) -> None:
    holder = Holder(str(tmp_path / "locks"), "k")
    holders.append(holder)
    assert holder.held
    locks = Locks(tmp_path / "locks")
    assert locks.try_claim("k") is None
    assert locks.try_claim("unrelated") is not None
    holder.kill()  # SIGKILL: no finally, no atexit; its child (sleeping) lives on
    assert holder.grandchild is not None
    os.kill(holder.grandchild, 0)  # still running
    claim = locks.try_claim("k")
    assert claim is not None  # the kernel dropped the lock; the child did not inherit it
    second = Holder(str(tmp_path / "locks"), "k")
    holders.append(second)
    assert not second.held  # and it is ours now, against other processes too

"""One cache directory, several writers: each stages in its own directory, a new entry appears
whole, a rewrite under way is a miss for readers (never "corrupt", never removed by them), an
entry another render holds is not overwritten, and a killed writer's leftovers are swept."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from storyboard.store.cache import Cache, CachedClip, ClipOrigin
from storyboard.store.locks import Locks

from support.fake_service import PNG
from support.lock_holder import Child, Holder

KEY = "ab" * 32
ORIGIN = ClipOrigin(
    shot="fox", task_id="t1", model="m", tokens=1, service="fake", request_digest={}, created=1_700_000_000.0
)

WRITER = """
import sys, time
from pathlib import Path
from storyboard.store.cache import Cache

cache = Cache(Path(sys.argv[1]))
staging = cache.staging_dir()
(staging / ".clip.mp4.1234.part").write_bytes(b"half a clip")
(staging / "entry-abababababab-x").mkdir()
(staging / "entry-abababababab-x" / "clip.mp4").write_bytes(b"a clip")
print(staging, flush=True)
if sys.argv[2] == "hang":
    time.sleep(60)
"""


def put(cache: Cache, data: bytes, *, frame: bool = False, key: str = KEY) -> CachedClip:
    staging = cache.staging_dir()
    (staging / f"{key}.mp4").write_bytes(data)
    if frame:
        (staging / f"{key}.png").write_bytes(PNG)
    return cache.put(key, staging / f"{key}.mp4", staging / f"{key}.png" if frame else None, ORIGIN)


@pytest.fixture
def children() -> Iterator[list[Child]]:
    started: list[Child] = []
    yield started
    for child in started:
        child.close()


def test_each_writer_stages_in_a_directory_of_its_own_and_leaves_nothing_in_it(tmp_path: Path) -> None:
    one, two = Cache(tmp_path / "cache"), Cache(tmp_path / "cache")
    assert one.staging_dir() != two.staging_dir()
    assert one.staging_dir().parent == two.staging_dir().parent == tmp_path / "cache" / "staging"
    first = put(one, b"clip one", frame=True)
    assert list(one.staging_dir().iterdir()) == []
    assert two.get(KEY) == first
    assert sorted(p.name for p in one.entry_dir(KEY).iterdir()) == ["clip.mp4", "last_frame.png", "meta.json"]


def test_a_corrupt_entry_whose_key_is_held_is_a_silent_miss_and_is_kept(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    put(cache, b"clip")
    (cache.entry_dir(KEY) / "clip.mp4").write_bytes(b"being rewritten")
    claim = Locks.shared(tmp_path / "cache" / "locks").try_claim(KEY)  # a writer at work
    assert claim is not None
    assert cache.get(KEY) is None
    assert cache.warnings == []
    assert (cache.entry_dir(KEY) / "meta.json").exists()  # not the reader's to remove
    claim.release()
    assert cache.get(KEY) is None  # nobody holds it: damage, warned and removed
    assert cache.warnings == ["cache entry abababababab is corrupt (clip checksum mismatch); generating again"]
    assert not cache.entry_dir(KEY).exists()


def test_readers_never_see_a_rewrite_half_done_nor_remove_it(tmp_path: Path) -> None:
    """--force rewrites an entry while another render reads it: every read is whole or a miss."""
    writer, reader = Cache(tmp_path / "cache"), Cache(tmp_path / "cache")
    versions = [b"version A " * 1000, b"version B " * 1000]
    digests = {hashlib.sha256(v).hexdigest() for v in versions}
    put(writer, versions[0], frame=True)
    claim = writer.locks.try_claim(KEY)  # the scheduler's claim, held while it writes
    assert claim is not None
    seen: list[str | None] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            entry = reader.get(KEY)
            seen.append(None if entry is None else entry.meta.clip_sha256)

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for n in range(300):
            put(writer, versions[n % 2], frame=n % 3 == 0)
    finally:
        done.set()
        thread.join()
        claim.release()
    assert reader.warnings == []
    assert {s for s in seen if s is not None} <= digests and len(seen) > 10
    final = reader.get(KEY)
    assert final is not None and final.clip.read_bytes() == versions[299 % 2]
    assert list(writer.staging_dir().iterdir()) == []


def test_a_put_over_an_entry_another_render_holds_keeps_theirs(tmp_path: Path, children: list[Child]) -> None:
    cache = Cache(tmp_path / "cache")
    theirs = put(cache, b"their clip")
    holder = Holder(str(tmp_path / "cache" / "locks"), KEY)
    children.append(holder)
    assert holder.held
    assert put(cache, b"my clip") == theirs
    assert cache.get(KEY) == theirs and theirs.clip.read_bytes() == b"their clip"
    assert list(cache.staging_dir().iterdir()) == []  # mine discarded, nothing left behind


def test_a_last_frame_is_not_added_while_another_render_holds_the_key(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    entry = put(cache, b"clip")
    png = cache.staging_dir() / "frame.png"
    png.write_bytes(PNG)
    claim = cache.locks.try_claim(KEY)
    assert claim is not None
    assert cache.add_last_frame(entry, png) == entry  # unchanged; the frame stays the caller's
    assert png.exists() and not (cache.entry_dir(KEY) / "last_frame.png").exists()
    claim.release()
    added = cache.add_last_frame(entry, png)
    assert added.last_frame is not None and added.last_frame.read_bytes() == PNG
    assert cache.get(KEY) == added


def test_a_killed_writers_staging_is_swept_by_the_next_writer_and_a_live_ones_is_kept(
    tmp_path: Path, children: list[Child]
) -> None:
    root = tmp_path / "cache"
    live = Cache(root)
    live.staging_dir()
    dead = Child(WRITER, str(root), "hang")
    children.append(dead)
    dead_dir = Path(dead.line)
    assert (dead_dir / ".clip.mp4.1234.part").exists()
    Cache(root).staging_dir()
    assert dead_dir.exists()  # its writer still runs
    dead.kill()
    fresh = Cache(root)
    fresh.staging_dir()
    assert not dead_dir.exists()
    assert not (root / "locks" / f"staging-{dead_dir.name}.lock").exists()
    assert live.staging_dir().exists() and fresh.staging_dir().exists()
    assert fresh.get("abababababab" + "ab" * 26) is None  # the half-built entry never became one


def test_a_writer_that_exits_removes_its_staging(tmp_path: Path) -> None:
    finished = Child(WRITER, str(tmp_path / "cache"), "exit")
    assert finished.proc.wait(timeout=30) == 0
    assert list((tmp_path / "cache" / "staging").iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "cache" / "locks").iterdir()) == []

"""`settle`: what a render does with a ready shot — cache first, then a journaled task, then an
uncertain create refused, else generate — and what `--force` changes. The dry run asks the same
question: for a cache and journal prepared by hand it prints the very states the scheduler then
takes, shot by shot, and starts no service to say so."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from storyboard.cli.main import main
from storyboard.cli.render import EMBEDDED_NOTICE
from storyboard.engine.lastframe import LastFrames
from storyboard.engine.plan import Plan
from storyboard.engine.scheduler import Event, Scheduler
from storyboard.engine.settle import (
    UNCERTAIN_CREATE,
    Cached,
    Force,
    Generate,
    Refused,
    Resume,
    Settlement,
    is_forced,
    settle,
)
from storyboard.engine.variants import load_batch
from storyboard.errors import APIError
from storyboard.spec.variables import VariableSet
from storyboard.store.cache import Cache, CachedClip, ClipOrigin, default_cache_dir
from storyboard.store.journal import Journal

from support.fake_service import PNG, FakeClock, FakeService, no_verify

KEY = "5e" * 32


def origin(shot: str = "a", task_id: str | None = "t-old") -> ClipOrigin:
    return ClipOrigin(
        shot=shot,
        task_id=task_id,
        model="doubao-seedance-1-0-pro-250528",
        tokens=1000,
        service="emulator",
        request_digest={"model": "doubao-seedance-1-0-pro-250528"},
        created=1_700_000_000.0,
    )


def put_clip(cache: Cache, key: str, shot: str, *, frame: bool = False) -> CachedClip:
    staging = cache.staging_dir()
    clip = staging / f"{key}.mp4"
    clip.write_bytes(f"clip of {shot}".encode())
    last = None
    if frame:
        last = staging / f"{key}.png"
        last.write_bytes(PNG)
    return cache.put(key, clip, last, origin(shot))


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# -- settle ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cached", "journaled", "forced", "expected"),
    [
        (False, None, False, Generate),
        (False, None, True, Generate),
        (True, None, False, Cached),
        (True, None, True, Generate),  # --force skips the cache
        (True, "submitted", False, Cached),  # the cache is asked first
        (True, "submitted", True, Resume),  # forced: never pay again for a task already paid for
        (False, "submitted", False, Resume),
        (False, "submitted", True, Resume),
        (True, "uncertain", False, Cached),
        (False, "uncertain", False, Refused),
        (False, "uncertain", True, Generate),  # the user checked the console: send it
        (True, "uncertain", True, Generate),
    ],
)
def test_settle_asks_the_cache_then_the_journal_and_force_skips_only_the_cache(
    tmp_path: Path, cached: bool, journaled: str | None, forced: bool, expected: type[Settlement]
) -> None:
    cache, journal = Cache(tmp_path / "cache"), Journal(tmp_path / "cache" / "journal")
    entry = put_clip(cache, KEY, "a") if cached else None
    noted = None
    if journaled is not None:
        uncertain = journaled == "uncertain"
        noted = journal.record(KEY, "a", None if uncertain else "t7", uncertain=uncertain)
    before = tree(tmp_path)

    settled = settle(KEY, cache=cache, journal=journal, forced=forced)

    assert type(settled) is expected
    if isinstance(settled, Cached):
        assert settled.entry == entry
    elif isinstance(settled, Resume):
        assert settled.entry == noted and settled.entry.task_id == "t7"
    elif isinstance(settled, Refused):
        assert isinstance(settled.error, APIError) and settled.error.maybe_submitted
        assert str(settled.error) == (
            "an earlier create request for this shot was sent but got no answer, "
            "so the service may be generating it already"
        )
        assert str(settled.error) == UNCERTAIN_CREATE
    assert tree(tmp_path) == before  # settling writes nothing
    assert cache.warnings == []


def test_a_submitted_entry_without_a_task_id_is_not_resumed(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    (tmp_path / "journal" / f"{KEY}.json").write_text(
        json.dumps({"key": KEY, "shot": "a", "state": "submitted", "task_id": None, "submitted_at": 1.0})
    )
    assert settle(KEY, cache=Cache(tmp_path / "cache"), journal=journal, forced=False) == Generate()


def test_a_corrupt_cache_entry_is_generated_again(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    entry = put_clip(cache, KEY, "a")
    entry.clip.write_bytes(b"changed")
    assert settle(KEY, cache=cache, journal=Journal(tmp_path / "journal"), forced=False) == Generate()
    assert cache.warnings == [f"cache entry {KEY[:12]} is corrupt (clip checksum mismatch); generating again"]


@pytest.mark.parametrize(
    ("force", "shot", "expected"),
    [(None, "a", False), (True, "a", True), ({"a"}, "a", True), ({"a"}, "b", False), (set(), "a", False)],
)
def test_is_forced(force: Force, shot: str, expected: bool) -> None:
    assert is_forced(force, shot) is expected


# -- the dry run and the scheduler, on one cache and journal ------------------------------------

BOARD = """\
version: 1
name: settle
defaults: {model: doubao-seedance-1-0-pro-250528, resolution: 480p, duration: 3}
shots:
  - {id: a, prompt: shot a}
  - {id: b, prompt: shot b}
  - {id: c, prompt: shot c}
  - {id: d, prompt: shot d}
  - {id: e, prompt: shot e, chain: true}
  - {id: f, prompt: shot f, images: [{from: a, role: first_frame}]}
"""
# a: in the cache; b: a task of an earlier render, journaled; c: a create that got no answer;
# d: nothing; e: chained onto d; f: starts on a's last frame
TAIL = " — 864x480, 3 s, ~29,565 tokens"
WORDS = {
    "cached": "cached (free)",
    "resumed": "in flight from an earlier render (resume polling; free)",
    "failed": "not sent: an earlier create got no answer (check the AceData console, then --force c)",
    "submitted": "generate",
}
AFTER = {"e": " after d", "f": " after a"}


class Prepared:
    """The board in tmp_path, and a cache and journal (where the CLI looks) prepared by hand."""

    def __init__(self, tmp_path: Path) -> None:
        self.board = tmp_path / "settle.yaml"
        self.board.write_text(BOARD, encoding="utf-8")
        # no token: the CLI renders with the embedded emulator, whose identity is "emulator"
        self.plan: Plan = load_batch(str(self.board), [VariableSet({})], service="emulator").plan
        self.root = default_cache_dir(os.environ)
        self.cache = Cache(self.root)
        self.journal = Journal(self.root / "journal")
        self.service = FakeService(FakeClock(), identity="emulator")
        put_clip(self.cache, self.key("a"), "a", frame=True)
        task = self.service.create(self.plan.job("b").request)  # still running on the service
        self.journal.record(self.key("b"), "b", task)
        self.journal.record(self.key("c"), "c", None, uncertain=True)
        self.output = tmp_path / "out" / "settle.mp4"

    def key(self, shot: str) -> str:
        return self.plan.job(shot).cache_key

    def schedule(self, force: Force) -> dict[str, str]:
        """Run the scheduler on the same cache and journal: each shot's first settled state."""
        events: list[Event] = []
        scheduler = Scheduler(
            self.plan,
            service=self.service,
            cache=self.cache,
            journal=self.journal,
            max_in_flight=10,
            force=force,
            on_event=events.append,
            clock=self.service.clock,
            last_frames=LastFrames(self.cache, extract=_no_extract),
            verify=no_verify,
        )
        scheduler.run()
        first: dict[str, str] = {}
        for e in events:
            if e.state not in ("waiting", "queued"):
                first.setdefault(e.shot, e.state)
        return first


def _no_extract(clip: Path, dest: Path) -> Path:
    raise AssertionError(f"{clip} has its last frame in the cache")


@pytest.fixture
def no_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the dry run started the emulator")

    monkeypatch.setattr("storyboard.emulator.Emulator", refuse)


def states(a: str, b: str, c: str) -> dict[str, str]:
    """The first settled state of each shot: a, b and c as given; d, e and f are always generated."""
    return {"a": a, "b": b, "c": c, "d": "submitted", "e": "submitted", "f": "submitted"}


@pytest.mark.parametrize(
    ("flags", "force", "expected"),
    [
        ([], None, states("cached", "resumed", "failed")),
        (["--force"], True, states("submitted", "resumed", "submitted")),  # b's task is paid for: resumed
        (["--force", "a", "c"], {"a", "c"}, states("submitted", "resumed", "submitted")),
        (["--force", "b"], {"b"}, states("cached", "resumed", "failed")),
    ],
    ids=["plain", "force-all", "force-a-c", "force-b"],
)
def test_the_dry_run_prints_the_states_the_scheduler_then_takes(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_emulator: None,
    flags: list[str],
    force: Force,
    expected: dict[str, str],
) -> None:
    prepared = Prepared(tmp_path)
    before = tree(prepared.root)

    assert main(["render", str(prepared.board), "--dry-run", *flags]) == 0

    out, err = capsys.readouterr()
    assert err == ""  # no emulator notice: the dry run needs no service
    assert EMBEDDED_NOTICE not in out
    assert tree(prepared.root) == before  # it wrote nothing
    paid = sum(state == "submitted" for state in expected.values())
    assert out.splitlines() == [
        *(f"{shot}: {WORDS[state]}{AFTER.get(shot, '')}{TAIL}" for shot, state in expected.items()),
        f"would pay about {paid * 0.4435:.4f} CNY; output {prepared.output}; nothing was sent",
    ]
    creates = len(prepared.service.creates)

    assert prepared.schedule(force) == expected  # shot by shot, what the dry run said

    assert len(prepared.service.creates) - creates == paid  # and it paid for exactly those
    assert prepared.service.single_retrieves == []


def test_the_dry_run_of_a_resumed_task_matches_a_scheduler_that_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_emulator: None
) -> None:
    prepared = Prepared(tmp_path)
    assert main(["render", str(prepared.board), "--dry-run", "--force", "b"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == f"b: {WORDS['resumed']}{TAIL}"
    prepared.schedule({"b"})
    assert prepared.service.prompts() == ["shot b", "shot d", "shot f", "shot e"]  # b was created by hand only
    assert prepared.journal.get(prepared.key("b")) is None  # resumed, downloaded, cached
    cached = prepared.cache.get(prepared.key("b"))
    assert cached is not None and cached.meta.task_id == "t1"


def test_the_dry_run_does_not_price_a_shot_whose_upstream_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_emulator: None
) -> None:
    """The scheduler blocks a shot that takes its frame from a refused one, and pays nothing
    for it: the dry run must not promise to generate it, nor count its price."""
    board = tmp_path / "refused.yaml"
    board.write_text(
        "version: 1\nname: refused\n"
        "defaults: {model: doubao-seedance-1-0-pro-250528, resolution: 480p, duration: 3}\nshots:\n"
        "  - {id: c, prompt: shot c}\n  - {id: g, prompt: shot g, chain: true}\n",
        encoding="utf-8",
    )
    plan = load_batch(str(board), [VariableSet({})], service="emulator").plan
    root = default_cache_dir(os.environ)
    cache, journal = Cache(root), Journal(root / "journal")
    journal.record(plan.job("c").cache_key, "c", None, uncertain=True)

    assert main(["render", str(board), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()

    service = FakeService(FakeClock(), identity="emulator")
    scheduler = Scheduler(plan, service=service, cache=cache, journal=journal, max_in_flight=10, clock=service.clock)
    scheduler.run()
    assert {shot: o.state for shot, o in scheduler.outcomes.items()} == {"c": "failed", "g": "blocked"}
    assert service.creates == []
    assert lines[0] == f"c: {WORDS['failed']}{TAIL}"
    assert not lines[1].startswith("g: generate"), lines[1]
    assert lines[2] == f"would pay about 0.0000 CNY; output {tmp_path / 'out' / 'refused.mp4'}; nothing was sent"

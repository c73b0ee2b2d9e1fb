"""Benchmark: what the per-key locks of a shared cache cost, with 20 concurrent shots.

Three figures:

1. one claim + release of a key lock (``flock`` through ``filelock``), and one refused try of a
   key another holder has — the price of a shot's claim and of one retry while it waits;
2. the scheduler over 20 independent shots against the in-memory fake service in virtual time
   (so the wall time is the engine's own work: settle, claim, journal, stage, put), with claims
   and with the claims layer switched off — the difference is the locking overhead per render;
3. real renders against the emulator (latency L): one render of a 20-shot storyboard alone, then
   two renders of it started together on one fresh cache — wall times and create requests (20,
   not 40: the second render waits for the first one's shots instead of paying for them).

    python bench/locking.py [--latency 1] [--rounds 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the fake service lives with the tests

from storyboard.emulator import Emulator  # noqa: E402
from storyboard.engine import claims  # noqa: E402
from storyboard.engine.lastframe import LastFrames  # noqa: E402
from storyboard.engine.plan import make_plan  # noqa: E402
from storyboard.engine.scheduler import Scheduler  # noqa: E402
from storyboard.engine.settle import settle  # noqa: E402
from storyboard.spec.load import load_text  # noqa: E402
from storyboard.store.cache import Cache  # noqa: E402
from storyboard.store.journal import Journal  # noqa: E402
from storyboard.store.locks import Locks  # noqa: E402

from support.fake_service import FakeClock, FakeService, no_verify  # noqa: E402

SHOTS = 20
FAST = "doubao-seedance-1-0-pro-fast-251015"


def board_text() -> str:
    shots = "".join(f'  - {{id: s{n:02d}, prompt: "independent shot {n}"}}\n' for n in range(SHOTS))
    return (
        f"version: 1\nname: twenty\ndefaults: {{model: {FAST}, resolution: 480p, frames: 29, seed: 1}}\n"
        f"output: {{path: out/twenty.mp4, preset: ultrafast}}\nshots:\n{shots}"
    )


def claim_costs(rounds: int) -> tuple[float, float, float]:
    """Median microseconds of a key's first claim + release (its lock file is created), of a claim
    + release of a key claimed before, and of a refused try."""
    with tempfile.TemporaryDirectory() as tmp:
        locks = Locks(Path(tmp) / "locks")
        first: list[float] = []
        for n in range(rounds):
            t0 = time.perf_counter()
            claim = locks.try_claim(f"first{n:059x}")
            assert claim is not None
            claim.release()
            first.append(time.perf_counter() - t0)
        keys = [f"{n:064x}" for n in range(SHOTS)]
        free: list[float] = []
        for n in range(rounds):
            t0 = time.perf_counter()
            claim = locks.try_claim(keys[n % SHOTS])
            assert claim is not None
            claim.release()
            free.append(time.perf_counter() - t0)
        holder = Locks(Path(tmp) / "locks")  # its own descriptors: another holder
        held = [holder.try_claim(k) for k in keys]
        refused: list[float] = []
        for n in range(rounds):
            t0 = time.perf_counter()
            assert locks.try_claim(keys[n % SHOTS]) is None
            refused.append(time.perf_counter() - t0)
        for c in held:
            assert c is not None
            c.release()
    return statistics.median(first) * 1e6, statistics.median(free) * 1e6, statistics.median(refused) * 1e6


def scheduler_wall(locking: bool) -> float:
    """Wall seconds of one scheduler run over 20 independent shots (fresh keys) on the fake service."""
    original = claims.Claims.settle
    if not locking:

        def plain(self: claims.Claims, shot: str, key: str, **kw: Any) -> Any:
            return settle(key, **kw)

        claims.Claims.settle = plain  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            plan = make_plan(load_text(board_text(), label="twenty.yaml", base_dir=root), service="fake")
            clock = FakeClock()
            cache = Cache(root / "cache")
            scheduler = Scheduler(
                plan, service=FakeService(clock), cache=cache, journal=Journal(root / "cache" / "journal"),
                max_in_flight=SHOTS, clock=clock, last_frames=LastFrames(cache), verify=no_verify,
            )  # fmt: skip
            t0 = time.perf_counter()
            outcomes = scheduler.run()
            wall = time.perf_counter() - t0
            assert {o.state for o in outcomes.values()} == {"done"}
    finally:
        claims.Claims.settle = original  # type: ignore[method-assign]
    return wall


def renders(latency: float, together: int) -> dict[str, float]:
    """`together` renders of the 20-shot board started at once on one fresh cache."""
    with tempfile.TemporaryDirectory() as tmp, Emulator(latency=latency, workdir=Path(tmp) / "emu") as emu:
        folder = Path(tmp)
        board = folder / "twenty.yaml"
        board.write_text(board_text())
        env = {
            **os.environ,
            "ACEDATACLOUD_API_BASE_URL": emu.url,
            "ACEDATACLOUD_API_TOKEN": "bench",
            "STORYBOARD_CACHE_DIR": str(folder / "cache"),
        }
        t0 = time.perf_counter()
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "storyboard",
                    "render",
                    str(board),
                    "-o",
                    str(folder / f"out{n}" / "t.mp4"),
                    "--json-events",
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for n in range(together)
        ]
        ends: dict[int, float] = {}
        while len(ends) < together:  # the event lines are few: the pipes never fill
            for n, proc in enumerate(procs):
                if n not in ends and proc.poll() is not None:
                    ends[n] = time.perf_counter() - t0
            time.sleep(0.01)
        outs = [p.communicate() for p in procs]
        assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
        waited = sum(out.count("another render is generating it") for out, _ in outs)
        return {"first": min(ends.values()), "last": max(ends.values()), "creates": emu.stats()["creates"],
                "waited": waited}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0, help="emulator latency L in seconds")
    parser.add_argument("--rounds", type=int, default=2000, help="claims timed for the per-claim cost")
    args = parser.parse_args()

    first, again, refused = claim_costs(args.rounds)
    print(
        f"key lock, median of {args.rounds}: first claim + release {first:.0f} us (creates its lock file), "
        f"later claim + release {again:.0f} us, refused try {refused:.0f} us"
    )

    walls: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(9):  # alternated, so that load from elsewhere hits both alike
        for locking in (True, False):
            walls[locking].append(scheduler_wall(locking))
    with_locks, without = statistics.median(walls[True]), statistics.median(walls[False])
    print(
        f"scheduler, {SHOTS} independent shots (new keys), fake service, virtual time, median of 9: "
        f"{with_locks * 1e3:.1f} ms with claims, {without * 1e3:.1f} ms without = "
        f"{(with_locks - without) * 1e3 / SHOTS:+.2f} ms per shot"
    )

    alone = renders(args.latency, 1)
    pair = renders(args.latency, 2)
    print(f"emulator (L = {args.latency:g} s), {SHOTS} shots of 480p, 29 frames, one fresh cache, wall time:")
    print(f"  one render alone:            {alone['last']:6.2f} s, {alone['creates']:.0f} creates")
    print(
        f"  two renders started at once: {pair['first']:6.2f} s and {pair['last']:6.2f} s, "
        f"{pair['creates']:.0f} creates; {pair['waited']:.0f} shots waited for the other render"
    )


if __name__ == "__main__":
    main()

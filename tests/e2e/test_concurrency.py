"""Renders running at once on one cache: each unique request is created once on the service, and a
render killed in the middle of a download leaves no partial entry and no held lock behind.

The renders are real processes (``python -m storyboard render``) against one standalone emulator;
its request log is the witness.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from test_render import FAST, created_prompts, creates

from storyboard.emulator import Emulator
from storyboard.store.cache import Cache
from storyboard.store.locks import Locks

BOARD = f"""\
version: 1
name: t
defaults: {{model: {FAST}, resolution: 480p, frames: 29, seed: 3}}
output: {{path: out/t.mp4, preset: ultrafast}}
shots:
  - {{id: a, prompt: "shot a"}}
  - {{id: b, prompt: "shot b"}}
  - {{id: c, prompt: "shot c"}}
"""
PROMO = f"""\
version: 1
name: promo
vars: {{product: x, dir: out}}
defaults: {{model: {FAST}, resolution: 480p, frames: 29, seed: 5}}
output: {{path: "{{{{ dir }}}}/{{{{ product | slug }}}}.mp4", preset: ultrafast}}
shots:
  - {{id: intro, prompt: "brand intro"}}
  - {{id: hero, prompt: "the {{{{ product }}}} turns"}}
  - {{id: endcard, prompt: "end card, shop now"}}
"""


def start(emu: Emulator, *args: str | Path) -> subprocess.Popen[str]:
    env = {**os.environ, "ACEDATACLOUD_API_BASE_URL": emu.url, "ACEDATACLOUD_API_TOKEN": "test-token"}
    return subprocess.Popen(
        [sys.executable, "-m", "storyboard", "render", *map(str, args), "--json-events"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish(proc: subprocess.Popen[str]) -> list[dict]:
    """Wait for a render; its JSON events (it must have exited 0)."""
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def cache_dir() -> Path:
    return Path(os.environ["STORYBOARD_CACHE_DIR"])


def assert_clean(cache: Path) -> None:
    """Every entry whole and verified, no lock held, no part file anywhere, nothing staged."""
    entries = [folder for folder in (cache / "clips").glob("*/*")]
    reader = Cache(cache)
    assert all(reader.get(folder.name) is not None for folder in entries)
    assert reader.warnings == []
    probe = Locks(cache / "locks")  # its own descriptors: as another process would try
    for lock in (cache / "locks").glob("*.lock"):
        claim = probe.try_claim(lock.stem)
        assert claim is not None, f"{lock.name} is still held"
        claim.release()
    assert list(cache.rglob("*.part")) == []
    assert list((cache / "staging").iterdir()) == []  # the killed writer's leftovers were swept


@pytest.fixture
def emu(emulator_factory: Callable[..., Emulator]) -> Emulator:
    return emulator_factory(latency=1.0)  # tasks stay pending while the other renders arrive


def test_three_renders_of_one_storyboard_create_each_shot_once(tmp_path: Path, emu: Emulator) -> None:
    board = tmp_path / "board.yaml"
    board.write_text(BOARD, encoding="utf-8")
    procs = [start(emu, board, "-o", tmp_path / f"out{n}" / "t.mp4") for n in range(3)]
    for proc in procs:
        finish(proc)
    assert sorted(created_prompts(emu)) == ["shot a", "shot b", "shot c"]  # once each, for three renders
    reports = [json.loads((tmp_path / f"out{n}" / "t.report.json").read_text()) for n in range(3)]
    clips = [{s["id"]: s["clip_sha256"] for s in report["shots"]} for report in reports]
    assert clips[0] == clips[1] == clips[2] and len(clips[0]) == 3
    sources = sorted(s["source"] for report in reports for s in report["shots"])
    assert sources == ["cache"] * 6 + ["generated"] * 3  # each shot paid by exactly one render
    assert_clean(cache_dir())


def test_two_variant_batches_sharing_shots_create_the_shared_ones_once(tmp_path: Path, emu: Emulator) -> None:
    board = tmp_path / "promo.yaml"
    board.write_text(PROMO, encoding="utf-8")
    batches = []
    for n, products in enumerate([("Red Shoe", "Blue Hat"), ("Green Bag", "Gold Ring")]):
        csv = tmp_path / f"batch{n}.csv"
        csv.write_text("product,dir\n" + "".join(f"{p},out{n}\n" for p in products), encoding="utf-8")
        batches.append(csv)
    procs = [start(emu, board, "--vars", csv) for csv in batches]
    for proc in procs:
        finish(proc)
    prompts = created_prompts(emu)
    assert prompts.count("brand intro") == 1 and prompts.count("end card, shop now") == 1
    assert sorted(p for p in prompts if p.endswith("turns")) == [
        "the Blue Hat turns", "the Gold Ring turns", "the Green Bag turns", "the Red Shoe turns",
    ]  # fmt: skip
    for n, slugs in enumerate([("red-shoe", "blue-hat"), ("green-bag", "gold-ring")]):
        for slug in slugs:
            assert (tmp_path / f"out{n}" / f"{slug}.mp4").stat().st_size > 0
    assert_clean(cache_dir())


def test_a_render_killed_during_a_download_leaves_no_partial_entry_and_no_lock(
    tmp_path: Path, emulator_factory: Callable[..., Emulator]
) -> None:
    emu = emulator_factory(latency=0.3, faults="dropdl=3")  # cut transfers, retried with backoff
    board = tmp_path / "board.yaml"
    board.write_text(BOARD.replace('  - {id: b, prompt: "shot b"}\n', ""), encoding="utf-8")
    cache = cache_dir()
    killed = start(emu, board)
    deadline = time.monotonic() + 60
    while not list(cache.glob("staging/*/*.part")) and time.monotonic() < deadline:
        time.sleep(0.01)
    parts = list(cache.glob("staging/*/*.part"))
    assert parts, "the render never got to a download"
    killed.send_signal(signal.SIGKILL)  # in the middle of a download: a part file on disk
    killed.communicate(timeout=30)
    assert all(p.exists() for p in parts)
    assert [p.name for p in cache.glob("clips/*/*")] == []  # no entry, not even half of one
    assert len(creates(emu)) == 2
    for lock in (cache / "locks").glob("*.lock"):
        claim = Locks(cache / "locks").try_claim(lock.stem)
        assert claim is not None, f"{lock.name} is still held by a dead render"
        claim.release()

    emu.set_faults("")
    finish(start(emu, board))
    assert sorted(created_prompts(emu)) == ["shot a", "shot c"]  # nothing created twice
    report = json.loads((tmp_path / "out" / "t.report.json").read_text())
    assert {s["source"] for s in report["shots"]} <= {"resumed", "cache"}
    assert "resumed" in {s["source"] for s in report["shots"]}
    assert list((cache / "journal").glob("*.json")) == []
    assert_clean(cache)

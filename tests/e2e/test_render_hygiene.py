"""Small promises of `render` (issue 12): a dry run changes nothing, a warning is printed once,
`--quiet` prints only errors and output paths, and a killed assembly leaves nothing for good."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_render import creates, use, write_board

from storyboard.assemble import sweep_stale_work, work_prefix
from storyboard.cli.main import main
from storyboard.emulator import Emulator

pytestmark = pytest.mark.e2e


def corrupt_first_clip(folder: Path) -> str:
    report = json.loads((folder / "out" / "t.report.json").read_text())
    clip = Path(report["shots"][0]["clip"])
    clip.write_bytes(clip.read_bytes()[:1000])
    return str(report["shots"][0]["cache_key"])


def test_dry_run_keeps_a_corrupt_entry_and_a_warning_prints_once(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use(emulator, monkeypatch)
    board = write_board(tmp_path, '  - {id: a, prompt: "shot a"}\n')
    assert main(["render", str(board), "--quiet"]) == 0
    key = corrupt_first_clip(tmp_path)
    entry = Path(os.environ["STORYBOARD_CACHE_DIR"]) / "clips" / key[:2] / key
    before = sorted((p.name, p.stat().st_size) for p in entry.iterdir())
    capsys.readouterr()

    assert main(["render", str(board), "--dry-run"]) == 0
    printed = capsys.readouterr()
    assert sorted((p.name, p.stat().st_size) for p in entry.iterdir()) == before  # a dry run changes nothing
    assert printed.out.splitlines()[0] == "a: generate — 864x480, 2 s, ~19,845 tokens"
    assert printed.err.splitlines() == [
        f"warning: cache entry {key[:12]} is corrupt (clip checksum mismatch); a render would generate it again"
    ]

    # as a process: in-process, pytest's own log handlers hide Python's last-resort one
    run = subprocess.run(
        [sys.executable, "-m", "storyboard", "render", str(board), "--json-events"],
        capture_output=True, text=True, timeout=120, env=os.environ.copy(),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stderr.count(f"cache entry {key[:12]} is corrupt") == 1, run.stderr
    assert len(creates(emulator)) == 2


def test_quiet_batch_prints_only_the_output_paths(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use(emulator, monkeypatch)
    board = write_board(tmp_path, '  - {id: a, prompt: "shot {{ n }}"}\n', name="t")
    board.write_text(board.read_text().replace("out/t.mp4", '"out/t{{ n }}.mp4"'))
    (tmp_path / "rows.csv").write_text("n\n1\n2\n")
    capsys.readouterr()
    assert main(["render", str(board), "--vars", str(tmp_path / "rows.csv"), "--quiet"]) == 0
    printed = capsys.readouterr()
    assert printed.out.splitlines() == [str(tmp_path / "out" / "t1.mp4"), str(tmp_path / "out" / "t2.mp4")]
    assert printed.err == ""


def test_work_folders_of_dead_assemblies_are_swept(tmp_path: Path) -> None:
    dest = tmp_path / "out" / "v.mp4"
    dest.parent.mkdir()
    assert work_prefix(dest) == f".v.mp4.{os.getpid()}."
    dead = dest.parent / ".v.mp4.4194999.k3j2"  # above any pid_max: that writer is gone
    live = dest.parent / f".v.mp4.{os.getpid()}.a1b2"  # a writer still running
    other = dest.parent / ".w.mp4.4194999.k3j2"  # another output's
    for folder in (dead, live, other):
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "frame.png").write_bytes(b"x")
    sweep_stale_work(dest)
    assert sorted(p.name for p in dest.parent.iterdir()) == sorted([live.name, other.name])

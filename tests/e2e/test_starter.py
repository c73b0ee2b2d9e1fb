"""`storyboard init` then `storyboard render`: the starter renders offline, music and all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storyboard.cli.main import main

from support.emulator_support import decode, has_audio


def test_the_starter_renders_offline_with_the_embedded_emulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init", "film"]) == 0
    assert main(["render", "film/storyboard.yaml", "--quiet"]) == 0
    video = tmp_path / "film" / "out" / "storyboard.mp4"  # the default name: the file's stem
    assert capsys.readouterr().out.splitlines()[-1] == str(video)
    report = json.loads((video.parent / "storyboard.report.json").read_text())
    assert [s["source"] for s in report["shots"]] == ["generated"] * 3
    frames, size = decode(video)
    assert size == (864, 480)
    # three 3 s shots (73 frames), two 0.5 s crossfades (12 frames each)
    assert len(frames) == 3 * 73 - 2 * 12
    assert has_audio(video)

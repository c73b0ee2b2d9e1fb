"""Takes end to end, against the emulator over HTTP: a 3-take shot is 3 creates with distinct seeds,
`storyboard pick` switches the assembled clip with 0 creates for it, and only the shot chained
from it is created again. The emulator's request log counts the creates; the report's clip hashes
and the video's frames say which take the video used."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from test_render import creates, use, write_board

from storyboard.cli.main import main
from storyboard.emulator import Emulator

from support.emulator_support import decode

SHOTS = """\
  - {id: a, prompt: "shot a", takes: 3}
  - {id: b, prompt: "shot b", chain: true}
  - {id: c, prompt: "shot c"}
"""


def text_of(body: dict) -> str:
    return str(body["content"][0]["text"])


def test_takes_then_pick_switches_the_clip_and_recreates_only_the_chained_shot(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use(emulator, monkeypatch)
    board = write_board(tmp_path, SHOTS)  # defaults give seed: 3
    assert main(["render", str(board), "--quiet"]) == 0
    sent = creates(emulator)
    a_seeds = [r["body"].get("seed") for r in sent if text_of(r["body"]) == "shot a"]
    assert sorted(a_seeds) == [3, 4, 5]  # take k of seed S sends S+k-1: three tasks, distinct seeds
    assert sorted(text_of(r["body"]) for r in sent) == ["shot a"] * 3 + ["shot b", "shot c"]

    report_path = tmp_path / "out" / "t.report.json"
    report = json.loads(report_path.read_text())
    shot_a = report["shots"][0]
    takes = shot_a["takes"]
    assert [(t["take"], t["job"], t["picked"], t["state"], t["requested_seed"], t["seed"]) for t in takes] == [
        (1, "a", True, "ready", 3, 3), (2, "a#2", False, "ready", 4, 4), (3, "a#3", False, "ready", 5, 5),
    ]  # fmt: skip
    assert shot_a["take"] == 1 and shot_a["clip_sha256"] == takes[0]["clip_sha256"]
    lock = yaml.safe_load((tmp_path / "board.lock.yaml").read_text())
    assert [lock["shots"][t["job"]]["requested_seed"] for t in takes] == [3, 4, 5]
    assert "picks" not in lock
    first_video = decode(tmp_path / "out" / "t.mp4")[0][0].astype(int)
    clip_2 = decode(Path(takes[1]["clip"]))[0][0].astype(int)

    capsys.readouterr()
    assert main(["pick", str(board), "a", "2"]) == 0
    said = capsys.readouterr().out
    assert said.splitlines() == [
        f'picked take 2 of shot "a" (was take 1) in {tmp_path / "board.lock.yaml"}',
        'the next render generates b (chained from take 2 of "a")',
    ]
    assert yaml.safe_load((tmp_path / "board.lock.yaml").read_text())["picks"] == {"a": 2}
    assert len(creates(emulator)) == 5  # pick sends nothing

    assert main(["render", str(board), "--quiet"]) == 0
    again = creates(emulator)[5:]
    assert [text_of(r["body"]) for r in again] == ["shot b"]  # a's takes and c come from the cache
    report = json.loads(report_path.read_text())
    shot_a = report["shots"][0]
    assert (shot_a["id"], shot_a["take"], shot_a["clip_sha256"]) == ("a#2", 2, takes[1]["clip_sha256"])
    assert [t["picked"] for t in shot_a["takes"]] == [False, True, False]
    assert report["shots"][1]["source"] == "generated" and report["shots"][2]["source"] == "cache"
    # the video's opening frames are take 2's now, not take 1's
    video = decode(tmp_path / "out" / "t.mp4")[0][0].astype(int)
    assert np.abs(video - clip_2).mean() < 3 < np.abs(first_video - clip_2).mean()


def test_pick_mistakes_are_one_line_with_exit_2(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use(emulator, monkeypatch)
    board = write_board(tmp_path, SHOTS)
    assert main(["pick", str(board), "a", "2"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"pick: {tmp_path / 'board.lock.yaml'} does not exist yet: render {board} first, then pick among its takes"
    )
    assert main(["render", str(board), "--quiet", "--takes", "2"]) == 0
    sent = len(creates(emulator))
    assert sent == 6  # --takes 2 overrides takes: 3, and gives b and c two takes each
    capsys.readouterr()
    for args, message in [
        (["x", "1"], 'pick: unknown shot "x" (shots: a, b, c)'),
        (["a", "3"], 'pick: take 3 is out of range: shot "a" has takes 1 to 3'),
    ]:
        assert main(["pick", str(board), *args, "--takes", "2"]) == 2
        assert capsys.readouterr().err.strip() == message.replace("takes 1 to 3", "takes 1 to 2")
    assert main(["pick", str(board), "c", "2"]) == 2  # without --takes, c has one take
    assert capsys.readouterr().err.strip() == (
        'pick: shot "c" has no takes (it was rendered with 2 takes: pick with --takes 2, as the render was)'
    )
    assert len(creates(emulator)) == sent

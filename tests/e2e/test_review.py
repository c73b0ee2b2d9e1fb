"""The review page beside a rendered video, opened from disk in a real headless Chromium.

Every shot panel is there in order with its state, every picture loads, every clip plays to its
duration, nothing reaches the console; a screenshot of each page is kept in ``test-artifacts/``.
Also: the poster, the contact sheet (one tile per shot) and the subtitle files beside the video.

A storyboard with takes is checked the same way: render it, then ``check_page(..., takes={shot:
n})`` asserts each panel shows its n takes (and ``look_at`` plays every one of them).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_render import ROOT, use, write_board

from storyboard.assemble.stills import SHEET_COLUMNS, SHEET_GAP, SHEET_LABEL, THUMB_WIDTH
from storyboard.cli.main import main
from storyboard.emulator import Emulator

from support.review_browser import Seen, look_at

CLIP_TOLERANCE = 0.1  # seconds: a 24 fps clip of d seconds has 24·d+1 frames


def check_page(seen: Seen, shots: list[str], states: list[str], *, takes: Mapping[str, int] | None = None) -> None:
    """The page shows `shots` in order in `states`, everything loads and plays, the console is silent."""
    assert seen.console == []
    assert [p["id"] for p in seen.panels] == shots
    assert [p["state"] for p in seen.panels] == states
    expected_takes = {s: (1 if st not in ("failed", "blocked") else 0) for s, st in zip(shots, states, strict=True)}
    expected_takes.update(takes or {})
    assert {p["id"]: p["takes"] for p in seen.panels} == expected_takes
    assert seen.images and all(i["width"] > 0 for i in seen.images), seen.images
    assert len(seen.images) == 2 * sum(expected_takes.values())  # first and last frame of every take
    assert len(seen.videos) == sum(expected_takes.values()) + seen.has_video
    for video in seen.videos:
        assert video["how"] == "ended", video
        if video["seconds"] is not None:  # a take: as long as the shot asked for
            assert abs(video["duration"] - video["seconds"]) < CLIP_TOLERANCE, video
        assert abs(video["at"] - video["duration"]) < 0.05, video  # played to the end
    assert seen.screenshot.stat().st_size > 10_000


def _review(out: Path, shot: str, which: str) -> list[Path]:
    return sorted((out / "quickstart.review").glob(f"{shot}-t1-*.{which}.jpg"))


def test_quickstart_review_page_plays_in_chromium_and_says_locked_on_the_second_render(
    tmp_path: Path, chromium: Path, emulator_factory: Callable[..., Emulator], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    use(emulator_factory(latency=0.0), monkeypatch)
    shutil.copytree(ROOT / "examples" / "media", tmp_path / "media")
    board = tmp_path / "quickstart.yaml"
    shutil.copy(ROOT / "examples" / "quickstart.yaml", board)
    assert main(["render", str(board)]) == 0
    out = tmp_path / "out"
    page = out / "quickstart.html"
    assert (
        f"3 generated, 0 from cache; report: {out / 'quickstart.report.json'}; review: {page}"
        in capsys.readouterr().err
    )
    seen = look_at(chromium, page, "quickstart")
    check_page(seen, ["perch", "look", "fly"], ["generated"] * 3)
    assert seen.chains == ["perch→look", "look→fly"]
    report = json.loads((out / "quickstart.report.json").read_text())
    assert abs(seen.videos[0]["duration"] - report["assembly"]["duration"]) < 0.05  # the finished video first
    # the poster is a full-size frame of the video; the sheet has one labelled tile per shot
    assert Image.open(out / "quickstart.jpg").size == (report["assembly"]["width"], report["assembly"]["height"])
    tile_h = round(report["assembly"]["height"] * THUMB_WIDTH / report["assembly"]["width"])
    assert Image.open(out / "quickstart.sheet.jpg").size == (
        3 * THUMB_WIDTH + 4 * SHEET_GAP,
        tile_h + SHEET_LABEL + 2 * SHEET_GAP,
    )
    assert not (out / "quickstart.srt").exists()  # the quickstart has no captions
    # the clips are the cache's (hard-linked), so the page outlives a cleaned cache
    clips = sorted((out / "quickstart.review").glob("*.mp4"))
    assert [c.name.split("-t1-")[0] for c in clips] == ["01-perch", "02-look", "03-fly"]
    assert [c.read_bytes() for c in clips] == [Path(s["clip"]).read_bytes() for s in report["shots"]]
    # a chained shot starts on its upstream's last frame: the two thumbnails show one picture
    last, first = (np.asarray(Image.open(f), dtype=float) for f in (*_review(out, "01-perch", "last"),
                                                                        *_review(out, "02-look", "first")))  # fmt: skip
    assert np.abs(last - first).mean() < 8  # (twice lossy: ~3.5; two different frames of these clips: 20+)

    # unchanged and pinned by the lockfile written above: every shot is "locked", nothing is paid
    assert main(["render", str(board), "--quiet"]) == 0
    assert re.findall(r'data-shot="(\w+)" data-state="(\w+)"', page.read_text()) == [
        ("perch", "locked"), ("look", "locked"), ("fly", "locked"),
    ]  # fmt: skip
    assert sorted((out / "quickstart.review").glob("*.mp4")) == clips  # the same clips: nothing copied again


def test_failed_render_shows_the_failure_in_place(
    tmp_path: Path, chromium: Path, emulator_factory: Callable[..., Emulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    use(emulator_factory(latency=0.0, faults="fail=shot b"), monkeypatch)
    shots = """\
  - {id: a, prompt: "shot a", images: [{path: media/bird.jpg}]}
  - {id: b, prompt: "shot b <b>loud</b>", chain: true}
  - {id: c, prompt: "shot c", chain: true}
"""
    board = write_board(tmp_path, shots)
    assert main(["render", str(board), "--quiet"]) == 1
    out = tmp_path / "out"
    assert not (out / "t.mp4").exists()
    seen = look_at(chromium, out / "t.html", "failed")
    check_page(seen, ["a", "b", "c"], ["generated", "failed", "blocked"])
    assert not seen.has_video
    assert seen.header_error is not None and 'shot "b" failed: ' in seen.header_error
    errors = {p["id"]: p["error"] for p in seen.panels}
    assert "OutputVideoSensitiveContentDetected" in errors["b"]
    assert errors["c"] == "not generated: it needs b, which did not finish"
    assert errors["a"] is None
    assert not (out / "t.jpg").exists() and not (out / "t.sheet.jpg").exists()


def test_captions_are_exported_beside_the_video_on_its_timeline_also_in_a_crossfade(
    tmp_path: Path, emulator_factory: Callable[..., Emulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    use(emulator_factory(latency=0.0), monkeypatch)
    shots = """\
  - {id: a, prompt: "shot a", caption: {text: "First <one>", start: 0.5, end: 1.5}}
  - {id: b, prompt: "shot b", caption: {text: "Second", start: 0.25}, transition: {type: crossfade, duration: 0.5}}
"""
    board = write_board(tmp_path, shots)
    board.write_text(
        board.read_text().replace("preset: ultrafast}", "preset: ultrafast, title: {text: Hi, duration: 1}}")
    )
    assert main(["render", str(board), "--quiet"]) == 0
    out = tmp_path / "out"
    # title 1 s; a: 2 s + 1 frame; b crossfades in 0.5 s earlier and shows to its end (49 frames);
    # b's caption starts inside the crossfade (which once stopped the assembly: a frame asked twice)
    b_start = 1 + 49 / 24 - 0.5
    assert (out / "t.srt").read_text() == (
        "1\n00:00:01,500 --> 00:00:02,500\nFirst <one>\n\n"
        f"2\n00:00:{b_start + 0.25:06.3f} --> 00:00:{b_start + 49 / 24:06.3f}\nSecond\n".replace(".", ",")
    )
    assert (out / "t.vtt").read_text().startswith("WEBVTT\n\n00:00:01.500 --> 00:00:02.500\nFirst &lt;one&gt;\n")
    tiles = Image.open(out / "t.sheet.jpg").size
    assert tiles[0] == 2 * THUMB_WIDTH + 3 * SHEET_GAP and SHEET_COLUMNS > 2


def test_takes_side_by_side_with_their_pick_commands_and_the_pick_shown(
    tmp_path: Path, chromium: Path, emulator_factory: Callable[..., Emulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    use(emulator_factory(latency=0.0), monkeypatch)
    shots = """\
  - {id: hero, prompt: "the hero", takes: 3, images: [{path: media/bird.jpg}]}
  - {id: next, prompt: "what follows", chain: true}
"""
    board = write_board(tmp_path, shots)
    assert main(["render", str(board), "--quiet"]) == 0
    page = tmp_path / "out" / "t.html"
    check_page(look_at(chromium, page, "takes"), ["hero", "next"], ["generated", "generated"], takes={"hero": 3})
    html = page.read_text()
    assert [f"storyboard pick {board} hero {n}" in html for n in (1, 2, 3)] == [True, True, True]
    seeds = re.findall(r"take (\d) · seed (\d+)", html)
    assert seeds == [("1", "3"), ("2", "4"), ("3", "5"), ("1", "3")]  # hero's distinct seeds, then next's
    assert re.findall(r'class="take chosen" data-take="(\d)"', html) == ["1", "1"]

    assert main(["pick", str(board), "hero", "2"]) == 0
    assert main(["render", str(board), "--quiet"]) == 0
    html = page.read_text()
    assert re.findall(r'class="take chosen" data-take="(\d)"', html) == ["2", "1"]
    assert re.findall(r'data-shot="(\w+)" data-state="(\w+)"', html) == [("hero", "locked"), ("next", "generated")]

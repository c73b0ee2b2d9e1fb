"""References end to end: an extended clip assembles without showing its source twice (both
answers to the table's uncertain continuity fact), a mov clip assembles, and the examples
render over the emulator with the right request items."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
import pytest

from storyboard.assemble import ClipSpec, assemble, probe
from storyboard.cli.main import main
from storyboard.emulator import Emulator
from storyboard.engine.finish import continues_previous, extended_trim, source_head
from storyboard.engine.plan import make_plan
from storyboard.spec.load import load_text
from storyboard.spec.model import Output

FF = imageio_ffmpeg.get_ffmpeg_exe()
M25 = "doubao-seedance-2-5-260628"


def frames_of(path: Path) -> np.ndarray:
    info = probe(path)
    raw = subprocess.run([FF, "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(-1, info.height, info.width, 3)


def diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def encode(dest: Path, first: int, count: int, *extra: str) -> Path:
    """Frames [first, first + count) of one moving test pattern at 24 fps (every frame differs)."""
    pattern = "testsrc2=size=432x240:rate=24:duration=9"
    subprocess.run([FF, "-v", "error", "-y", "-f", "lavfi", "-i", pattern, "-vf",
                    f"select='between(n,{first},{first + count - 1})',setpts=N/24/TB", "-frames:v", str(count),
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "12", "-pix_fmt", "yuv420p", *extra,
                    str(dest)], check=True)  # fmt: skip
    return dest


@pytest.mark.parametrize("includes_source", [True, False])
def test_an_extended_clip_joins_its_source_without_repeating_it(tmp_path: Path, includes_source: bool) -> None:
    text = (f"version: 1\nname: t\ndefaults: {{model: {M25}, resolution: 480p}}\nshots:\n"
            "  - {id: walk, prompt: walk, duration: 4}\n  - {id: run, prompt: run, chain: extend, duration: 4}\n")  # fmt: skip
    plan = make_plan(load_text(text, label="t.yaml", base_dir=tmp_path), service="t")
    head = source_head(plan, plan.jobs[1], includes_source)
    assert head == (97 / 24 if includes_source else 0.0)
    source = encode(tmp_path / "walk.mp4", 0, 97)  # 4 s: 24*4+1 frames
    # what the service returns for `run` (as the emulator makes it): the source and the 96 frames
    # after it, or the continuation only, which starts on the source's last frame (97 frames)
    extended = encode(tmp_path / "run.mp4", 0 if includes_source else 96, 193 if includes_source else 97)
    whole = frames_of(encode(tmp_path / "whole.mp4", 0, 193))
    joined = ClipSpec(extended, trim=extended_trim(None, head),
                      continues_previous=continues_previous(plan, plan.picked, 1, includes_source))  # fmt: skip
    done = assemble([ClipSpec(source), joined], Output(), tmp_path / "out.mp4", base_dir=tmp_path)
    out = frames_of(done.path)
    assert len(out) == 193  # the source once, then the continuation
    assert max(diff(out[i], whole[i]) for i in range(90, 104)) < 3  # the join is the pattern's own motion
    assert min(diff(out[i], out[i + 1]) for i in range(90, 104)) > 3  # no picture repeats at the join


def test_a_mov_clip_with_yuv444p_and_pcm_audio_assembles(tmp_path: Path) -> None:
    mov = tmp_path / "a.mov"  # what 2.5 returns for output_format: mov (§7 notes)
    subprocess.run([FF, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=432x240:rate=24:duration=2",
                    "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:v", "libx264", "-pix_fmt", "yuv444p",
                    "-c:a", "pcm_s16le", "-shortest", str(mov)], check=True)  # fmt: skip
    done = assemble([ClipSpec(encode(tmp_path / "b.mp4", 0, 49)), ClipSpec(mov)], Output(), tmp_path / "o.mp4",
                    base_dir=tmp_path)  # fmt: skip
    info = probe(done.path)
    assert (info.frames, info.has_audio) == (97, True)


# --- the examples over the emulator --------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def example(tmp_path: Path, name: str) -> Path:
    (tmp_path / "media").mkdir()
    for media in ("image_0001.jpg", "voice_mia.mp3"):
        shutil.copy(ROOT / "examples" / "media" / media, tmp_path / "media" / media)
    board = tmp_path / f"{name}.yaml"
    text = (ROOT / "examples" / f"{name}.yaml").read_text(encoding="utf-8")
    board.write_text(text.replace("output:\n", "output:\n  preset: ultrafast\n"), encoding="utf-8")
    return board


def creates(emu: Emulator) -> list[dict[str, Any]]:
    return [r for r in emu.requests if r["path"] == "/seedance/videos" and r["status"] == 200]


def items(request: dict[str, Any]) -> list[tuple[str, str]]:
    return [(i["type"], i.get("role", "")) for i in request["body"]["content"]]


def verb(request: dict[str, Any]) -> str:
    """The cast example's prompts read "Mia ([Image 1]) <verb> ...": the verb names the shot."""
    return str(request["body"]["content"][0]["text"].split()[3])


def render(emu: Emulator, board: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", emu.url)
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", "test-token")
    return main(["render", str(board), "--quiet"])


def test_cast_renders_with_the_right_items_and_an_asset_change_recreates_only_its_shots(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = example(tmp_path, "cast")
    assert render(emulator, board, monkeypatch) == 0
    sent = {verb(r): r for r in creates(emulator)}
    hello, listen, welcome, fly = (sent[k] for k in ("sits", "tilts", "hops", "flies"))
    assert items(hello) == [("text", ""), ("image_url", "reference_image"), ("audio_url", "reference_audio")]
    assert items(listen) == [("text", ""), ("image_url", "reference_image")]
    assert items(welcome) == items(hello)
    assert items(fly) == [("text", ""), ("image_url", "reference_image"), ("video_url", "reference_video")]
    assert hello["body"]["content"][2]["audio_url"]["url"].startswith("data:audio/mp3;base64,")
    assert all(r["body"]["generate_audio"] is True for r in (hello, listen, welcome, fly))
    report = json.loads((tmp_path / "out" / "cast.report.json").read_text(encoding="utf-8"))
    hello_task = next(s["task_id"] for s in report["shots"] if s["id"] == "hello")
    video = fly["body"]["content"][2]["video_url"]["url"]
    assert video.startswith(emulator.url) and hello_task in video  # hello's clip, as the service gave it
    out = tmp_path / "out" / "cast.mp4"
    assert probe(out).frames == 4 * 97

    assert render(emulator, board, monkeypatch) == 0
    assert len(creates(emulator)) == 4  # unchanged: nothing created

    ff = [FF, "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=330:duration=4"]
    subprocess.run([*ff, str(tmp_path / "media" / "voice_mia.mp3")], check=True)  # a new voice
    assert render(emulator, board, monkeypatch) == 0
    # the shots that use the voice, and fly, which takes hello's (new) clip; never listen
    assert sorted(verb(r) for r in creates(emulator)[4:]) == ["flies", "hops", "sits"]


def test_extend_renders_and_shows_no_repeated_picture_at_the_join(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = example(tmp_path, "extend")
    assert render(emulator, board, monkeypatch) == 0
    perch, takeoff = creates(emulator)
    assert items(takeoff) == [("text", ""), ("video_url", "reference_video")]
    assert (takeoff["body"]["omni_reference_task_type"], takeoff["body"]["ratio"]) == ("extend", "adaptive")
    out = frames_of(tmp_path / "out" / "extend.mp4")
    assert len(out) == 97 + 96  # the source once, the continuation after its shared first frame
    steps = [diff(out[i], out[i + 1]) for i in range(92, 101)]
    assert min(steps) > 0.5, steps  # the camera keeps moving: no frame repeats at the join (96 -> 97)

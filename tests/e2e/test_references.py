"""References end to end: an extended clip assembles without showing its source twice (both
answers to the table's uncertain continuity fact), a mov clip assembles, and the examples
render over the emulator with the right request items."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from storyboard.assemble import ClipSpec, assemble, probe
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
                      continues_previous=continues_previous(plan, 1, includes_source))  # fmt: skip
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

"""Assembly failures: exact messages, atomic writes, fast-path refusals, no leaked handles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_assemble import FIX, clip, run

from storyboard.assemble import assemble
from storyboard.errors import AssembleError
from storyboard.spec.model import Caption, Music, Output, Title, Transition, Trim


def fails(tmp_path: Path, clips, **out) -> str:
    with pytest.raises(AssembleError) as info:
        run(tmp_path, clips, **out)
    assert not (tmp_path / "out.mp4").exists()
    return str(info.value)


def test_no_clips(tmp_path):
    assert fails(tmp_path, []) == "nothing to assemble: no clips given"


def test_missing_clip(tmp_path):
    msg = fails(tmp_path, [clip("a.mp4"), clip("gone.mp4")])
    assert msg == f"clip 2: file not found: {FIX / 'gone.mp4'}"


def test_unreadable_clip(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    msg = fails(tmp_path, [clip("a.mp4"), clip(str(junk))])
    assert msg == f"clip 2: cannot read {junk}: moov atom not found"


def test_clip_without_picture(tmp_path):
    msg = fails(tmp_path, [clip("rain_4s.mp3")])
    assert msg == f"clip 1: {FIX / 'rain_4s.mp3'} has no video stream"


def test_trim_beyond_the_clip(tmp_path):
    assert fails(tmp_path, [clip("a.mp4", trim=Trim(end=3))]) == (
        "clip 1 (a.mp4): trim end 3 s is beyond the end of the clip (2.042 s)"
    )
    assert fails(tmp_path, [clip("a.mp4", trim=Trim(start=2.5))]) == (
        "clip 1 (a.mp4): trim start 2.5 s is not before the end of the clip (2.042 s)"
    )


def test_transition_longer_than_the_clip(tmp_path):
    msg = fails(tmp_path, [clip("tall.mp4"), clip("a.mp4")],
                transition=Transition(type="crossfade", duration=1.5))  # fmt: skip
    assert msg == "clip 1 (tall.mp4): its transitions last 1.5 s but the clip shows only 1 s"


def test_music_problems(tmp_path):
    assert fails(tmp_path, [clip("a.mp4")], music=Music(path="none.mp3")) == (
        f"music file not found: {FIX / 'none.mp3'}"
    )
    assert fails(tmp_path, [clip("a.mp4")], music=Music(path="silent.mp4")) == (
        f"music file {FIX / 'silent.mp4'} has no audio stream"
    )
    assert fails(tmp_path, [clip("a.mp4")], music=Music(url="https://example.invalid/x.mp3")) == (
        "music https://example.invalid/x.mp3 has not been downloaded (no music file given)"
    )


def test_text_problems(tmp_path):
    assert fails(tmp_path, [clip("a.mp4", caption=Caption(text="x", font="nope.ttf"))]) == (
        f"font not found: {FIX / 'nope.ttf'}"
    )
    assert fails(tmp_path, [clip("a.mp4", caption=Caption(text="x", color="blurple"))]) == (
        "clip 1 (a.mp4) caption: unknown colour 'blurple'"
    )
    assert fails(tmp_path, [clip("a.mp4")], title=Title(text="t", background="nope")) == (
        "title background: unknown colour 'nope'"
    )
    assert fails(tmp_path, [clip("a.mp4", caption=Caption(text="x", start=3))]) == (
        "clip 1 (a.mp4): caption starts at 3 s but the clip shows only 2.04167 s"
    )
    assert fails(tmp_path, [clip("a.mp4", caption=Caption(text="x", start=1, end=0.5))]) == (
        "clip 1 (a.mp4): caption ends at 0.5 s, before it starts (1 s)"
    )


def test_odd_output_size(tmp_path):
    assert fails(tmp_path, [clip("a.mp4")], size="431x240") == ("output size 431x240: width and height must be even")


def test_caption_font_override_is_used(tmp_path):
    font = Path(__file__).resolve().parents[2] / "storyboard" / "fonts" / "wqy-microhei.ttf"
    report = run(tmp_path, [clip("a.mp4", caption=Caption(text="字", font=str(font)))])
    assert report.frames == 49


def test_failed_encode_leaves_the_old_file_and_no_temp_files(tmp_path):
    dest = tmp_path / "out.mp4"
    dest.write_bytes(b"previous render")
    with pytest.raises(AssembleError) as info:
        assemble([clip("a.mp4"), clip("b.mp4")], Output(codec="libnope"), dest, base_dir=FIX)
    assert str(info.value) == "ffmpeg failed writing out.mp4: Unknown encoder 'libnope'"
    assert dest.read_bytes() == b"previous render"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


@pytest.mark.parametrize(
    ("clips", "out", "reason"),
    [
        (["a.mp4", "a_pc.mp4"], {},
         "clip 2 (a_pc.mp4) is yuvj420p, the output pixel format is yuv420p"),
        (["a.mp4", "chaplin_2s.mp4"], {},
         "clip 2 (chaplin_2s.mp4) is 640x360, the output is 432x240"),
        (["a.mp4", "b.mp4"], {"fps": 25},
         "clip 1 (a.mp4) runs at 24 fps, the output at 25 fps"),
        (["a.mp4", "b.mp4"], {"codec": "libx265"},
         "clip 1 (a.mp4) is h264, the output codec is libx265"),
        (["a.mp4", "b.mp4"], {"title": Title(text="t", duration=0.5)},
         "a title card is drawn"),
    ],
)  # fmt: skip
def test_fast_path_refusals_are_reported(tmp_path, clips, out, reason):
    report = run(tmp_path, [clip(c) for c in clips], **out)
    assert report.method == "moviepy"
    assert report.reason.split(": re-encoded, ")[0] == reason


def _children() -> list[int]:
    kids = []
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/children") as f:
            kids += [int(pid) for pid in f.read().split()]
    return kids


def _open_media() -> list[str]:
    targets = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            targets.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue
    return [t for t in targets if t.endswith((".mp4", ".mp3", ".f32", ".ffconcat"))]


def test_no_file_handle_or_process_outlives_assembly(tmp_path):
    before = _children()
    music = Music(path="rain_4s.mp3", duck=0.5)
    clips = [clip("a.mp4", caption=Caption(text="字幕")), clip("b.mp4"), clip("chaplin_2s.mp4"),
             clip("silent.mp4", transition=Transition(type="fade", duration=0.5))]  # fmt: skip
    run(tmp_path, clips, transition=Transition(type="crossfade", duration=0.5), music=music,
        title=Title(text="t", duration=0.5))  # fmt: skip
    fast = run(tmp_path, [clip("a.mp4"), clip("b.mp4")], "fast.mp4", music=music)
    assert fast.method == "concat-copy"
    with pytest.raises(AssembleError):
        assemble(clips, Output(codec="libnope"), tmp_path / "bad.mp4", base_dir=FIX)
    assert _open_media() == []
    assert _children() == before

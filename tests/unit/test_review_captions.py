"""Captions exported as subtitles: the cue times are the assembled timeline's (title card,
trims, crossfades), and the SRT / WebVTT text is exact."""

from __future__ import annotations

from pathlib import Path

from storyboard.assemble.probe import ClipInfo
from storyboard.assemble.subtitles import srt, vtt
from storyboard.assemble.timeline import CaptionCue, ClipSpec, build_timeline
from storyboard.spec.model import Caption, Output, Title, Transition, Trim

# 24 fps emulator clips of 2 s: 49 frames
INFO = ClipInfo(width=864, height=480, fps=24.0, frames=49, duration=49 / 24, has_audio=False)


def test_two_captions_after_a_title_land_where_the_video_shows_them() -> None:
    output = Output(title=Title(text="The film", duration=1.5))
    clips = [
        # 0.5-1.5 s into a clip trimmed to 2 s, after the 1.5 s title: 2.0-3.0 s
        ClipSpec(Path("a.mp4"), trim=Trim(end=2.0), caption=Caption(text="Hello <world> & co", start=0.5, end=1.5)),
        # crossfades in over 0.5 s, so it starts at 3.0 s; the caption runs to the clip's end
        ClipSpec(Path("b.mp4"), transition=Transition(type="crossfade", duration=0.5),
                 caption=Caption(text="Second line\n\nwith a break", start=0.25)),
        ClipSpec(Path("c.mp4")),  # no caption: no cue
    ]  # fmt: skip
    assert output.title is not None
    timeline = build_timeline(clips, [INFO] * 3, output, (864, 480), title_seconds=output.title.duration)
    cues = timeline.captions()
    assert cues == [
        {"clip": 0, "start": 2.0, "end": 3.0, "text": "Hello <world> & co"},
        {"clip": 1, "start": 3.25, "end": round(121 / 24, 6), "text": "Second line\n\nwith a break"},
    ]
    assert srt(cues) == (
        "1\n00:00:02,000 --> 00:00:03,000\nHello <world> & co\n"
        "\n"
        "2\n00:00:03,250 --> 00:00:05,042\nSecond line\nwith a break\n"
    )
    assert vtt(cues) == (
        "WEBVTT\n"
        "\n"
        "00:00:02.000 --> 00:00:03.000\nHello &lt;world&gt; &amp; co\n"
        "\n"
        "00:00:03.250 --> 00:00:05.042\nSecond line\nwith a break\n"
    )


def test_timestamps_past_an_hour_and_no_captions() -> None:
    cue: CaptionCue = {"clip": 0, "start": 3725.5, "end": 3726.0004, "text": "late"}
    assert srt([cue]) == "1\n01:02:05,500 --> 01:02:06,000\nlate\n"
    assert srt([]) == ""
    assert vtt([]) == "WEBVTT\n"

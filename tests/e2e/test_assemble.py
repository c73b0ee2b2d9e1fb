"""Assembly on real files: frame counts, joins, fitting, audio, music, captions, encoding.

Inputs are the short clips in tests/fixtures/assemble (see make.py there), some cut from the
project's media set; outputs are decoded with the bundled ffmpeg and measured.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from storyboard.assemble import AssemblyReport, ClipSpec, assemble, probe
from storyboard.spec.model import Caption, Music, Output, Title, Transition, Trim

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "assemble"
FF = imageio_ffmpeg.get_ffmpeg_exe()
RATE = 48000


def clip(name: str, **kw) -> ClipSpec:
    return ClipSpec(FIX / name, **kw)


def run(tmp_path: Path, clips: list[ClipSpec], name: str = "out.mp4", **out) -> AssemblyReport:
    return assemble(clips, Output(**out), tmp_path / name, base_dir=FIX)


def frames_of(path: Path) -> np.ndarray:
    """Every frame of a video as (n, h, w, 3) uint8 RGB."""
    info = probe(path)
    raw = subprocess.run([FF, "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt",
                          "rgb24", "-"], capture_output=True, check=True).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(-1, info.height, info.width, 3)


def audio_of(path: Path) -> np.ndarray:
    """The sound track as mono float32 at 48 kHz."""
    raw = subprocess.run([FF, "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1",
                          "-ar", str(RATE), "-f", "f32le", "-"], capture_output=True,
                         check=True).stdout  # fmt: skip
    return np.frombuffer(raw, np.float32)


def rms(samples: np.ndarray, start: float, end: float) -> float:
    part = samples[int(start * RATE) : int(end * RATE)]
    return float(np.sqrt(np.mean(part.astype(np.float64) ** 2)))


def diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_probe_reads_exact_frame_count_rate_and_audio():
    info = probe(FIX / "chaplin_2s.mp4")
    assert (info.width, info.height, info.fps, info.frames) == (640, 360, 25.0, 50)
    assert info.duration == 2.0 and info.has_audio
    silent = probe(FIX / "silent.mp4")
    assert (silent.frames, silent.has_audio) == (48, False)


def test_cuts_of_alike_clips_take_the_stream_copy_fast_path(tmp_path):
    report = run(tmp_path, [clip("a.mp4"), clip("b.mp4")])
    assert report.method == "concat-copy"
    assert report.reason == (
        "all 2 clips are cuts of 432x240 h264 yuv420p at 24 fps with nothing drawn: video stream-copied"
    )
    assert (report.frames, report.width, report.height, report.has_audio) == (98, 432, 240, True)
    assert [c["frames"] for c in report.clips] == [49, 49]
    sound = audio_of(report.path)
    assert abs(len(sound) / RATE - 98 / 24) < 1 / 24
    # each clip's own tone sits in its own half: 440 Hz then 660 Hz
    first, second = sound[: RATE // 2], sound[int(2.2 * RATE) : int(2.7 * RATE)]
    peak = [np.argmax(np.abs(np.fft.rfft(x))) * RATE / len(x) for x in (first, second)]
    assert abs(peak[0] - 440) < 5 and abs(peak[1] - 660) < 5


def test_fast_path_keeps_b_frame_clips_on_the_frame_grid(tmp_path):
    report = run(tmp_path, [clip("bf_a.mp4"), clip("bf_b.mp4")])
    assert report.method == "concat-copy"
    out = frames_of(report.path)  # a late first picture would show up as a repeated frame
    assert len(out) == 98
    for n, src, k in ((0, "bf_a.mp4", 0), (48, "bf_a.mp4", 48), (49, "bf_b.mp4", 0)):
        assert diff(out[n], frames_of(FIX / src)[k]) == 0
    assert abs(len(audio_of(report.path)) / RATE - 98 / 24) < 1 / 24


def test_crossfade_overlaps_clips_and_shortens_the_video(tmp_path):
    report = run(tmp_path, [clip("a.mp4"), clip("b.mp4")],
                 transition=Transition(type="crossfade", duration=0.5))  # fmt: skip
    assert report.method == "moviepy"
    assert report.reason == ("clip 2 (b.mp4) has a crossfade transition: re-encoded, 12 of 86 frames drawn by MoviePy")
    assert report.frames == 49 + 49 - 12
    assert report.clips[1]["out_start"] == pytest.approx(37 / 24, abs=1e-6)
    out, a, b = frames_of(report.path), frames_of(FIX / "a.mp4"), frames_of(FIX / "b.mp4")
    assert diff(out[36], a[36]) < 3 and diff(out[49], b[12]) < 3
    mid = (a[43].astype(np.float32) + b[6].astype(np.float32)) / 2
    assert diff(out[43], mid) < 0.4 * diff(a[43], b[6])  # a blend of both, not either one
    sound = audio_of(report.path)
    assert abs(len(sound) / RATE - 86 / 24) < 1 / 24

    def tone(start: float, freq: int) -> float:  # level of one tone in a 0.24 s window
        part = sound[int(start * RATE) : int((start + 0.24) * RATE)]
        return float(np.abs(np.fft.rfft(part))[round(freq * len(part) / RATE)])

    # over the overlap (1.54-2.04 s) clip 1's 440 Hz fades out while clip 2's 660 Hz fades in
    assert tone(1.55, 440) > 1.5 * tone(1.8, 440) and tone(1.8, 660) > 1.5 * tone(1.55, 660)
    assert tone(1.3, 660) < 0.05 * tone(1.3, 440)  # and not before it


def test_captioned_clip_crossfades_in_whole_not_only_its_caption(tmp_path):
    clips = [clip("a.mp4"), clip("b.mp4", caption=Caption(text="字幕"))]
    report = run(tmp_path, clips, transition=Transition(type="crossfade", duration=0.5))
    out, a, b = frames_of(report.path), frames_of(FIX / "a.mp4"), frames_of(FIX / "b.mp4")
    top = slice(0, 100)  # away from the caption
    mid = (a[43][top].astype(np.float32) + b[6][top].astype(np.float32)) / 2
    assert diff(out[43][top], mid) < 0.1 * diff(a[43][top], b[6][top])


def test_fade_goes_through_black_without_changing_the_length(tmp_path):
    report = run(tmp_path, [clip("a.mp4"), clip("b.mp4")],
                 transition=Transition(type="fade", duration=0.5))  # fmt: skip
    assert report.frames == 98
    out = frames_of(report.path)
    brightness = out.reshape(len(out), -1).mean(axis=1)
    assert brightness[49] < 10 and brightness[48] < 0.4 * brightness[30]
    assert brightness[60] > 0.9 * brightness[70]
    sound = audio_of(report.path)  # the sound dips with the picture
    assert rms(sound, 2.0, 2.08) < 0.5 * rms(sound, 1.0, 1.5)


def test_chained_cut_drops_the_duplicated_frame(tmp_path):
    plain = run(tmp_path, [clip("chain_a.mp4"), clip("chain_b.mp4")], "plain.mp4")
    chained = run(tmp_path, [clip("chain_a.mp4"), clip("chain_b.mp4", continues_previous=True)])
    assert (plain.frames, chained.frames) == (98, 97)
    assert [c["dropped_duplicate_frame"] for c in chained.clips] == [False, True]
    assert chained.clips[1]["frames"] == 48
    assert chained.clips[1]["start"] == pytest.approx(1 / 24, abs=1e-6)
    dup = frames_of(plain.path)
    assert diff(dup[48], dup[49]) < 1.5  # without the drop the picture repeats at the join
    out = frames_of(chained.path)
    steps = [diff(out[i], out[i + 1]) for i in range(44, 53)]
    assert min(steps) > 4 * diff(dup[48], dup[49]) and min(steps) > 3


def test_portrait_clip_is_letterboxed_in_the_background_colour(tmp_path):
    report = run(tmp_path, [clip("a.mp4"), clip("tall.mp4")], background="#204080")
    assert (report.width, report.height, report.frames) == (432, 240, 73)
    frame = frames_of(report.path)[60].astype(np.int16)
    # tall.mp4 is 136x240 white: it keeps its height, bars of 148 px either side
    for bar in (frame[:, :140], frame[:, -140:]):
        assert np.abs(bar - np.array([0x20, 0x40, 0x80])).max() < 12
    assert frame[:, 160:270].min() > 235


def test_rotated_phone_clip_is_fitted_upright(tmp_path):
    assert probe(FIX / "rotated.mp4").size == (240, 432)
    report = run(tmp_path, [clip("a.mp4"), clip("rotated.mp4")])
    assert (report.width, report.height, report.frames) == (432, 240, 49 + 48)
    frame = frames_of(report.path)[70]
    assert frame[:, :140].max() < 20 and frame[:, -140:].max() < 20  # 133 px wide, centred
    assert frame[:, 160:270].mean() > 60


@pytest.mark.parametrize("fit", ["cover", "stretch"])
def test_cover_and_stretch_fill_the_frame(tmp_path, fit):
    report = run(tmp_path, [clip("a.mp4"), clip("tall.mp4")], fit=fit)
    assert (report.width, report.height, report.frames) == (432, 240, 73)
    assert frames_of(report.path)[60].min() > 235


def test_output_size_fps_and_silence_for_clips_without_audio(tmp_path):
    clips = [clip("chaplin_2s.mp4"), clip("silent.mp4"), clip("a.mp4")]
    report = run(tmp_path, clips, size="320x180", fps=24)
    assert (report.width, report.height, report.fps) == (320, 180, 24.0)
    assert [c["frames"] for c in report.clips] == [48, 48, 49]  # 25 fps source: 2 s = 48 frames
    assert report.frames == 145
    sound = audio_of(report.path)
    assert abs(len(sound) / RATE - 145 / 24) < 1 / 24
    assert rms(sound, 2.1, 3.9) < 1e-3 < rms(sound, 4.1, 6.0)
    assert rms(sound, 0.1, 1.9) > 1e-2


def test_trim_keeps_the_asked_part(tmp_path):
    report = run(tmp_path, [clip("b.mp4", trim=Trim(start=0.5, end=1.5)), clip("a.mp4")])
    assert report.method == "moviepy" and report.reason.startswith("clip 1 (b.mp4) is trimmed")
    assert report.clips[0]["frames"] == 24
    out, b = frames_of(report.path), frames_of(FIX / "b.mp4")
    scores = [diff(out[0], b[k]) for k in (11, 12, 13)]
    assert scores.index(min(scores)) == 1 and min(scores) < 3
    assert diff(out[23], b[35]) < 3


def test_clip_volume_scales_its_audio(tmp_path):
    loud = run(tmp_path, [clip("a.mp4"), clip("silent.mp4")], "loud.mp4")
    quiet = run(tmp_path, [clip("a.mp4", volume=0.5), clip("silent.mp4")], "quiet.mp4")
    ratio = rms(audio_of(quiet.path), 0.2, 1.8) / rms(audio_of(loud.path), 0.2, 1.8)
    assert ratio == pytest.approx(0.5, abs=0.03)


def _music_levels(tmp_path: Path, duck: float | None) -> tuple[float, float]:
    """Output RMS under the (almost silent) audio clip and under the clip without audio."""
    music = Music(path="rain_4s.mp3", duck=duck)
    report = run(tmp_path, [clip("a.mp4", volume=0.01), clip("silent.mp4")],
                 f"duck{duck}.mp4", music=music)  # fmt: skip
    sound = audio_of(report.path)
    return rms(sound, 0.3, 1.8), rms(sound, 2.4, 3.9)


def test_music_is_ducked_under_clips_with_audio(tmp_path):
    # rain is not steady, so each window is compared with the same window undecked
    under, free = _music_levels(tmp_path, duck=0.3)
    under_full, free_full = _music_levels(tmp_path, duck=None)
    assert under / under_full == pytest.approx(0.3, abs=0.05)
    assert free / free_full == pytest.approx(1.0, abs=0.02)


def test_music_loops_or_ends_and_fades(tmp_path):
    clips = [clip("silent.mp4")] * 3  # 6 s; the music is 4 s
    looped = run(tmp_path, clips, "loop.mp4", music=Music(path="rain_4s.mp3", fade_in=1.0))
    once = run(tmp_path, clips, "once.mp4", music=Music(path="rain_4s.mp3", loop=False))
    loop_sound, once_sound = audio_of(looped.path), audio_of(once.path)
    assert rms(loop_sound, 4.5, 5.8) > 1e-2 > 1e-3 > rms(once_sound, 4.5, 5.8)
    assert rms(loop_sound, 0.0, 0.3) < 0.3 * rms(once_sound, 0.0, 0.3)  # fade_in


def test_music_starts_at_its_offset_and_loops_from_its_beginning(tmp_path):
    music = Music(path="rain_4s.mp3", start=3.0)
    sound = audio_of(run(tmp_path, [clip("silent.mp4")], music=music).path)
    rain = audio_of(FIX / "rain_4s.mp3")
    assert np.corrcoef(sound[:RATE], rain[3 * RATE : 4 * RATE])[0, 1] > 0.95
    assert np.corrcoef(sound[RATE : 2 * RATE], rain[:RATE])[0, 1] > 0.95


def test_real_webm_with_vorbis_audio_joins_mp4_clips(tmp_path):
    bunny = FIX / "big_buck_bunny_0_30.webm"  # 12.5 s, 480x270 VP8 + Vorbis (see make.py)
    report = run(tmp_path, [clip("a.mp4"), ClipSpec(bunny, trim=Trim(start=10, end=12))])
    assert report.reason.startswith("clip 2 (big_buck_bunny_0_30.webm) is trimmed")
    assert (report.width, report.height, report.frames) == (432, 240, 49 + 48)
    sound = audio_of(report.path)
    assert abs(len(sound) / RATE - 97 / 24) < 1 / 24 and rms(sound, 2.2, 3.9) > 1e-3


def test_music_file_argument_overrides_the_configured_source(tmp_path):
    out = Output(music=Music(url="https://example.invalid/song.mp3"))
    report = assemble([clip("silent.mp4")], out, tmp_path / "m.mp4", base_dir=FIX,
                      music_file=FIX / "rain_4s.mp3")  # fmt: skip
    assert report.has_audio and rms(audio_of(report.path), 0.5, 1.5) > 1e-2


def test_cjk_caption_renders_only_in_its_window(tmp_path):
    base = run(tmp_path, [clip("a.mp4", trim=Trim(end=2.0))], "plain.mp4", crf=10)
    cap = Caption(text="你好，世界", start=0.5, end=1.5, size=36, color="#ffff00")
    report = run(tmp_path, [clip("a.mp4", caption=cap)], "cap.mp4", crf=10)
    assert report.method == "moviepy"
    assert report.reason.endswith("24 of 49 frames drawn by MoviePy")
    plain, drawn = frames_of(base.path), frames_of(report.path)
    assert diff(plain[5], drawn[5]) < 2  # before the caption starts
    bottom = slice(150, 240)
    assert diff(plain[20][bottom], drawn[20][bottom]) > 8  # the caption's band
    assert diff(plain[20][:100], drawn[20][:100]) < 2  # the rest of the picture is untouched
    yellow = (drawn[20][bottom, :, 0] > 200) & (drawn[20][bottom, :, 1] > 200) & (drawn[20][bottom, :, 2] < 90)
    assert yellow.sum() > 300  # glyph pixels in the caption colour: the font has the characters


@pytest.mark.parametrize(("position", "rows"), [("top", slice(0, 80)), ("center", slice(80, 160))])
def test_caption_position(tmp_path, position, rows):
    base = run(tmp_path, [clip("a.mp4", trim=Trim(end=2.0))], "plain.mp4", crf=10)
    cap = Caption(text="位置 position", position=position, size=30)
    report = run(tmp_path, [clip("a.mp4", trim=Trim(end=2.0), caption=cap)], "cap.mp4", crf=10)
    plain, drawn = frames_of(base.path)[10], frames_of(report.path)[10]
    assert diff(plain[rows], drawn[rows]) > 8
    assert diff(plain[170:], drawn[170:]) < 2  # nothing at the bottom


def test_title_card_comes_first(tmp_path):
    title = Title(text="第一章 Chapter one", duration=1.0, background="#102030")
    report = run(tmp_path, [clip("a.mp4")], title=title)
    assert report.frames == 24 + 49 and report.clips[0]["out_start"] == 1.0
    first = frames_of(report.path)[0].astype(np.int16)
    corner = first[:20, :20]
    assert np.abs(corner - np.array([0x10, 0x20, 0x30])).max() < 10
    assert (first.min(axis=2) > 200).sum() > 200  # white text on the card


def test_preview_is_small_and_fast(tmp_path):
    report = assemble([clip("a.mp4"), clip("b.mp4")], Output(size="1280x720"),
                      tmp_path / "p.mp4", base_dir=FIX, preview=True)  # fmt: skip
    assert (report.width, report.height, report.frames) == (854, 480, 98)
    assert report.reason.startswith("preview renders at a lower resolution")


def test_encoding_settings_and_faststart(tmp_path):
    report = run(tmp_path, [clip("a.mp4", caption=Caption(text="x"))], crf=30, preset="ultrafast",
                 audio_bitrate="96k")  # fmt: skip
    data = report.path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart
    info = probe(report.path)
    assert info.codec == "h264" and info.pixel_format == "yuv420p"
    stderr = subprocess.run([FF, "-hide_banner", "-i", str(report.path)], capture_output=True,
                            text=True).stderr  # fmt: skip
    assert "Audio: aac" in stderr and "48000 Hz" in stderr
    assert "bt709" not in stderr  # untagged like its source (bt601 by default)


def test_report_is_plain_data(tmp_path):
    report = run(tmp_path, [clip("a.mp4"), clip("b.mp4")])
    data = report.to_dict()
    assert data["path"] == str(tmp_path / "out.mp4") and data["method"] == "concat-copy"
    assert set(data["clips"][0]) >= {"source_duration", "start", "end", "frames",
                                     "dropped_duplicate_frame"}  # fmt: skip
    assert data["clips"][0]["source_duration"] == pytest.approx(49 / 24)


def test_importing_assembly_does_not_load_moviepy():
    code = "import sys, storyboard.assemble; print('moviepy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

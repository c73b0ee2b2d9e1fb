"""The MoviePy path: every output frame drawn by MoviePy and piped into one ffmpeg encoder.

Owns: opening each clip as a MoviePy clip fitted to the output (contain/cover/stretch, with the
scaling done by the reader's own ffmpeg), its caption and fades; walking the timeline segment by
segment; compositing only where two clips overlap (crossfades); the encoder process.

Why segments and not one ``concatenate_videoclips``: a clip's reader is opened when its first
segment starts and closed after its last one, so at most two readers live at any time and peak
memory does not grow with the number of clips; and MoviePy's ``compose`` (slow) runs only for
the few frames of an overlap, everything else is a straight frame copy.

Must not import: moviepy at module level (imported lazily, ~0.3 s), anything of storyboard but
errors, model config classes and this package's modules.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from storyboard.errors import AssembleError
from storyboard.model import Output

from .captions import caption_clip, parse_color, resolve_font, title_clip
from .probe import ffmpeg_exe, last_error_line
from .timeline import TITLE, Placed, Timeline

if TYPE_CHECKING:
    from moviepy import VideoClip

__all__ = ["Encoder", "fit_geometry", "render_frames"]

_PRESET_CODECS = {"libx264", "libx265"}


def fit_geometry(
    src: tuple[int, int], out: tuple[int, int], fit: str
) -> tuple[tuple[int, int], tuple[int, int]]:
    """(scaled size, offset): contain pads at +offset, cover crops from +offset, stretch fills."""
    (w, h), (W, H) = src, out
    if fit == "stretch" or (w, h) == (W, H):
        return (W, H), (0, 0)
    if fit == "contain":
        r = min(W / w, H / h)
        sw, sh = min(W, round(w * r)), min(H, round(h * r))
        return (sw, sh), ((W - sw) // 2, (H - sh) // 2)
    r = max(W / w, H / h)
    sw, sh = max(W, round(w * r)), max(H, round(h * r))
    return (sw, sh), ((sw - W) // 2, (sh - H) // 2)


class Encoder:
    """One ffmpeg process turning raw RGB frames (stdin) plus an optional raw audio file into
    the output file with the configured codec settings."""

    def __init__(
        self, dest: Path, size: tuple[int, int], output: Output, preset: str,
        audio: Path | None,
    ) -> None:  # fmt: skip
        w, h = size
        args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
                "-framerate", str(output.fps), "-i", "pipe:0"]  # fmt: skip
        if audio is not None:
            args += ["-f", "f32le", "-ar", "48000", "-ac", "2", "-i", str(audio)]
        args += ["-map", "0:v:0"] + (["-map", "1:a:0"] if audio is not None else [])
        args += video_codec_args(output, preset)
        if output.pixel_format.startswith("yuv"):
            # RGB -> YUV with the HD matrix, tagged, so players show the colours MoviePy drew
            args += ["-vf", "scale=out_color_matrix=bt709:out_range=tv",
                     "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"]  # fmt: skip
        if audio is not None:
            args += audio_codec_args(dest, output)
        args += container_args(dest) + [str(dest)]
        self._log = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                      stderr=self._log)  # fmt: skip
        self._dest = dest

    def write(self, frame: np.ndarray) -> None:
        if frame.dtype != np.uint8:
            frame = np.clip(frame, 0, 255).astype(np.uint8)
        try:
            self._proc.stdin.write(np.ascontiguousarray(frame).data)  # type: ignore[union-attr]
        except (BrokenPipeError, ValueError):
            self.close()

    def close(self) -> None:
        """Finish the file; raise ``AssembleError`` with ffmpeg's reason if it failed."""
        if self._proc.stdin and not self._proc.stdin.closed:
            try:
                self._proc.stdin.close()
            except BrokenPipeError:
                pass
        code = self._proc.wait()
        self._log.seek(0)
        err = self._log.read().decode("utf-8", "replace")
        self._log.close()
        if code != 0:
            raise AssembleError(f"ffmpeg failed writing {self._dest.name}: {last_error_line(err)}")

    def kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        if self._proc.stdin and not self._proc.stdin.closed:
            try:
                self._proc.stdin.close()
            except BrokenPipeError:
                pass
        self._proc.wait()
        self._log.close()


def video_codec_args(output: Output, preset: str) -> list[str]:
    args = ["-c:v", output.codec, "-crf", str(output.crf), "-pix_fmt", output.pixel_format]
    return args + (["-preset", preset] if output.codec in _PRESET_CODECS else [])


def audio_codec_args(dest: Path, output: Output) -> list[str]:
    codec = "libopus" if dest.suffix.lower() == ".webm" else "aac"
    return ["-c:a", codec, "-b:a", output.audio_bitrate, "-ar", "48000"]


def container_args(dest: Path) -> list[str]:
    suffix = dest.suffix.lower()
    if suffix in (".mp4", ".m4v", ".mov"):
        return ["-movflags", "+faststart", "-f", "mov" if suffix == ".mov" else "mp4"]
    return ["-f", {".mkv": "matroska", ".webm": "webm"}.get(suffix, "mp4")]


class _Sources:
    """The MoviePy clips of the placed clips, opened on first use and closed on release."""

    def __init__(self, timeline: Timeline, output: Output, base_dir: Path, scale: float) -> None:
        self._tl = timeline
        self._output = output
        self._base_dir = base_dir
        self._scale = scale
        self._bg = parse_color(output.background, "output background")
        self._open: dict[int, tuple[Any, VideoClip]] = {}

    def get(self, i: int) -> VideoClip:
        if i not in self._open:
            self._open[i] = self._build(self._tl.placed[i])
        return self._open[i][1]

    def release(self, i: int) -> None:
        reader, _ = self._open.pop(i, (None, None))
        if reader is not None:
            reader.close()

    def close_all(self) -> None:
        for i in list(self._open):
            self.release(i)

    def _build(self, p: Placed) -> tuple[Any, VideoClip]:
        from moviepy import CompositeVideoClip, VideoFileClip, vfx

        fps, size = self._tl.fps, self._tl.size
        scaled, (x, y) = fit_geometry(p.info.size, size, self._output.fit)
        try:
            reader = VideoFileClip(
                str(p.spec.path), audio=False,
                target_resolution=scaled if scaled != p.info.size else None,
            )  # fmt: skip
        except (OSError, KeyError, IndexError) as exc:
            raise AssembleError(f"clip {p.index + 1}: cannot read {p.spec.path}: {exc}") from None
        shown = p.frames / fps
        clip = reader.time_transform(lambda t, s=p.src_start: t + s).with_duration(shown)
        if scaled != size and self._output.fit == "contain":
            clip = clip.with_background_color(size=size, color=self._bg, pos=(x, y))
        elif scaled != size:
            clip = clip.with_effects([vfx.Crop(x1=x, y1=y, width=size[0], height=size[1])])
        if p.spec.caption is not None:
            where = f"clip {p.index + 1} ({p.spec.path.name})"
            font = resolve_font(p.spec.caption.font, self._output.font, self._base_dir)
            text = caption_clip(p.spec.caption, size, self._scale, shown, font, where)
            clip = CompositeVideoClip([clip, text], size=size, use_bgclip=True)
            clip = clip.with_duration(shown)
        if p.black_in:
            clip = clip.with_effects([vfx.FadeIn(p.black_in / fps)])
        if p.black_out:
            clip = clip.with_effects([vfx.FadeOut(p.black_out / fps)])
        return reader, clip


def _crossfade(a: VideoClip, b: VideoClip, a_offset: float, frames: int, fps: int, size) -> Any:
    """MoviePy composite of an overlap: ``a`` from ``a_offset`` s, ``b`` fading in over it."""
    from moviepy import CompositeVideoClip, vfx

    top = b.with_effects([vfx.CrossFadeIn(frames / fps)])
    return CompositeVideoClip([a.with_start(-a_offset), top], size=size, use_bgclip=True)


def render_frames(
    timeline: Timeline, output: Output, base_dir: Path, scale: float, encoder: Encoder
) -> None:
    """Draw every output frame in order and hand it to ``encoder``."""
    fps = timeline.fps
    sources = _Sources(timeline, output, base_dir, scale)
    last = timeline.last_segment_of()
    title = None
    if output.title is not None:
        font = resolve_font(output.title.font, output.font, base_dir)
        title = title_clip(output.title, timeline.size, scale, font)
    try:
        for n, seg in enumerate(timeline.segments()):
            if seg.parts == (TITLE,):
                frame = title.get_frame(0)  # type: ignore[union-attr]
                for _ in range(seg.frames):
                    encoder.write(frame)
            elif len(seg.parts) == 1:
                p = timeline.placed[seg.parts[0]]
                clip = sources.get(p.index)
                for j in range(seg.frames):
                    encoder.write(clip.get_frame((seg.start - p.out_start + j) / fps))
            else:
                pa, pb = (timeline.placed[i] for i in seg.parts)
                mix = _crossfade(sources.get(pa.index), sources.get(pb.index),
                                 (seg.start - pa.out_start) / fps, seg.frames, fps, timeline.size)  # fmt: skip
                for j in range(seg.frames):
                    encoder.write(mix.get_frame(j / fps))
            for part in seg.parts:
                if part != TITLE and last[part] == n:
                    sources.release(part)
    finally:
        sources.close_all()

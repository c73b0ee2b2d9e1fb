"""The re-encode path: every output frame, in order, into one encoder; MoviePy draws where needed.

Owns: the walk over the timeline's segments; for drawn segments, the MoviePy clips that draw
them (a clip's frames as a MoviePy ``VideoClip``, its caption composited as an ``ImageClip``,
``FadeIn``/``FadeOut`` through black, ``CrossFadeIn`` composites where two clips overlap, the
title card); the lifetime of each clip's decoder.

Why segments and not one ``concatenate_videoclips``: a clip's decoder starts when the clip
enters the timeline and is closed when it leaves, so at most two live at any time and peak
memory does not grow with the number of clips; MoviePy's ``compose`` runs only for the frames
of an overlap; frames with nothing drawn on them skip MoviePy and the RGB round trip.

Must not import: moviepy at module level (imported lazily, ~0.3 s), anything of storyboard but
errors, model config classes and this package's modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storyboard.spec.model import Output

from .captions import caption_clip, parse_color, resolve_font, title_clip
from .decode import ClipStream
from .encoder import Encoder, rgb_to_yuv420p
from .timeline import TITLE, Placed, Timeline

__all__ = ["render_frames"]


class _Clips:
    """Per placed clip: its decoder and, for clips with anything drawn, its MoviePy clip."""

    def __init__(self, timeline: Timeline, output: Output, base_dir: Path, scale: float, matrix: str) -> None:
        self._tl, self._output, self._base_dir, self._scale = timeline, output, base_dir, scale
        self._matrix = matrix
        # per clip, the local frame ranges that MoviePy draws on
        self._drawn_ranges: dict[int, list[range]] = {}
        for seg in timeline.segments():
            for part in seg.parts if seg.drawn else ():
                if part != TITLE:
                    local = seg.start - timeline.placed[part].out_start
                    self._drawn_ranges.setdefault(part, []).append(range(local, local + seg.frames))
        self._bg = parse_color(output.background, "output background")
        self._streams: dict[int, ClipStream] = {}
        self._drawn: dict[int, Any] = {}

    def stream(self, i: int) -> ClipStream:
        if i not in self._streams:
            p = self._tl.placed[i]
            stream = ClipStream(p, self._tl.size, self._output.fit, self._bg, self._tl.fps,
                                self._matrix, self._drawn_ranges.get(i, []))  # fmt: skip
            self._streams[i] = stream
            if p.spec.caption or p.black_in or p.black_out or p.xfade_in or p.xfade_out:
                # built now, while the stream is at frame 0: MoviePy reads frame 0 of a clip
                # whenever it wraps it (to learn its size), and the stream only goes forward
                self._drawn[i] = self._build(p, stream)
        return self._streams[i]

    def drawn(self, i: int) -> Any:
        self.stream(i)
        return self._drawn[i]

    def release(self, i: int) -> None:
        self._drawn.pop(i, None)
        stream = self._streams.pop(i, None)
        if stream is not None:
            stream.close()

    def close_all(self) -> None:
        for i in list(self._streams):
            self.release(i)

    def _build(self, p: Placed, stream: ClipStream) -> Any:
        """The clip as MoviePy sees it: local time 0 = its first shown frame."""
        from moviepy import CompositeVideoClip, VideoClip, vfx

        fps, size = self._tl.fps, self._tl.size
        shown = p.frames / fps
        clip: Any = VideoClip(lambda t: stream.rgb(round(t * fps)), duration=shown)
        if p.spec.caption is not None:
            where = f"clip {p.index + 1} ({p.spec.path.name})"
            font = resolve_font(p.spec.caption.font, self._output.font, self._base_dir)
            text = caption_clip(p.spec.caption, size, self._scale, shown, font, where)
            clip = CompositeVideoClip([clip, text], size=size, use_bgclip=True).with_duration(shown)
        if p.black_in:
            clip = clip.with_effects([vfx.FadeIn(p.black_in / fps)])
        if p.black_out:
            clip = clip.with_effects([vfx.FadeOut(p.black_out / fps)])
        return clip


def _crossfade(a: Any, b: Any, a_offset: float, frames: int, fps: int, size: tuple[int, int]) -> Any:
    """MoviePy composite of an overlap: ``a`` from ``a_offset`` s, ``b`` fading in over it."""
    from moviepy import CompositeVideoClip, vfx

    top = b.with_effects([vfx.CrossFadeIn(frames / fps)])
    return CompositeVideoClip([a.with_start(-a_offset), top], size=size, use_bgclip=True)


def render_frames(timeline: Timeline, output: Output, base_dir: Path, scale: float, encoder: Encoder) -> int:
    """Produce every output frame in order into ``encoder``; return how many MoviePy drew."""
    fps, size = timeline.fps, timeline.size
    clips = _Clips(timeline, output, base_dir, scale, encoder.matrix)
    segments = timeline.segments()
    last = {part: n for n, seg in enumerate(segments) for part in seg.parts}
    drawn_frames = 0
    try:
        for n, seg in enumerate(segments):
            if seg.parts == (TITLE,):
                assert output.title is not None
                font = resolve_font(output.title.font, output.font, base_dir)
                card = rgb_to_yuv420p(title_clip(output.title, size, scale, font).get_frame(0),
                                      encoder.matrix)  # fmt: skip
                for _ in range(seg.frames):
                    encoder.write(card)
                drawn_frames += seg.frames
            elif not seg.drawn:
                p = timeline.placed[seg.parts[0]]
                stream = clips.stream(p.index)
                for j in range(seg.start - p.out_start, seg.start - p.out_start + seg.frames):
                    encoder.write(stream.frame(j))
            else:
                first = timeline.placed[seg.parts[0]]
                clip, t0 = clips.drawn(first.index), (seg.start - first.out_start) / fps
                if len(seg.parts) == 2:
                    # the overlap may be cut in several segments (a caption or fade starting in
                    # it): place both clips for the whole overlap, then start where `seg` does
                    b = timeline.placed[seg.parts[1]]
                    offset = (b.out_start - first.out_start) / fps
                    clip = _crossfade(clip, clips.drawn(b.index), offset, b.xfade_in, fps, size)
                    t0 = (seg.start - b.out_start) / fps
                for j in range(seg.frames):
                    encoder.write_rgb(clip.get_frame(t0 + j / fps))
                drawn_frames += seg.frames
            for part in seg.parts:
                if part != TITLE and last[part] == n:
                    clips.release(part)
    finally:
        clips.close_all()
    return drawn_frames

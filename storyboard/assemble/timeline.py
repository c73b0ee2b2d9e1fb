"""Timing maths of an assembly: where every clip lands in the output, in whole output frames.

Owns: ``ClipSpec`` (one input clip), ``AssemblyReport`` (what was written, with a ``ClipSummary``
per clip), ``Placed`` and ``Timeline`` (clips placed on the output frame grid, with their overlaps
and fades), the output size/fps decision, and the input checks that only need probe results
(trim, transition lengths).

Everything is counted in output frames so that cuts land on the frame grid and the report can
prove frame counts; seconds are derived from frames, never the other way round.

Must not import: moviepy, subprocess work (see probe), anything of storyboard but
``storyboard.errors``, ``storyboard.spec.model`` (its config classes, and ``transition_shares``, whose
split of a transition between two clips the frame counts follow) and ``.probe``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict

from storyboard.errors import AssembleError
from storyboard.spec.model import Caption, Output, Transition, TransitionKind, Trim, transition_shares

from .probe import ClipInfo

__all__ = [
    "AssemblyReport", "CaptionCue", "ClipSpec", "ClipSummary", "Placed", "Segment", "Timeline", "build_timeline",
]  # fmt: skip

TITLE = -1  # segment part index of the title card
PREVIEW_MAX_HEIGHT = 480


@dataclass(frozen=True)
class ClipSpec:
    """One clip to join, with how it enters the video."""

    path: Path
    trim: Trim | None = None
    transition: Transition | None = None
    """Transition into this clip; None = ``output.transition``; ignored on the first clip."""
    caption: Caption | None = None
    volume: float = 1.0
    """Gain of the clip's own audio."""
    continues_previous: bool = False
    """Chained: this clip's frame 0 equals the previous clip's last frame."""


class ClipSummary(TypedDict):
    """How one input clip was used, as ``AssemblyReport.clips`` lists it (times in seconds)."""

    path: str
    source_duration: float
    source_frames: int
    start: float
    end: float
    frames: int
    out_start: float
    transition: TransitionKind
    dropped_duplicate_frame: bool
    has_audio: bool


class CaptionCue(TypedDict):
    """A caption as the finished video shows it: seconds on the output timeline."""

    clip: int
    """Index of the clip it belongs to."""
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class AssemblyReport:
    """What ``assemble`` wrote and how; ``clips`` has one dict per input clip."""

    path: Path
    method: Literal["concat-copy", "moviepy"]
    reason: str
    duration: float
    frames: int
    width: int
    height: int
    fps: float
    has_audio: bool
    clips: list[ClipSummary] = field(default_factory=list)
    captions: list[CaptionCue] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        return data


@dataclass(frozen=True)
class Placed:
    """A clip placed on the output frame grid."""

    index: int
    spec: ClipSpec
    info: ClipInfo
    src_start: float
    """Seconds into the source of the first frame used."""
    src_end: float
    frames: int
    """Output frames the clip shows, overlaps included."""
    out_start: int
    """Output frame index of the clip's first frame."""
    transition: TransitionKind
    """Type of the transition into this clip (cut for the first one)."""
    xfade_in: int = 0
    xfade_out: int = 0
    black_in: int = 0
    black_out: int = 0
    dropped_frame: bool = False

    @property
    def out_end(self) -> int:
        return self.out_start + self.frames

    def summary(self, fps: int) -> ClipSummary:
        return {
            "path": str(self.spec.path),
            "source_duration": round(self.info.duration, 6),
            "source_frames": self.info.frames,
            "start": round(self.src_start, 6),
            "end": round(self.src_end, 6),
            "frames": self.frames,
            "out_start": round(self.out_start / fps, 6),
            "transition": self.transition,
            "dropped_duplicate_frame": self.dropped_frame,
            "has_audio": self.info.has_audio,
        }


@dataclass(frozen=True)
class Segment:
    """A run of output frames during which the same clips (one, or two overlapping) show."""

    start: int
    frames: int
    parts: tuple[int, ...]
    """Indices into ``Timeline.placed``; ``(TITLE,)`` for the title card."""
    drawn: bool
    """Something is drawn on these frames (title, crossfade, fade, caption): MoviePy's job."""


@dataclass(frozen=True)
class Timeline:
    fps: int
    size: tuple[int, int]
    title_frames: int
    placed: tuple[Placed, ...]

    @property
    def total_frames(self) -> int:
        return self.placed[-1].out_end

    @property
    def duration(self) -> float:
        return self.total_frames / self.fps

    def caption_span(self, p: Placed) -> tuple[int, int] | None:
        """Output frames ``[a, b)`` that show clip ``p``'s caption (None: it has none).

        The one place caption timing is worked out: drawing and the exported cues both use it.
        """
        cap = p.spec.caption
        if cap is None:
            return None
        end = p.frames if cap.end is None else min(p.frames, round(cap.end * self.fps))
        return p.out_start + round(cap.start * self.fps), p.out_start + end

    def captions(self) -> list[CaptionCue]:
        """Every shown caption as a cue on the output timeline, in order."""
        cues: list[CaptionCue] = []
        for p in self.placed:
            span = self.caption_span(p)
            if span is not None and p.spec.caption is not None and span[0] < span[1]:
                a, b = span
                cues.append({"clip": p.index, "start": round(a / self.fps, 6), "end": round(b / self.fps, 6),
                             "text": p.spec.caption.text})  # fmt: skip
        return cues

    def _drawn_spans(self, p: Placed) -> list[tuple[int, int]]:
        """Output frame ranges of clip ``p`` that carry a fade or its caption."""
        spans = [(p.out_start, p.out_start + p.black_in), (p.out_end - p.black_out, p.out_end)]
        if (caption := self.caption_span(p)) is not None:
            spans.append(caption)
        return [(a, b) for a, b in spans if a < b]

    def segments(self) -> list[Segment]:
        cuts = {0, self.total_frames, self.title_frames}
        for p in self.placed:
            cuts.update((p.out_start, p.out_end))
            for a, b in self._drawn_spans(p):
                cuts.update((a, b))
        edges = sorted(c for c in cuts if 0 <= c <= self.total_frames)
        result = []
        for a, b in itertools.pairwise(edges):
            if a < self.title_frames:
                result.append(Segment(a, b - a, (TITLE,), True))
                continue
            parts = tuple(i for i, p in enumerate(self.placed) if p.out_start <= a < p.out_end)
            drawn = len(parts) > 1 or any(lo <= a < hi for i in parts for lo, hi in self._drawn_spans(self.placed[i]))
            result.append(Segment(a, b - a, parts, drawn))
        return result


def output_size(output: Output, first: ClipInfo, preview: bool) -> tuple[int, int]:
    """``output.size``, else the first clip's size; scaled down to 480 px tall for a preview."""
    if output.size:
        w, h = (int(v) for v in output.size.split("x"))
        if w % 2 or h % 2:
            raise AssembleError(f"output size {w}x{h}: width and height must be even")
    else:
        w, h = first.width - first.width % 2, first.height - first.height % 2
    if preview and h > PREVIEW_MAX_HEIGHT:
        w, h = round(w * PREVIEW_MAX_HEIGHT / h / 2) * 2, PREVIEW_MAX_HEIGHT
    return w, h


def _used_range(i: int, spec: ClipSpec, info: ClipInfo) -> tuple[float, float]:
    name = spec.path.name
    half_frame = 0.5 / info.fps
    start = spec.trim.start if spec.trim else 0.0
    end = spec.trim.end if spec.trim and spec.trim.end is not None else info.duration
    if start >= info.duration - half_frame:
        raise AssembleError(
            f"clip {i + 1} ({name}): trim start {start:g} s is not before the end of the clip ({info.duration:.3f} s)"
        )
    if end > info.duration + half_frame:
        raise AssembleError(
            f"clip {i + 1} ({name}): trim end {end:g} s is beyond the end of the clip ({info.duration:.3f} s)"
        )
    return start, min(end, info.duration)


def build_timeline(
    clips: Sequence[ClipSpec],
    infos: Sequence[ClipInfo],
    output: Output,
    size: tuple[int, int],
    *,
    title_seconds: float = 0.0,
) -> Timeline:
    """Place every clip on the output frame grid; raise ``AssembleError`` for impossible timing."""
    fps = output.fps
    title_frames = round(title_seconds * fps)
    ranges = [_used_range(i, c, info) for i, (c, info) in enumerate(zip(clips, infos, strict=True))]
    kinds: list[TransitionKind] = ["cut"]
    lengths = [0]
    for spec in clips[1:]:
        tr = spec.transition or output.transition
        k = round(tr.duration * fps) if tr.type != "cut" else 0
        kinds.append(tr.type if k else "cut")
        lengths.append(k)

    placed: list[Placed] = []
    cursor = title_frames
    for i, (spec, info) in enumerate(zip(clips, infos, strict=True)):
        start, end = ranges[i]
        dropped = (
            i > 0
            and spec.continues_previous
            and kinds[i] == "cut"
            and start == 0.0
            and ranges[i - 1][1] >= infos[i - 1].duration
        )
        if dropped:
            start = 1 / info.fps
        frames = round((end - start) * fps)
        if frames < 1:
            raise AssembleError(f"clip {i + 1} ({spec.path.name}): less than one frame is used")
        last = i + 1 == len(clips)
        kind_in, kind_out = kinds[i], "cut" if last else kinds[i + 1]
        _, in_share = transition_shares(kind_in, lengths[i])
        out_share, _ = transition_shares(kind_out, 0 if last else lengths[i + 1])
        fade_in = in_share if kind_in == "fade" else 0
        xfade_in = in_share if kind_in == "crossfade" else 0
        fade_out = out_share if kind_out == "fade" else 0
        xfade_out = out_share if kind_out == "crossfade" else 0
        if xfade_in + xfade_out + fade_in + fade_out > frames:
            raise AssembleError(
                f"clip {i + 1} ({spec.path.name}): its transitions last "
                f"{(xfade_in + xfade_out + fade_in + fade_out) / fps:g} s but the clip shows "
                f"only {frames / fps:g} s"
            )
        cursor -= xfade_in
        placed.append(
            Placed(
                index=i, spec=spec, info=info, src_start=start, src_end=end, frames=frames,
                out_start=cursor, transition=kinds[i], xfade_in=xfade_in, xfade_out=xfade_out,
                black_in=fade_in, black_out=fade_out, dropped_frame=dropped,
            )
        )  # fmt: skip
        cursor += frames
    return Timeline(fps=fps, size=size, title_frames=title_frames, placed=tuple(placed))

"""Assembly: clip files and timings in, one finished video out.

Owns: the public API (``assemble``, ``probe``, ``ClipSpec``, ``AssemblyReport``, ``ClipInfo``),
input checks, the choice between the fast path and the MoviePy path, and the atomic write (a
temp file beside ``dest``, ``os.replace``d into place; a failure leaves ``dest`` as it was).

Knows files and timings only: nothing of shots, plans, the cache or the API.

Must not import: moviepy at module level (the CLI's validate/plan must start fast), and nothing
of storyboard beyond ``storyboard.errors`` and the config classes of ``storyboard.spec.model``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Literal

from storyboard.errors import AssembleError
from storyboard.spec.model import Output

from .audio import MusicPlan, mix_audio
from .captions import parse_color, resolve_font
from .compose import render_frames
from .encoder import Encoder
from .fastpath import copy_join, fast_path_blocker
from .probe import ClipInfo, probe, probe_audio
from .timeline import AssemblyReport, CaptionCue, ClipSpec, Timeline, build_timeline, output_size
from .workdir import sweep_stale_work, work_prefix

__all__ = [
    "AssemblyReport", "CaptionCue", "ClipInfo", "ClipSpec", "assemble", "probe", "sweep_stale_work", "work_prefix",
]  # fmt: skip


def _resolve(path: str | Path, base_dir: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else base_dir / p


def _music(output: Output, music_file: Path | None, base_dir: Path) -> MusicPlan | None:
    if output.music is None:
        return None
    if music_file is not None:
        path = Path(music_file)
    elif output.music.path is not None:
        path = _resolve(output.music.path, base_dir)
    else:
        raise AssembleError(f"music {output.music.url} has not been downloaded (no music file given)")
    if not path.is_file():
        raise AssembleError(f"music file not found: {path}")
    if not probe_audio(path):
        raise AssembleError(f"music file {path} has no audio stream")
    return MusicPlan(path, output.music)


def _probe_all(clips: Sequence[ClipSpec], base_dir: Path) -> tuple[list[ClipSpec], list[ClipInfo]]:
    specs = [
        ClipSpec(_resolve(c.path, base_dir), c.trim, c.transition, c.caption, c.volume,
                 c.continues_previous)
        for c in clips
    ]  # fmt: skip
    for i, spec in enumerate(specs):
        if not spec.path.is_file():
            raise AssembleError(f"clip {i + 1}: file not found: {spec.path}")
    # two ffmpeg probes at a time: start-up bound, so this halves the wait; more would only
    # raise peak memory (each ffmpeg process holds ~25 MiB)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(probe, spec.path) for spec in specs]
    infos = []
    for i, future in enumerate(futures):
        try:
            infos.append(future.result())
        except AssembleError as exc:
            raise AssembleError(f"clip {i + 1}: {exc}") from None
    return specs, infos


def _check_text(timeline: Timeline, output: Output, base_dir: Path) -> None:
    """Fail on a bad font, colour or caption time before minutes of encoding, not during."""
    parse_color(output.background, "output background")
    if output.title is not None:
        resolve_font(output.title.font, output.font, base_dir)
        parse_color(output.title.color, "title")
        parse_color(output.title.background, "title background")
    for p in timeline.placed:
        cap = p.spec.caption
        if cap is None:
            continue
        where = f"clip {p.index + 1} ({p.spec.path.name})"
        resolve_font(cap.font, output.font, base_dir)
        parse_color(cap.color, f"{where} caption")
        if cap.start * timeline.fps >= p.frames:
            raise AssembleError(
                f"{where}: caption starts at {cap.start:g} s but the clip shows only {p.frames / timeline.fps:g} s"
            )
        if cap.end is not None and cap.end <= cap.start:
            raise AssembleError(f"{where}: caption ends at {cap.end:g} s, before it starts ({cap.start:g} s)")


def assemble(
    clips: Sequence[ClipSpec],
    output: Output,
    dest: Path,
    *,
    base_dir: Path,
    music_file: Path | None = None,
    preview: bool = False,
) -> AssemblyReport:
    """Join ``clips`` into ``dest`` as ``output`` says; return what was written and how.

    Raises ``AssembleError`` (one line) for bad inputs or a failed encode; ``dest`` is then
    left as it was.
    """
    if not clips:
        raise AssembleError("nothing to assemble: no clips given")
    base_dir, dest = Path(base_dir), Path(dest)
    specs, infos = _probe_all(clips, base_dir)
    size = output_size(output, infos[0], preview)
    title_s = output.title.duration if output.title is not None else 0.0
    timeline = build_timeline(specs, infos, output, size, title_seconds=title_s)
    music = _music(output, music_file, base_dir)
    _check_text(timeline, output, base_dir)
    blocker = fast_path_blocker(specs, infos, timeline, output, preview)
    has_audio = music is not None or any(i.has_audio for i in infos)

    dest.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_work(dest)  # what a killed assembly of this output left behind
    with tempfile.TemporaryDirectory(prefix=work_prefix(dest), dir=dest.parent) as work:
        tmp = Path(work) / f"out{dest.suffix or '.mp4'}"
        method: Literal["concat-copy", "moviepy"]
        if blocker is None:

            def write_audio(sink: IO[bytes]) -> None:
                mix_audio(timeline, music, sink)

            copy_join(timeline, output, tmp, write_audio if has_audio else None,
                      Path(work) / "clips.ffconcat")  # fmt: skip
            method, reason = "concat-copy", _fast_reason(timeline, infos[0], output)
        else:
            # mixed first, into a file: the encoder's stdin carries the frames
            audio = Path(work) / "audio.f32" if has_audio else None
            if audio is not None:
                with open(audio, "wb") as sink:
                    mix_audio(timeline, music, sink)
            drawn = _encode(timeline, output, base_dir, preview, tmp, audio)
            method = "moviepy"
            reason = f"{blocker}: re-encoded, {drawn} of {timeline.total_frames} frames drawn by MoviePy"
        written = probe(tmp)
        os.replace(tmp, dest)
    return AssemblyReport(
        path=dest, method=method, reason=reason,
        duration=written.duration, frames=written.frames, width=written.width,
        height=written.height, fps=written.fps, has_audio=written.has_audio,
        clips=[p.summary(timeline.fps) for p in timeline.placed], captions=timeline.captions(),
    )  # fmt: skip


def _fast_reason(timeline: Timeline, first: ClipInfo, output: Output) -> str:
    w, h = timeline.size
    return (
        f"all {len(timeline.placed)} clips are cuts of {w}x{h} {first.codec} "
        f"{first.pixel_format} at {output.fps} fps with nothing drawn: video stream-copied"
    )


def _encode(
    timeline: Timeline, output: Output, base_dir: Path, preview: bool, tmp: Path,
    audio: Path | None,
) -> int:  # fmt: skip
    preset = "ultrafast" if preview else output.preset
    full_h = int(output.size.split("x")[1]) if output.size else timeline.placed[0].info.height
    scale = timeline.size[1] / full_h
    encoder = Encoder(tmp, timeline.size, output, preset, audio, timeline.placed[0].info.matrix)
    try:
        drawn = render_frames(timeline, output, base_dir, scale, encoder)
    except BaseException:
        encoder.kill()
        raise
    encoder.close()
    return drawn

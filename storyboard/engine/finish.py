"""One video: its shots' cached clips -> the assembled output and its report.

Owns: turning a storyboard's shots into assembly clips (the picked take of each; trims,
transitions, captions, volume, seamless joins where a shot starts on the previous shot's last
frame), skipping assembly when
the output on disk is already exactly what it would make, and fetching a music URL into the
cache. The report's shape is ``report``'s. MoviePy arrives only through assembly, imported when
a video is assembled. Prints nothing; must not import the scheduler's callers (render, CLI).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from storyboard.engine import report
from storyboard.engine.plan import Plan, ShotJob, canonical_json
from storyboard.engine.scheduler import ShotOutcome
from storyboard.engine.service import VideoService
from storyboard.seedance.capabilities import FPS, MODELS
from storyboard.spec.load import Loaded
from storyboard.spec.model import Trim
from storyboard.store.cache import CachedClip, sha256_file
from storyboard.store.tiered import ClipStore

if TYPE_CHECKING:
    from storyboard.assemble import ClipSpec

__all__ = [
    "Finisher", "VideoResult", "continues_previous", "extended_trim", "fetch_music", "finish_video", "source_head",
]  # fmt: skip


@dataclass(frozen=True)
class VideoResult:
    """What one assembled video is, with its report."""

    output: Path
    report_path: Path
    report: report.VideoReport


class Finisher(Protocol):
    """Makes one video from its shots' outcomes (``finish_video``; tests pass one without MoviePy)."""

    def __call__(
        self,
        loaded: Loaded,
        plan: Plan,
        outcomes: Mapping[str, ShotOutcome],
        *,
        owned: set[str],
        music_file: Path | None,
        output: Path,
        preview: bool,
        polls: int,
        generation_seconds: float,
    ) -> VideoResult: ...


def finish_video(
    loaded: Loaded,
    plan: Plan,
    outcomes: Mapping[str, ShotOutcome],
    *,
    owned: set[str],
    music_file: Path | None,
    output: Path,
    preview: bool,
    polls: int,
    generation_seconds: float,
) -> VideoResult:
    """Assemble `plan`'s cached clips into `output` and write its report beside it.

    `outcomes` are by this storyboard's shot ids; `owned` names the shots whose generation in
    this run counts for this video (a shot shared with an earlier variant is "shared" here);
    `music_file` is what `fetch_music` returned.
    """
    from storyboard.assemble import ClipSpec, assemble  # MoviePy: only when a video is made

    started = time.monotonic()
    board = loaded.board
    picked = plan.picked  # one job per shot: the take the video uses
    clips = [
        ClipSpec(
            path=_entry(outcomes[job.id]).clip,
            trim=extended_trim(board.setting(job.index, "trim"), source_head(plan, job)),
            transition=board.setting(job.index, "transition"),
            caption=board.setting(job.index, "caption"),
            volume=_or(board.setting(job.index, "volume"), 1.0),
            continues_previous=continues_previous(plan, picked, position),
        )
        for position, job in enumerate(picked)
    ]
    key = _assembly_key(loaded, clips, [_entry(outcomes[j.id]).meta.clip_sha256 for j in picked], music_file, preview)
    rpath = report.report_path(output)
    previous = report.read_assembly(rpath)
    if previous is not None and previous.key == key and _sha256_or_none(output) == previous.output_sha256:
        assembly = report.skipped(previous)
    else:
        done = assemble(clips, board.output, output, base_dir=loaded.base_dir, music_file=music_file, preview=preview)
        assembly = report.AssemblyRecord(key=key, output_sha256=sha256_file(output), details=done.to_dict())
    shots = tuple(
        report.shot_report(
            job,
            outcomes[job.id],
            owned=job.id in owned,
            takes=tuple(
                report.take_report(t, outcomes[t.id], owned=t.id in owned) for t in plan.jobs if t.shot == job.shot
            ),
        )
        for job in picked
    )
    video = report.VideoReport(
        storyboard=str(loaded.file),
        output=str(output),
        service=plan.service,
        shots=shots,
        totals=report.totals(plan, shots, polls),
        assembly=assembly,
        timings=report.Timings(
            generation_seconds=round(generation_seconds, 3),
            assembly_seconds=round(time.monotonic() - started, 3),
        ),
    )
    video.write(rpath)
    return VideoResult(output, rpath, video)


def _entry(outcome: ShotOutcome) -> CachedClip:
    assert outcome.entry is not None, "every shot is cached or done here"
    return outcome.entry


def _sha256_or_none(path: Path) -> str | None:
    try:
        return sha256_file(path)
    except OSError:
        return None


def _assembly_key(
    loaded: Loaded, clips: Sequence[ClipSpec], hashes: Sequence[str], music_file: Path | None, preview: bool
) -> str:
    """Everything the assembled video depends on: clip contents, per-clip edits, settings, files."""
    base = loaded.base_dir
    files = [music_file] + [base / f for f in _assembly_files(loaded) if (base / f).is_file()]
    doc = {
        "clips": [
            [sha, repr(c.trim), repr(c.transition), repr(c.caption), c.volume, c.continues_previous]
            for sha, c in zip(hashes, clips, strict=True)
        ],
        "output": loaded.board.output.model_dump(mode="json"),
        "files": [sha256_file(f) if f and f.is_file() else None for f in files],
        "preview": preview,
        # records older than this one lack the caption cues the review exports: assemble again
        "record": 2,
    }
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()


def _assembly_files(loaded: Loaded) -> list[str]:
    """Local files assembly reads besides the clips (music, fonts)."""
    board = loaded.board
    names = [board.output.music.path if board.output.music else None, board.output.font]
    names.append(board.output.title.font if board.output.title else None)
    names += [board.setting(i, "caption").font for i in range(len(board.shots)) if board.setting(i, "caption")]
    return [n for n in names if n]


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def source_head(plan: Plan, job: ShotJob, includes_source: bool | None = None) -> float:
    """Seconds at the head of `job`'s clip that repeat its source: the source's length when `job`
    extends a clip and the service returns source + continuation, else 0.

    Whether it does is one fact of the capability table (``extend_includes_source``, uncertain in
    the sources); `includes_source` overrides it (tests show both cases assemble right).
    """
    if job.extends is None:
        return 0.0
    if includes_source is None:
        refs = MODELS[job.model].references
        includes_source = bool(refs and refs.extend_includes_source)
    source = plan.job(job.extends)
    return source.frames / FPS if includes_source else 0.0  # the whole source clip, 24*d+1 frames


def extended_trim(trim: Trim | None, head: float) -> Trim | None:
    """The shot's trim (in the continuation's time) in the clip's time: `head` seconds later, so the
    source, shown by its own shot, is never shown twice."""
    if head == 0:
        return trim
    start, end = (trim.start, trim.end) if trim else (0.0, None)
    return Trim(start=start + head, end=None if end is None else end + head)


def continues_previous(
    plan: Plan, shots: Sequence[ShotJob], position: int, includes_source: bool | None = None
) -> bool:
    """True when `shots[position]` (the video's jobs, one picked take per shot) starts on the
    previous one's last frame: a chained join, or an extension returned without its source (it
    starts on the source's last frame, §7 notes)."""
    if position == 0:
        return False
    job, previous = shots[position], shots[position - 1].id
    if job.extends == previous and source_head(plan, job, includes_source) == 0:
        return True
    return [c.upstream for c in job.chained if c.role == "first_frame"] == [previous]


def fetch_music(loaded: Loaded, service: VideoService, cache: ClipStore) -> Path | None:
    """Download a music URL into the cache (once per URL); None for a path, which assembly reads.

    Called before any shot is submitted — a broken URL then costs nothing — and one video at a
    time, so two assemblies never download the same file at once.
    """
    music = loaded.board.output.music
    if music is None or music.url is None:
        return None
    name = hashlib.sha256(music.url.encode()).hexdigest()
    suffix = Path(music.url.split("?")[0]).suffix[:8] or ".audio"
    dest = cache.root / "music" / f"{name}{suffix}"
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        service.download(music.url, dest)
    return dest

"""Writing the review of each video of a render: the page, its clips and thumbnails, the poster,
the contact sheet and the subtitle files.

Owns: which files a done or a failed video gets, building each ``Review`` from the batch result,
copying (hard-linking where it can) each used clip into ``NAME.review/`` with its first and last
frame, reading the assembled timeline (clip starts, captions) back from the video's report, and
writing it all atomically: new files appear under new names before the page that links them is
replaced; files the new page no longer links are removed after. Must not import the CLI; assembly
only inside functions (stills and subtitles need ffmpeg and Pillow).
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

from storyboard.engine.render import BatchResult, VideoOutcome
from storyboard.engine.review.page import beside, render_page, take_files
from storyboard.engine.review.panels import Review, panel
from storyboard.engine.variants import Batch
from storyboard.errors import StoryboardError
from storyboard.store.atomic import write_atomic
from storyboard.store.lockfile import Lockfile

__all__ = ["ReviewWritten", "review_of", "write_review", "write_reviews"]


@dataclass(frozen=True)
class ReviewWritten:
    """One video's review: the page written, or why it could not be."""

    video: str
    page: Path | None
    error: str | None = None


def review_of(
    batch: Batch, video: VideoOutcome, result: BatchResult, lock: Lockfile | None, *, preview: bool
) -> Review:
    """The review of one video of `batch` after `result`; `lock`: the lockfile the render started from."""
    v = video.variant
    outcomes = {job.id: result.shots[batch.ids[(v.number, job.id)]] for job in v.plan.jobs}
    owned = batch.owned(v)
    panels = []
    picked = v.plan.picked  # one job per shot: the take the video uses
    for i, job in enumerate(picked):
        previous = picked[i - 1].id if i else None
        takes = [t for t in v.plan.jobs if t.shot == job.shot]
        panels.append(
            panel(job, outcomes[job.id], previous=previous, owned=job.id in owned, outcomes=outcomes, lock=lock,
                  takes=takes)
        )  # fmt: skip
    return Review(
        name=v.name, storyboard=v.loaded.file, output=v.output, error=video.error or None, preview=preview,
        panels=tuple(panels), seconds=video.seconds,
    )  # fmt: skip


class _Cue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    clip: int
    start: float
    end: float
    text: str


class _Clip(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    out_start: float
    """Its first second on the output timeline."""
    frames: int
    """Output frames it shows."""


class _Assembled(BaseModel):
    """The timeline facts assembly reported (``AssemblyReport.to_dict``), read back typed."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    fps: float
    clips: tuple[_Clip, ...]
    captions: tuple[_Cue, ...] = ()


def _assembled(details: Mapping[str, JsonValue]) -> _Assembled:
    try:
        return _Assembled.model_validate(details)
    except ValidationError:
        raise StoryboardError("the video's report has no usable assembly record") from None


def _place(dest: Path, make: Callable[[Path], object]) -> None:
    """Make `dest` through a temporary name beside it (a reader never sees half a file)."""
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.stem}.", suffix=dest.suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        make(tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _link_or_copy(source: Path, tmp: Path) -> None:
    """`source` at `tmp` (an empty file `_place` made for it)."""
    tmp.unlink()
    try:
        os.link(source, tmp)  # the cache never rewrites a clip in place: sharing its inode is safe
    except OSError:
        shutil.copyfile(source, tmp)


def _take_files(review: Review) -> set[Path]:
    """Copy every take's clip and extract its first and last frame, unless already there."""
    from storyboard.assemble.stills import clip_ends

    kept = set()
    for p in review.panels:
        for take in p.takes:
            files = take_files(review.output, p, take)
            kept |= {files.clip, files.first, files.last}
            if not files.clip.is_file():
                _place(files.clip, functools.partial(_link_or_copy, take.clip))
            if not (files.first.is_file() and files.last.is_file()):
                with tempfile.TemporaryDirectory(dir=files.clip.parent, prefix=".thumbs-") as work:
                    first, last = Path(work) / "first.jpg", Path(work) / "last.jpg"
                    clip_ends(take.clip, first, last)
                    os.replace(first, files.first)
                    os.replace(last, files.last)
    return kept


def _video_extras(review: Review, assembled: _Assembled) -> dict[str, Path]:
    """Poster, contact sheet and (when the storyboard has captions) subtitles of a made video."""
    from storyboard.assemble.stills import contact_sheet, frames_at
    from storyboard.assemble.subtitles import srt, vtt
    from storyboard.assemble.timeline import CaptionCue

    files = beside(review.output)
    # the middle of each shot: past any fade or crossfade, on the picture the shot is about
    middles = [round(c.out_start * assembled.fps) + c.frames // 2 for c in assembled.clips]
    with tempfile.TemporaryDirectory(dir=files.folder, prefix=".stills-") as work:
        # full size, in one decoding pass: the first is the poster, the sheet scales them all
        stills = frames_at(review.output, middles, Path(work), width=None)
        tiles = [(still, p.id) for still, p in zip(stills, review.panels, strict=True)]
        _place(files.sheet, lambda tmp: contact_sheet(tiles, tmp))
        _place(files.poster, functools.partial(shutil.copyfile, stills[0]))
    extras = {"poster": files.poster, "sheet": files.sheet}
    if assembled.captions:
        cues: list[CaptionCue] = [{"clip": c.clip, "start": c.start, "end": c.end, "text": c.text}
                                  for c in assembled.captions]  # fmt: skip
        write_atomic(files.srt, srt(cues).encode())
        write_atomic(files.vtt, vtt(cues).encode())
        extras |= {"srt": files.srt, "vtt": files.vtt}
    else:  # captions removed from the storyboard: the old files would describe another video
        files.srt.unlink(missing_ok=True)
        files.vtt.unlink(missing_ok=True)
    return extras


def write_review(review: Review, details: Mapping[str, JsonValue] | None) -> Path:
    """Write `review`'s page and files beside its video; `details`: the assembly record of a made video.

    A failed video (`details` None) gets the page with its failure in place; the poster, sheet
    and subtitles of an earlier video stay as they are (so does that video).
    """
    files = beside(review.output)
    files.folder.mkdir(parents=True, exist_ok=True)
    kept = _take_files(review)
    extras = _video_extras(review, _assembled(details)) if details is not None else {}
    write_atomic(files.page, render_page(review, extras=extras).encode())
    for stale in files.folder.iterdir():
        if stale.is_file() and stale not in kept and not stale.name.startswith("."):
            stale.unlink(missing_ok=True)
    return files.page


def write_reviews(
    batch: Batch, result: BatchResult, lock: Lockfile | None, *, preview: bool, workers: int = 2
) -> Sequence[ReviewWritten]:
    """The review of every video of `result`, two at a time (the work is ffmpeg processes)."""

    def one(video: VideoOutcome) -> ReviewWritten:
        review = review_of(batch, video, result, lock, preview=preview)
        details = video.result.report.assembly.details if video.result is not None else None
        try:
            return ReviewWritten(video.variant.name, write_review(review, details))
        except (StoryboardError, OSError) as exc:
            return ReviewWritten(video.variant.name, None, str(exc))

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="review") as pool:
        return list(pool.map(one, result.videos))

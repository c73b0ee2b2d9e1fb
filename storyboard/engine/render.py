"""`render()`: a batch (one storyboard, or one per variable set) -> generated clips -> videos.

Owns: the order of a render, held by one ``BatchRun`` — one scheduler over the batch's unique
jobs, under one limit on tasks in flight and one create-rate limit; each video assembled as
soon as all its shots are ready, on a worker pool, while other videos are still generating; a
failed video never stops the others — and the batch summary. A video waits for every take of its shots, but only a failed picked take
(the one it uses) fails it. Prints nothing (progress goes
through events) and reads no environment: the CLI builds the service, cache and journal. Must
not import the CLI layer or MoviePy (videos are made in ``finish``, which imports assembly only
when it runs).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from storyboard.engine.batchreport import BatchReport, VideoLine
from storyboard.engine.claims import SHARD_TIMEOUT
from storyboard.engine.clipurls import check_clip_sources
from storyboard.engine.finish import Finisher, VideoResult, fetch_music, finish_video
from storyboard.engine.hints import failure_summary
from storyboard.engine.plan import Plan
from storyboard.engine.scheduler import Event, PollPolicy, Scheduler, ShotOutcome
from storyboard.engine.service import SYSTEM_CLOCK, Clock, VideoService
from storyboard.engine.settle import Force, settle_plan
from storyboard.engine.states import PAID_THIS_RUN, TERMINAL, UNUSABLE
from storyboard.engine.variants import Batch, Variant
from storyboard.engine.verify import Verifier, verify_download
from storyboard.errors import StoryboardError
from storyboard.seedance.capabilities import MODELS
from storyboard.store.journal import Journal
from storyboard.store.tiered import ClipStore

__all__ = [
    "BatchResult", "BatchRun", "RenderOptions", "VideoEvent", "VideoOutcome", "default_jobs", "default_rate",
    "render",
]  # fmt: skip


@dataclass(frozen=True)
class VideoEvent:
    """One state change of one output video (assembly runs on worker threads)."""

    video: str
    state: Literal["assembling", "done", "failed"]
    elapsed: float
    detail: str = ""


@dataclass(frozen=True)
class RenderOptions:
    """How to run one render."""

    jobs: int | None = None
    """Tasks in flight on the service at once; default: the models' documented concurrency."""
    rate: tuple[int, float] | None = None
    """At most N create requests per W seconds; default: the models' documented RPM per minute."""
    force: Force = None
    poll: PollPolicy = PollPolicy()
    preview: bool = False
    assemblers: int | None = None
    """Videos assembled at once; default: half the CPU cores (at least one)."""
    foreign: Mapping[str, str] = field(default_factory=dict)
    """Job ids another shard generates ("i/n"): this render waits for them in the shared cache."""
    shard_timeout: float = SHARD_TIMEOUT
    """Seconds to wait for a shot another shard generates before failing its videos."""
    timeout: float | None = None
    """--timeout: seconds the whole render may wait; then it stops as on Ctrl-C (tasks journaled)."""


@dataclass(frozen=True)
class VideoOutcome:
    """How one video of the batch ended."""

    variant: Variant
    status: Literal["done", "failed"]
    result: VideoResult | None
    error: str
    generated: int
    reused: int
    tokens: int
    seconds: float


@dataclass(frozen=True)
class BatchResult:
    """Every video's outcome plus batch-wide counts."""

    videos: tuple[VideoOutcome, ...]
    unique_generations: int
    polls: int
    seconds: float
    shots: Mapping[str, ShotOutcome] = field(default_factory=dict)
    """Every job's outcome by job id (what the lockfile records)."""

    @property
    def failed(self) -> list[VideoOutcome]:
        return [v for v in self.videos if v.status == "failed"]

    def report(self, shard: str | None = None) -> BatchReport:
        """The batch report (``NAME.batch.json``), or one shard's part of it."""
        videos = tuple(
            VideoLine(
                row=v.variant.number,
                label=v.variant.label,
                output=str(v.variant.output),
                status=v.status,
                error=v.error or None,
                shots_generated=v.generated,
                shots_reused=v.reused,
                tokens=v.tokens,
                seconds=round(v.seconds, 3),
            )
            for v in self.videos
        )
        return BatchReport(
            videos=videos,
            unique_generations=self.unique_generations,
            poll_requests=self.polls,
            seconds=round(self.seconds, 3),
            shard=shard,
        )


def default_jobs(plan: Plan) -> int:
    """The service's documented concurrency for the plan's models (the smallest of them)."""
    return min((MODELS[j.model].concurrency for j in plan.jobs), default=1)


def default_rate(plan: Plan) -> tuple[int, float]:
    """The documented create limit (requests per minute) of the plan's models, the smallest."""
    return (min((MODELS[j.model].rpm for j in plan.jobs), default=60), 60.0)


@dataclass
class _Video:
    """How far one video of the batch got."""

    variant: Variant
    music: Path | None
    assembly: Future[VideoResult] | None = None
    failure: str | None = None  # the failure summary of shots that did not finish
    shots_ended: float | None = None  # when its last shot reached a terminal state


class BatchRun:
    """One render of a batch: its scheduler, its videos' progress and the events it sends."""

    def __init__(
        self,
        batch: Batch,
        *,
        service: VideoService,
        cache: ClipStore,
        journal: Journal,
        options: RenderOptions,
        on_event: Callable[[Event], None] = lambda _e: None,
        on_video: Callable[[VideoEvent], None] = lambda _e: None,
        clock: Clock = SYSTEM_CLOCK,
        finish: Finisher = finish_video,
        verify: Verifier = verify_download,
    ) -> None:
        if batch.plan.service != service.identity:
            raise StoryboardError(
                f"the plan's cache keys are for service {batch.plan.service!r}, not {service.identity!r}"
            )
        self.batch, self.options, self.clock = batch, options, clock
        self._finish = finish  # makes one video; the unit tests pass one without MoviePy
        self.on_event, self.on_video = on_event, on_video
        self.started = clock.monotonic()
        # music URLs are fetched before anything is submitted: a broken one then costs nothing
        self.videos = {v.number: _Video(v, fetch_music(v.loaded, service, cache)) for v in batch.variants}
        if any(c.is_clip for j in batch.plan.jobs for c in j.chained):  # `from:` clips: check their URLs first
            settled = settle_plan(batch.plan, cache=cache, journal=journal, force=options.force)
            check_clip_sources(batch.plan, settled, time.time())
        workers = options.assemblers or max(1, (os.cpu_count() or 2) // 2)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="assemble")
        self.scheduler = Scheduler(
            batch.plan,
            service=service,
            cache=cache,
            journal=journal,
            max_in_flight=options.jobs or default_jobs(batch.plan),
            rate=options.rate or default_rate(batch.plan),
            force=options.force,
            poll=options.poll,
            on_event=self._shot_changed,
            clock=clock,
            foreign=options.foreign,
            shard_timeout=options.shard_timeout,
            timeout=options.timeout,
            verify=verify,  # the unit tests' fake service downloads text, not clips
        )

    def run(self) -> BatchResult:
        """Generate what the cache lacks and assemble every video whose shots are all ready."""
        try:
            self.scheduler.run()
        finally:
            self._pool.shutdown(wait=True)
        videos = tuple(self._outcome(video) for video in self.videos.values())
        generated_here = len(self.batch.plan.jobs) - len(self.options.foreign)
        return BatchResult(videos, generated_here, self.scheduler.polls, self._elapsed(), self.scheduler.outcomes)

    def _elapsed(self) -> float:
        return self.clock.monotonic() - self.started

    def shots_of(self, variant: Variant) -> dict[str, ShotOutcome]:
        """`variant`'s shot outcomes by its own shot ids."""
        outcomes = self.scheduler.outcomes
        return {job.id: outcomes[self.batch.ids[(variant.number, job.id)]] for job in variant.plan.jobs}

    def _shot_changed(self, event: Event) -> None:
        self.on_event(event)
        if event.state in TERMINAL:
            for video in self.videos.values():
                if video.assembly is None and video.failure is None:
                    self._maybe_finish(video)

    def _maybe_finish(self, video: _Video) -> None:
        """Start assembling `video` once all its shots ended (or record why it cannot be made)."""
        v = video.variant
        shots = self.shots_of(v)
        if any(o.state not in TERMINAL for o in shots.values()):
            return
        video.shots_ended = self.clock.monotonic()
        # every take ends first (the report lists them all); only the picked ones make the video
        if any(shots[j.id].state in UNUSABLE for j in v.plan.picked):
            video.failure = failure_summary(v.plan, shots)
            return
        self.on_video(VideoEvent(v.name, "assembling", round(self._elapsed(), 3)))
        video.assembly = self._pool.submit(
            self._finish, v.loaded, v.plan, shots, owned=self.batch.owned(v), music_file=video.music,
            output=v.output, preview=self.options.preview, polls=self.scheduler.polls,
            generation_seconds=video.shots_ended - self.started,
        )  # fmt: skip
        video.assembly.add_done_callback(functools.partial(self._assembled, v.name))

    def _assembled(self, name: str, future: Future[VideoResult]) -> None:
        elapsed = round(self._elapsed(), 3)
        error = future.exception()
        if error is None:
            self.on_video(VideoEvent(name, "done", elapsed, str(future.result().output)))
        else:
            self.on_video(VideoEvent(name, "failed", elapsed, str(error)))

    def _outcome(self, video: _Video) -> VideoOutcome:
        v = video.variant
        shots = self.shots_of(v)
        owned = self.batch.owned(v)
        # only clips count: a task that failed was not billed (docs/protocol.md §11.1)
        clips = {sid: o.entry for sid, o in shots.items() if o.entry is not None}
        own = [sid for sid in clips if sid in owned and shots[sid].source in PAID_THIS_RUN]
        tokens = sum(clips[sid].meta.tokens or shots[sid].job.estimated_tokens for sid in own)
        counts = {"generated": len(own), "reused": len(clips) - len(own), "tokens": tokens}
        if video.assembly is None:
            seconds = (video.shots_ended or self.clock.monotonic()) - self.started
            return VideoOutcome(v, "failed", None, video.failure or "not finished", seconds=seconds, **counts)
        try:
            result = video.assembly.result()
        except (StoryboardError, OSError) as exc:
            error = f"assembly failed: {exc} (the clips are cached; fix and render again)"
            return VideoOutcome(v, "failed", None, error, seconds=self._elapsed(), **counts)
        assert video.shots_ended is not None
        seconds = video.shots_ended - self.started + result.report.timings.assembly_seconds
        return VideoOutcome(v, "done", result, "", seconds=seconds, **counts)


def render(
    batch: Batch,
    *,
    service: VideoService,
    cache: ClipStore,
    journal: Journal,
    options: RenderOptions,
    on_event: Callable[[Event], None] = lambda _e: None,
    on_video: Callable[[VideoEvent], None] = lambda _e: None,
) -> BatchResult:
    """Generate what the cache lacks and assemble every video of `batch`.

    A video whose shots failed (or whose assembly failed) is reported in the result with its
    failure summary; the other videos are finished all the same.
    """
    run = BatchRun(
        batch, service=service, cache=cache, journal=journal, options=options, on_event=on_event, on_video=on_video
    )
    return run.run()

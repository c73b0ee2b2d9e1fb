"""`render()`: a batch (one storyboard, or one per variable set) -> generated clips -> videos.

Owns: the order of a render — one scheduler over the batch's unique jobs, under one limit on
tasks in flight and one create-rate limit; each video assembled as soon as all its shots are
ready, on a worker pool, while other videos are still generating; a failed video never stops
the others — the failure summary (which shot, the service's code and message, what to change)
and the batch summary. Prints nothing (progress goes through events) and reads no environment:
the CLI builds the client, cache and journal. Must not import the CLI layer or MoviePy (videos
are made in `video.py`, which imports assembly only when it runs).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from storyboard.batch import Batch, Variant
from storyboard.cache import Cache
from storyboard.capabilities import MODELS
from storyboard.client import SeedanceClient
from storyboard.errors import APIError, BadRequestError, GenerationFailed, StoryboardError
from storyboard.journal import Journal
from storyboard.plan import Plan
from storyboard.scheduler import TERMINAL, Event, PollPolicy, Scheduler, ShotOutcome
from storyboard.video import VideoResult, fetch_music, finish_video

__all__ = [
    "BatchResult", "RenderOptions", "VideoEvent", "VideoOutcome", "default_jobs", "default_rate",
    "failure_summary", "render",
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
    force: set[str] | Literal[True] | None = None
    poll: PollPolicy = PollPolicy()
    preview: bool = False
    assemblers: int | None = None
    """Videos assembled at once; default: half the CPU cores (at least one)."""


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

    @property
    def failed(self) -> list[VideoOutcome]:
        return [v for v in self.videos if v.status == "failed"]

    def to_json(self) -> dict[str, Any]:
        return {
            "videos": [
                {
                    "row": v.variant.number,
                    "label": v.variant.label,
                    "output": str(v.variant.output),
                    "status": v.status,
                    "error": v.error or None,
                    "shots_generated": v.generated,
                    "shots_reused": v.reused,
                    "tokens": v.tokens,
                    "seconds": round(v.seconds, 3),
                }
                for v in self.videos
            ],
            "unique_generations": self.unique_generations,
            "poll_requests": self.polls,
            "seconds": round(self.seconds, 3),
        }


def default_jobs(plan: Plan) -> int:
    """The service's documented concurrency for the plan's models (the smallest of them)."""
    return min((MODELS[j.model].concurrency for j in plan.jobs), default=1)


def default_rate(plan: Plan) -> tuple[int, float]:
    """The documented create limit (requests per minute) of the plan's models, the smallest."""
    return (min((MODELS[j.model].rpm for j in plan.jobs), default=60), 60.0)


def render(
    batch: Batch,
    *,
    client: SeedanceClient,
    cache: Cache,
    journal: Journal,
    options: RenderOptions,
    on_event: Callable[[Event], None] = lambda _e: None,
    on_video: Callable[[VideoEvent], None] = lambda _e: None,
) -> BatchResult:
    """Generate what the cache lacks and assemble every video of `batch`.

    A video whose shots failed (or whose assembly failed) is reported in the result with its
    failure summary; the other videos are finished all the same.
    """
    started = time.monotonic()
    music = {v.number: fetch_music(v.loaded, client, cache) for v in batch.variants}
    workers = options.assemblers or max(1, (os.cpu_count() or 2) // 2)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="assemble")
    pending: dict[int, Future[VideoResult]] = {}
    failed: dict[int, str] = {}
    finished_at: dict[int, float] = {}
    scheduler: Scheduler

    def outcomes_of(v: Variant) -> dict[str, ShotOutcome]:
        return {job.id: scheduler.outcomes[batch.ids[(v.number, job.id)]] for job in v.plan.jobs}

    def check_variants(event: Event) -> None:
        on_event(event)
        if event.state not in TERMINAL:
            return
        for v in batch.variants:
            if v.number in pending or v.number in failed:
                continue
            shots = outcomes_of(v)
            if any(o.state not in TERMINAL for o in shots.values()):
                continue
            finished_at[v.number] = time.monotonic()
            if any(o.state in ("failed", "blocked") for o in shots.values()):
                failed[v.number] = failure_summary(v.plan, shots)
                continue
            on_video(VideoEvent(v.name, "assembling", round(time.monotonic() - started, 3)))
            future = pool.submit(
                finish_video, v.loaded, v.plan, shots, owned=batch.owned(v), music_file=music[v.number],
                output=v.output, preview=options.preview, polls=scheduler.polls,
                generation_seconds=finished_at[v.number] - started,
            )  # fmt: skip
            future.add_done_callback(lambda f, name=v.name: on_video(_finished(name, f, started)))
            pending[v.number] = future

    scheduler = Scheduler(
        batch.plan,
        client=client,
        cache=cache,
        journal=journal,
        jobs=options.jobs or default_jobs(batch.plan),
        rate=options.rate or default_rate(batch.plan),
        force=options.force,
        poll=options.poll,
        on_event=check_variants,
    )
    try:
        scheduler.run()
    finally:
        pool.shutdown(wait=True)
    videos = [_video_outcome(batch, v, pending, failed, scheduler, finished_at, started) for v in batch.variants]
    result = BatchResult(tuple(videos), len(batch.plan.jobs), scheduler.polls, time.monotonic() - started)
    return result


def _finished(name: str, future: Future[VideoResult], started: float) -> VideoEvent:
    elapsed = round(time.monotonic() - started, 3)
    error = future.exception()
    if error is None:
        return VideoEvent(name, "done", elapsed, str(future.result().output))
    return VideoEvent(name, "failed", elapsed, str(error))


def _video_outcome(
    batch: Batch,
    v: Variant,
    pending: dict[int, Future[VideoResult]],
    failed: dict[int, str],
    scheduler: Scheduler,
    finished_at: dict[int, float],
    started: float,
) -> VideoOutcome:
    shots = [scheduler.outcomes[batch.ids[(v.number, job.id)]] for job in v.plan.jobs]
    owned = batch.owned(v)
    own = [o for job, o in zip(v.plan.jobs, shots) if job.id in owned and o.source in ("generated", "resumed")]
    tokens = sum(o.job.estimated_tokens if o.entry is None else (o.entry.meta.get("tokens") or o.job.estimated_tokens) for o in own)
    common = {"generated": len(own), "reused": len(shots) - len(own), "tokens": tokens}
    if v.number in failed or v.number not in pending:
        error = failed.get(v.number, "not finished")
        seconds = finished_at.get(v.number, time.monotonic()) - started
        return VideoOutcome(v, "failed", None, error, seconds=seconds, **common)
    try:
        result = pending[v.number].result()
    except (StoryboardError, OSError) as exc:
        error = f"assembly failed: {exc} (the clips are cached; fix and render again)"
        return VideoOutcome(v, "failed", None, error, seconds=time.monotonic() - started, **common)
    seconds = finished_at[v.number] - started + result.report["timings"]["assembly_seconds"]
    return VideoOutcome(v, "done", result, "", seconds=seconds, **common)


def _hint(error: Exception | None, shot: str) -> str:
    if isinstance(error, APIError) and "fetch failed" in error.message.lower():
        return "the service could not download an image url: make sure every url: is public, or use path:"
    if isinstance(error, GenerationFailed):
        code = error.code.lower()
        if "sensitive" in code or "moderation" in code:
            return "rephrase the prompt or replace the images, then render again"
        if "expire" in code or "timeout" in error.message.lower():
            return "the service gave up on the task; render again (raise execution_expires_after if it keeps happening)"
        return "render again; if it fails the same way, change the shot"
    if isinstance(error, BadRequestError):
        return "fix the shot's settings as the message says"
    if isinstance(error, APIError) and error.maybe_submitted:
        return f"check the AceData console, then rerun with --force {shot} if no task is running for it"
    return "render again to retry (finished shots are cached)"


def failure_summary(plan: Plan, outcomes: dict[str, ShotOutcome]) -> str:
    """One line per failed or blocked shot: what happened and what to change."""
    lines = []
    for job in plan.jobs:
        o = outcomes[job.id]
        if o.state == "failed":
            lines.append(f'shot "{job.id}" failed: {o.error} — {_hint(o.error, job.id)}')
        elif o.state == "blocked":
            ups = [d for d in job.depends_on if outcomes[d].state in ("failed", "blocked")]
            lines.append(f'shot "{job.id}" not generated: it needs "{", ".join(ups)}", which did not finish')
    done = sum(o.state in ("cached", "done") for o in outcomes.values())
    lines.append(f"{done} of {len(plan.jobs)} shots are generated and cached; nothing paid for is lost")
    return "\n".join(lines)

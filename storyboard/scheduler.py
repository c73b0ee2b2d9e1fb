"""Generation: runs a plan's shot jobs against the service, never paying twice for one.

Owns: the DAG schedule (a shot waits for the shots it takes frames from; everything else runs
concurrently up to `jobs` tasks on the service), cache hits, journal resumes, batched polling
with an interval that grows with the age of the running tasks, immediate downloads into the
cache, failure propagation to dependants, and progress events. Knows the plan, the client, the
cache and the journal; not the CLI (it prints nothing) and not assembly.
"""

from __future__ import annotations

import base64
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from storyboard.cache import Cache, CachedClip
from storyboard.client import SeedanceClient
from storyboard.errors import (
    APIError,
    AuthenticationError,
    InsufficientBalanceError,
    NotFoundError,
    RenderInterrupted,
    StoryboardError,
)
from storyboard.frames import extract_last_frame
from storyboard.journal import Journal
from storyboard.plan import Plan, ShotJob
from storyboard.tasks import TaskResult

__all__ = ["TERMINAL", "Event", "PollPolicy", "Scheduler", "ShotOutcome", "State"]

log = logging.getLogger(__name__)

State = Literal[
    "waiting", "queued", "cached", "submitted", "resumed", "running", "downloading", "done",
    "failed", "blocked",
]  # fmt: skip
TERMINAL: frozenset[State] = frozenset({"cached", "done", "failed", "blocked"})
_FATAL = (AuthenticationError, InsufficientBalanceError)
MAX_POLL_FAILURES = 6  # consecutive failed poll rounds before we stop and leave tasks journaled


def _with_margin(window: float) -> float:
    """The create window we keep: longer than the service's by a safety margin.

    We time a create when we send it, the service when it arrives; a request that waits in a
    busy network stack arrives later than the next one's gap suggests. 5 % (at least 0.3 s)
    covers that without slowing a real 60 s window noticeably.
    """
    return window + max(0.05 * window, 0.3)


@dataclass(frozen=True)
class PollPolicy:
    """Poll every `factor` x the age of the oldest running task, clamped to [minimum, maximum].

    Young tasks are nowhere near done (the service takes about a minute), so polling them
    often only costs requests; the interval then settles at `maximum`.
    """

    minimum: float = 3.0
    maximum: float = 15.0
    factor: float = 0.15

    def interval(self, oldest_age: float) -> float:
        return min(self.maximum, max(self.minimum, self.factor * oldest_age))


@dataclass(frozen=True)
class Event:
    """One state change of one shot."""

    shot: str
    state: State
    elapsed: float
    task_id: str | None = None
    detail: str = ""


@dataclass
class ShotOutcome:
    """Where one shot ended up, and the facts for the report."""

    job: ShotJob
    state: State = "waiting"
    task_id: str | None = None
    entry: CachedClip | None = None
    error: Exception | None = None
    source: Literal["cache", "generated", "resumed", ""] = ""
    last_frame_url: str | None = None  # fresh from the service this run (valid ~24 h)
    submitted_at: float | None = None
    finished_at: float | None = None
    started: float = field(default_factory=time.monotonic)


class Scheduler:
    """Runs every job of `plan` to a terminal state."""

    def __init__(
        self,
        plan: Plan,
        *,
        client: SeedanceClient,
        cache: Cache,
        journal: Journal,
        jobs: int,
        rate: tuple[int, float] | None = None,
        force: set[str] | Literal[True] | None = None,
        poll: PollPolicy = PollPolicy(),
        on_event: Callable[[Event], None] = lambda _e: None,
        downloads: int = 3,
    ) -> None:
        self.plan = plan
        self.client, self.cache, self.journal = client, cache, journal
        self.jobs = max(1, jobs)
        self.rate = rate
        self._creates: deque[float] = deque()  # times of recent create requests (rate window)
        self.force = force
        self.poll = poll
        self.on_event = on_event
        self.outcomes = {job.id: ShotOutcome(job) for job in plan.jobs}
        self.polls = 0
        self._pool = ThreadPoolExecutor(max_workers=downloads, thread_name_prefix="download")
        self._downloads: dict[str, Future[CachedClip]] = {}
        self._t0 = time.monotonic()

    # -- public ----------------------------------------------------------------------------

    def run(self) -> dict[str, ShotOutcome]:
        """Drive every shot to cached/done/failed/blocked; returns the outcomes by shot id."""
        try:
            self._loop()
        except KeyboardInterrupt:
            raise self._interrupted("interrupted") from None
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
        return self.outcomes

    # -- loop ------------------------------------------------------------------------------

    def _loop(self) -> None:
        next_poll = 0.0
        poll_failures = 0
        while True:
            self._start_ready()
            self._collect_downloads()
            running = [o for o in self.outcomes.values() if o.state in ("submitted", "resumed", "running")]
            busy = running or self._downloads
            if not busy and not self._startable():
                break
            now = time.monotonic()
            if running and now >= next_poll:
                if self._poll(running):
                    poll_failures = 0
                else:
                    poll_failures += 1
                    if poll_failures >= MAX_POLL_FAILURES:
                        raise self._interrupted("lost contact with the service")
                oldest = max(now - (o.submitted_at or now) for o in running)
                next_poll = time.monotonic() + self.poll.interval(oldest)
            wake = next_poll if running else time.monotonic() + 0.05
            if self.rate and self._creates and any(o.state == "queued" for o in self.outcomes.values()):
                wake = min(wake, self._creates[0] + _with_margin(self.rate[1]))  # a slot opens then
            if self._downloads:
                wake = min(wake, time.monotonic() + 0.05)
            time.sleep(max(0.0, min(wake - time.monotonic(), 1.0)))

    def _emit(self, outcome: ShotOutcome, state: State, detail: str = "") -> None:
        outcome.state = state
        elapsed = time.monotonic() - self._t0
        self.on_event(Event(outcome.job.id, state, round(elapsed, 3), outcome.task_id, detail))

    def _startable(self) -> bool:
        return any(o.state in ("waiting", "queued") and self._deps_state(o) == "ready" for o in self.outcomes.values())

    def _deps_state(self, outcome: ShotOutcome) -> Literal["ready", "wait", "blocked"]:
        states = [self.outcomes[d].state for d in outcome.job.depends_on]
        if any(s in ("failed", "blocked") for s in states):
            return "blocked"
        return "ready" if all(s in ("cached", "done") for s in states) else "wait"

    def _forced(self, shot: str) -> bool:
        return self.force is True or (isinstance(self.force, set) and shot in self.force)

    def _in_flight(self) -> int:
        return sum(o.state in ("submitted", "resumed", "running") for o in self.outcomes.values())

    def _start_ready(self) -> None:
        for outcome in self.outcomes.values():
            if outcome.state == "waiting":
                deps = self._deps_state(outcome)
                if deps == "blocked":
                    self._emit(outcome, "blocked", "an upstream shot failed")
                    continue
                if deps == "wait" or not self._needs_generating(outcome):
                    continue
            elif outcome.state != "queued":
                continue
            if self._in_flight() < self.jobs and self._rate_allows():
                self._submit(outcome)
            elif outcome.state != "queued":
                self._emit(outcome, "queued")

    def _needs_generating(self, outcome: ShotOutcome) -> bool:
        """Settle a shot whose inputs are ready from the cache or the journal, once.

        False when it is settled (cached, resumed, or refused); True when it must be submitted —
        it then waits as "queued" for a slot without looking at the cache or journal again.
        """
        job = outcome.job
        if not self._forced(job.id):
            entry = self.cache.get(job.cache_key)
            if entry is not None:
                outcome.entry, outcome.source = entry, "cache"
                outcome.task_id = entry.meta.get("task_id")
                self._emit(outcome, "cached")
                return False
        journaled = self.journal.get(job.cache_key)
        if journaled is not None and journaled.state == "submitted" and journaled.task_id:
            outcome.task_id, outcome.source = journaled.task_id, "resumed"
            outcome.submitted_at = time.monotonic() - max(0.0, time.time() - journaled.submitted_at)
            self._emit(outcome, "resumed", "polling a task submitted by an earlier render")
            return False
        if journaled is not None and journaled.state == "uncertain" and not self._forced(job.id):
            outcome.error = APIError(
                "an earlier create request for this shot was sent but got no answer, so the "
                "service may be generating it already"
            )
            outcome.error.maybe_submitted = True
            self._emit(outcome, "failed", str(outcome.error))
            return False
        return True

    def _rate_allows(self) -> bool:
        """True when one more create stays within `rate` (N creates per W seconds, sliding)."""
        if self.rate is None:
            return True
        limit, window = self.rate
        window = _with_margin(window)
        now = time.monotonic()
        while self._creates and now - self._creates[0] >= window:
            self._creates.popleft()
        return len(self._creates) < limit

    def _body(self, job: ShotJob) -> dict[str, Any]:
        body: dict[str, Any] = {**job.request, "content": [dict(c) for c in job.request["content"]]}
        for index, upstream in job.chained:
            up = self.outcomes[upstream]
            url = up.last_frame_url
            if url is None:
                assert up.entry is not None, "a shot starts only after its upstream is ready"
                if up.entry.last_frame is None:  # cached before anything chained from it
                    frame = self.cache.staging_dir() / f"{up.job.cache_key}.png"
                    up.entry = self.cache.add_last_frame(up.entry, extract_last_frame(up.entry.clip, frame))
                assert up.entry.last_frame is not None
                png = up.entry.last_frame.read_bytes()
                url = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
            item = dict(body["content"][index])
            item["image_url"] = {"url": url}
            body["content"][index] = item
        return body

    def _submit(self, outcome: ShotOutcome) -> None:
        job = outcome.job
        self._creates.append(time.monotonic())
        try:
            task_id = self.client.create(self._body(job))
        except _FATAL:
            raise
        except APIError as exc:
            if exc.maybe_submitted:
                self.journal.record(job.cache_key, job.id, None, uncertain=True)
            outcome.error = exc
            self._emit(outcome, "failed", str(exc))
            return
        # durable before we wait: a crash from here on resumes this task instead of paying again
        self.journal.record(job.cache_key, job.id, task_id)
        outcome.task_id, outcome.source = task_id, "generated"
        outcome.submitted_at = time.monotonic()
        self._emit(outcome, "submitted")

    def _poll(self, running: list[ShotOutcome]) -> bool:
        ids = [o.task_id for o in running if o.task_id]
        self.polls += 1
        try:
            results = self.client.retrieve_batch(ids)
        except _FATAL:
            raise
        except APIError as exc:
            log.warning("polling failed: %s", exc)
            return False
        for outcome in running:
            result = results.get(outcome.task_id or "")
            if result is None:
                result = self._lookup_missing(outcome)
                if result is None:
                    continue
            self._apply(outcome, result)
        return True

    def _lookup_missing(self, outcome: ShotOutcome) -> TaskResult | None:
        """A task the batch answer left out: ask for it alone; a resumed unknown one is resubmitted."""
        try:
            return self.client.retrieve(outcome.task_id or "")
        except NotFoundError:
            self.journal.remove(outcome.job.cache_key)
            if outcome.source == "resumed":
                # the service never knew it or has forgotten it: nothing is running, submit anew
                outcome.task_id, outcome.source = None, ""
                self._emit(outcome, "queued", "journaled task unknown to the service; submitting again")
            else:
                outcome.error = APIError(f"the service lost task {outcome.task_id}")
                self._emit(outcome, "failed", str(outcome.error))
            return None
        except APIError as exc:
            log.warning("polling %s failed: %s", outcome.task_id, exc)
            return None

    def _apply(self, outcome: ShotOutcome, result: TaskResult) -> None:
        if result.status == "processing" and outcome.state != "running":
            self._emit(outcome, "running")
        elif result.status == "failed":
            self.journal.remove(outcome.job.cache_key)  # terminal: nothing left to resume
            outcome.error = result.error or APIError("the task failed without a reason")
            outcome.finished_at = time.monotonic()
            self._emit(outcome, "failed", str(outcome.error))
        elif result.status == "succeeded":
            outcome.finished_at = time.monotonic()
            outcome.last_frame_url = result.last_frame_url
            self._emit(outcome, "downloading")
            self._downloads[outcome.job.id] = self._pool.submit(self._download, outcome, result)

    def _download(self, outcome: ShotOutcome, result: TaskResult) -> CachedClip:
        job = outcome.job
        staging = self.cache.staging_dir()
        clip = staging / f"{job.cache_key}.mp4"
        frame = staging / f"{job.cache_key}.png"
        assert result.video_url is not None, "a succeeded result always has a video url"
        self.client.download(result.video_url, clip)
        last: Path | None = frame
        if result.last_frame_url:
            self.client.download(result.last_frame_url, frame)
        elif job.request.get("return_last_frame"):
            extract_last_frame(clip, frame)  # the service did not send one: take it ourselves
        else:
            last = None
        meta = {
            "shot": job.id,
            "task_id": outcome.task_id,
            "model": job.model,
            "tokens": result.tokens,
            "service": self.plan.service,
            "request_digest": job.display_request(),
            "created": time.time(),
        }
        entry = self.cache.put(job.cache_key, clip, last, meta)
        self.journal.remove(job.cache_key)
        return entry

    def _collect_downloads(self) -> None:
        for shot, future in list(self._downloads.items()):
            if not future.done():
                continue
            del self._downloads[shot]
            outcome = self.outcomes[shot]
            try:
                outcome.entry = future.result()
            except (StoryboardError, OSError) as exc:
                # the task stays journaled: the next render downloads it again without paying
                outcome.error = exc
                self._emit(outcome, "failed", f"download failed: {exc}")
                continue
            self._emit(outcome, "done")

    def _interrupted(self, why: str) -> RenderInterrupted:
        running = {
            o.job.id: o.task_id
            for o in self.outcomes.values()
            if o.task_id and o.state in ("submitted", "resumed", "running", "downloading")
        }
        if running:
            listed = ", ".join(f"{shot} ({task})" for shot, task in running.items())
            message = (
                f"{why}; still running on the service: {listed}. They are journaled: run the "
                "same render again to pick them up without paying twice"
            )
        else:
            message = f"{why}; no task was running on the service"
        return RenderInterrupted(running, message)

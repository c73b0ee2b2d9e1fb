"""Generation: runs a plan's shot jobs against a video service, never paying twice for one.

Owns: the DAG schedule (a shot waits for the shots it takes frames from; everything else runs
concurrently up to `max_in_flight` tasks on the service and `rate` creates per window), settling ready
shots from the cache or the journal (``settle``, under a claim on the key: ``claims``),
journaling every task id before polling it, batched polling with an interval that grows with
the age of the running tasks, downloads into the cache on worker threads, failure propagation
to dependants, and progress events. Talks to the service only through ``VideoService`` and
waits only through ``Clock``. Prints nothing; must not import assembly, render or the CLI.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Literal

from storyboard.engine.claims import SHARD_TIMEOUT, Busy, Claims
from storyboard.engine.clipurls import clip_url, issued_at
from storyboard.engine.deadlines import Deadlines, unjournaled
from storyboard.engine.lastframe import LastFrames
from storyboard.engine.outcome import Event, ShotOutcome
from storyboard.engine.pacing import PollPolicy, RateWindow
from storyboard.engine.plan import Plan, ShotJob
from storyboard.engine.service import SYSTEM_CLOCK, Clock, VideoService
from storyboard.engine.settle import Cached, Force, Generate, Refused, Resume, is_forced
from storyboard.engine.states import HAS_TASK, ON_SERVICE, READY, UNUSABLE, State
from storyboard.engine.verify import Verifier, verify_download
from storyboard.errors import (
    APIError,
    AuthenticationError,
    InsufficientBalanceError,
    NotFoundError,
    RenderInterrupted,
    StoryboardError,
)
from storyboard.seedance.results import TaskResult
from storyboard.seedance.wire import CreateBody, with_media_url
from storyboard.store.cache import CachedClip, ClipOrigin
from storyboard.store.journal import Journal
from storyboard.store.locks import Locks
from storyboard.store.tiered import ClipStore

__all__ = ["MAX_POLL_FAILURES", "Event", "PollPolicy", "Scheduler", "ShotOutcome"]

log = logging.getLogger(__name__)

_FATAL = (AuthenticationError, InsufficientBalanceError)
MAX_POLL_FAILURES = 6  # consecutive failed poll rounds before we stop and leave tasks journaled


class Scheduler:
    """Runs every job of `plan` to a terminal state."""

    def __init__(
        self,
        plan: Plan,
        *,
        service: VideoService,
        cache: ClipStore,
        journal: Journal,
        max_in_flight: int,
        rate: tuple[int, float] | None = None,
        force: Force = None,
        poll: PollPolicy = PollPolicy(),
        on_event: Callable[[Event], None] = lambda _e: None,
        downloads: int = 3,
        clock: Clock = SYSTEM_CLOCK,
        last_frames: LastFrames | None = None,
        foreign: Mapping[str, str] | None = None,
        shard_timeout: float = SHARD_TIMEOUT,
        verify: Verifier = verify_download,
        timeout: float | None = None,
    ) -> None:
        self.plan = plan
        self.service, self.cache, self.journal = service, cache, journal
        self.max_in_flight = max(1, max_in_flight)
        self.rate = RateWindow(rate, clock)
        self.force = force
        self.poll = poll
        self.on_event = on_event
        self.clock = clock
        self.last_frames = last_frames or LastFrames(cache)
        self.verify = verify  # a download enters the cache only as a playable clip (and image)
        self._t0 = clock.monotonic()
        self.deadlines = Deadlines(self._t0, timeout)  # per task, and the whole render's --timeout
        self.outcomes = {job.id: ShotOutcome(job) for job in plan.jobs}
        self.polls = 0
        self._pool = ThreadPoolExecutor(max_workers=downloads, thread_name_prefix="download")
        self._downloads: dict[str, Future[CachedClip]] = {}
        self._sending: str | None = None  # shot whose create request is on its way
        # foreign: job id -> the shard ("i/n") that generates it; this one only waits for it
        self.claims = Claims(Locks.shared(cache.root / "locks"), clock, foreign=foreign, shard_timeout=shard_timeout)

    # -- public ----------------------------------------------------------------------------

    def run(self) -> dict[str, ShotOutcome]:
        """Drive every shot to cached/done/failed/blocked; returns the outcomes by shot id."""
        try:
            self._loop()
        except KeyboardInterrupt:
            raise self._interrupted("interrupted", cancel=True) from None
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self.claims.release_all()  # after the downloads: none writes without its claim
        return self.outcomes

    # -- loop ------------------------------------------------------------------------------

    def _loop(self) -> None:
        next_poll = 0.0
        poll_failures = 0
        while True:
            self._start_ready()
            self._collect_downloads()
            running = [o for o in self.outcomes.values() if o.state in ON_SERVICE]
            if not running and not self._downloads and not self._startable():
                break
            now = self.clock.monotonic()
            if self.deadlines.timed_out(now):  # like Ctrl-C: the tasks stay journaled
                raise self._interrupted(f"timed out after {self.deadlines.timeout:g} s", cancel=True)
            if running and now >= next_poll:
                if self._poll(running):
                    poll_failures = 0
                else:
                    poll_failures += 1
                    if poll_failures >= MAX_POLL_FAILURES:
                        raise self._interrupted("lost contact with the service")
                oldest = max(now - (o.submitted_at or now) for o in running)
                next_poll = self.clock.monotonic() + self.poll.interval(oldest)
            wake = next_poll if running else self.clock.monotonic() + 0.05
            retry = self.claims.next_try()  # a shot waits for a key another render holds
            if retry is not None:
                wake = min(wake, retry) if running else retry
            slot = self.rate.next_slot()
            if slot is not None and any(o.state == "queued" for o in self.outcomes.values()):
                wake = min(wake, slot)  # a create slot opens then
            wake = min(wake, self.deadlines.render_ends() or wake)
            pause = max(0.0, min(wake - self.clock.monotonic(), 1.0))
            if self._downloads:
                # wake as soon as a download ends (they run on threads, in real time)
                wait(self._downloads.values(), timeout=pause, return_when=FIRST_COMPLETED)
            else:
                self.clock.sleep(pause)

    def _emit(self, outcome: ShotOutcome, state: State, detail: str = "") -> None:
        outcome.state = state
        elapsed = self.clock.monotonic() - self._t0
        self.on_event(Event(outcome.job.id, state, round(elapsed, 3), outcome.task_id, detail))

    def _startable(self) -> bool:  # also a shot to mark blocked: the loop must not end before it is
        return any(o.state in ("waiting", "queued") and self._deps_state(o) != "wait" for o in self.outcomes.values())

    def _deps_state(self, outcome: ShotOutcome) -> Literal["ready", "wait", "blocked"]:
        states = [self.outcomes[d].state for d in outcome.job.depends_on]
        if any(s in UNUSABLE for s in states):
            return "blocked"
        return "ready" if all(s in READY for s in states) else "wait"

    def _in_flight(self) -> int:
        return sum(o.state in ON_SERVICE for o in self.outcomes.values())

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
            elif self.claims.waiting(outcome.job.id) and not self._needs_generating(outcome):
                continue  # another render still holds its key (or it is settled now)
            if self._in_flight() < self.max_in_flight and self.rate.allows():
                self._submit(outcome)
            elif outcome.state != "queued":
                self._emit(outcome, "queued")

    def _needs_generating(self, outcome: ShotOutcome) -> bool:
        """Settle a shot whose inputs are ready (again on its turn when another render holds its key):
        False when settled or waiting; True when it must be submitted — it then waits for a slot."""
        job = outcome.job
        if not self.claims.due(job.id):
            return False
        forced = is_forced(self.force, job.id)
        settled = self.claims.settle(job.id, job.cache_key, cache=self.cache, journal=self.journal, forced=forced)
        if isinstance(settled, Busy):
            if outcome.state != "queued":
                self._emit(outcome, "queued", settled.detail)
            return False
        if isinstance(settled, Cached):
            outcome.entry, outcome.source = settled.entry, "cache"
            outcome.task_id = settled.entry.meta.task_id
            self._emit(outcome, "cached")
        elif isinstance(settled, Resume):
            outcome.task_id, outcome.source = settled.entry.task_id, "resumed"
            age = max(0.0, time.time() - settled.entry.submitted_at)  # the journal keeps wall time
            outcome.submitted_at = self.clock.monotonic() - age
            self._emit(outcome, "resumed", "polling a task submitted by an earlier render")
        elif isinstance(settled, Refused):
            outcome.error = settled.error
            self._emit(outcome, "failed", str(settled.error))
        elif outcome.state == "queued":
            self._emit(outcome, "queued")  # claimed after waiting: now it waits for a slot only
        return isinstance(settled, Generate)

    def _body(self, job: ShotJob) -> CreateBody:
        """The job's request with every chained slot pointing at its upstream's last frame or clip."""
        body = job.request
        for frame in job.chained:
            up = self.outcomes[frame.upstream]
            assert up.entry is not None, "a shot starts only after its upstream is ready"
            if frame.is_clip:  # render() refused to start with a cached source whose URL is too old
                url = clip_url(up.entry, up.video_url, time.time())
            else:
                url, up.entry = self.last_frames.frame_url(up.entry, up.last_frame_url)
            body = with_media_url(body, frame.slot, url)
        return body

    def _submit(self, outcome: ShotOutcome) -> None:
        job = outcome.job
        body = self._body(job)
        # journaled before it is sent: whatever happens to the request or to this process, the
        # shot is then resumed or refused as uncertain, never silently paid for twice
        self.journal.record(job.cache_key, job.id, None, uncertain=True)
        self.rate.record()
        self._sending = job.id
        try:
            task_id = self.service.create(body)
        except APIError as exc:
            self._sending = None
            if not exc.maybe_submitted:
                self.journal.remove(job.cache_key)  # the service answered: no task was created
            if isinstance(exc, _FATAL):
                raise
            self.claims.release(job.id)
            outcome.error = exc
            self._emit(outcome, "failed", str(exc))
            return
        self._sending = None  # (left set by Ctrl-C on the way: the interruption names the shot)
        outcome.task_id, outcome.source = task_id, "generated"
        try:  # durable before we wait: a crash from here on resumes this task instead of paying again
            self.journal.record(job.cache_key, job.id, task_id)
        except OSError as exc:  # the uncertain entry stays: never sent again unless forced
            self.claims.release(job.id)
            outcome.error = unjournaled(task_id, job.id, exc)
            self._emit(outcome, "failed", str(outcome.error))
            return
        outcome.submitted_at = self.clock.monotonic()
        self._emit(outcome, "submitted")

    def _poll(self, running: list[ShotOutcome]) -> bool:
        ids = [o.task_id for o in running if o.task_id]
        self.polls += 1
        try:
            results = self.service.retrieve_batch(ids)
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
            return self.service.retrieve(outcome.task_id or "")
        except NotFoundError:
            self.journal.remove(outcome.job.cache_key)
            if outcome.source == "resumed":
                # the service never knew it or has forgotten it: nothing is running, submit anew
                outcome.task_id, outcome.source = None, ""
                self._emit(outcome, "queued", "journaled task unknown to the service; submitting again")
            else:
                self.claims.release(outcome.job.id)
                outcome.error = APIError(f"the service lost task {outcome.task_id}")
                self._emit(outcome, "failed", str(outcome.error))
            return None
        except APIError as exc:
            log.warning("polling %s failed: %s", outcome.task_id, exc)
            return None

    def _apply(self, outcome: ShotOutcome, result: TaskResult) -> None:
        if result.status in ("pending", "processing"):
            new_word = self.deadlines.new_word(result.raw_status)  # shown once, raw
            if (result.status == "processing" and outcome.state != "running") or new_word:
                self._emit(outcome, "running", new_word)
            overdue = self.deadlines.overdue(outcome.job, outcome.task_id, outcome.submitted_at, self.clock.monotonic())
            if overdue is not None:  # it stays journaled: maybe paid for, a later render may get it
                self.claims.release(outcome.job.id)
                outcome.error, outcome.finished_at = overdue, self.clock.monotonic()
                self._emit(outcome, "failed", str(overdue))
        elif result.status == "failed":
            self.journal.remove(outcome.job.cache_key)  # terminal: nothing left to resume
            self.claims.release(outcome.job.id)
            outcome.error = result.error or APIError("the task failed without a reason")
            outcome.finished_at = self.clock.monotonic()
            self._emit(outcome, "failed", str(outcome.error))
        elif result.status == "succeeded":
            outcome.finished_at = self.clock.monotonic()
            outcome.last_frame_url, outcome.video_url = result.last_frame_url, result.video_url
            self._emit(outcome, "downloading")
            self._downloads[outcome.job.id] = self._pool.submit(self._download, outcome, result)

    def _download(self, outcome: ShotOutcome, result: TaskResult) -> CachedClip:
        try:  # on a download thread, which releases the claim: after the put, or on failure
            return self._fetch(outcome, result)
        finally:
            self.claims.release(outcome.job.id)

    def _fetch(self, outcome: ShotOutcome, result: TaskResult) -> CachedClip:
        job = outcome.job
        staging = self.cache.staging_dir()
        clip = staging / f"{job.cache_key}.mp4"
        assert result.video_url is not None, "a succeeded result always has a video url"
        self.service.download(result.video_url, clip)
        frame = staging / f"{job.cache_key}.png"
        last = self.last_frames.after_download(job.request, clip, frame, result.last_frame_url, self.service.download)
        self.verify(clip, last)  # raises before the cache and the journal are touched
        origin = ClipOrigin(
            shot=job.id,
            task_id=outcome.task_id,
            model=job.model,
            tokens=result.tokens,
            seed=result.seed,
            service=self.plan.service,
            request_digest=dict(job.display_request()),
            created=time.time(),
            video_url=result.video_url,
            video_url_issued=issued_at(outcome.submitted_at, self.clock),
        )
        entry = self.cache.put(job.cache_key, clip, last, origin)
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

    def _interrupted(self, why: str, *, cancel: bool = False) -> RenderInterrupted:
        if cancel:
            self.service.cancel_downloads()  # the downloads stop at their next chunk
        running = {o.job.id: o.task_id for o in self.outcomes.values() if o.task_id and o.state in HAS_TASK}
        if running:
            listed = ", ".join(f"{shot} ({task})" for shot, task in running.items())
            message = (
                f"{why}; still running on the service: {listed}. They are journaled: run the "
                "same render again to pick them up without paying twice"
            )
        elif self._sending is not None:
            message = (
                f"{why} while the create request of shot {self._sending} was on its way; it is journaled as "
                f"uncertain: check the AceData console, then rerun with --force {self._sending} if no task runs for it"
            )
        else:
            message = f"{why}; no task was running on the service"
        return RenderInterrupted(running, message)

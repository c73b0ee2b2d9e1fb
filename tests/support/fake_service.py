"""An in-memory ``VideoService`` and a virtual clock, for unit tests of the engine.

Deterministic: task ids are ``t1, t2, …``; a task runs ``latency`` virtual seconds (a number, or
a function of its create body) and then succeeds — or fails, when ``fail`` says so for its body.
Sleeping on the ``FakeClock`` advances virtual time at once, so a render of many minutes runs
in milliseconds. Faults are queued per call: ``create_errors`` (raised by the next creates;
``lose_answers`` makes the task anyway and then raises the lost-answer error, as a dropped
connection after the body was sent would), ``poll_errors``, ``download_errors``; ``forget``
drops a task (the service answers 404 for it). Everything the engine asked is recorded.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from storyboard.errors import APIConnectionError, APIError, GenerationFailed, NotFoundError
from storyboard.seedance.results import TaskResult
from storyboard.seedance.wire import CreateBody

# the smallest valid PNG (1x1, grey): what a "last frame" download writes
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a4944415478da63680000000201016ea2f4a40000000049454e44ae426082"
)


def no_verify(clip: Path, frame: Path | None) -> None:
    """The scheduler's ``verify`` for this fake: its "clips" are text, not video (the real check,
    ``engine.verify``, is tested with real clips in tests/e2e)."""


class FakeClock:
    """Virtual monotonic time; ``sleep`` advances it at once. ``interrupt_at``: the first sleep
    that would pass that time raises KeyboardInterrupt (Ctrl-C or a crash at that moment)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.interrupt_at: float | None = None
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            if self.interrupt_at is not None and self.now + seconds >= self.interrupt_at:
                self.now = self.interrupt_at
                self.interrupt_at = None
                raise KeyboardInterrupt
            self.now += max(0.0, seconds)


@dataclass
class FakeTask:
    id: str
    body: CreateBody
    created: float
    done_at: float
    error: GenerationFailed | None


def prompt_of(body: CreateBody) -> str:
    first = body["content"][0]
    assert first["type"] == "text"
    return first["text"]


@dataclass
class FakeService:
    """A video service in memory (see the module docstring)."""

    clock: FakeClock
    latency: float | Callable[[CreateBody], float] = 30.0
    fail: Callable[[CreateBody], GenerationFailed | None] = lambda _body: None
    last_frames: bool = True
    """Whether a succeeded task that asked for its last frame gets a last_frame_url."""
    identity: str = "fake"
    status_word: str = ""
    """A status word never seen before, reported (as ``raw_status``) while a task runs."""
    tasks: dict[str, FakeTask] = field(default_factory=dict)
    create_errors: deque[APIError] = field(default_factory=deque)
    lose_answers: int = 0
    poll_errors: deque[APIError] = field(default_factory=deque)
    download_errors: deque[Exception] = field(default_factory=deque)
    # what the engine did
    creates: list[tuple[float, CreateBody]] = field(default_factory=list)
    polls: list[tuple[float, tuple[str, ...]]] = field(default_factory=list)
    single_retrieves: list[str] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)
    most_running: int = 0
    downloads_cancelled: bool = False

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    # -- VideoService ------------------------------------------------------------------

    def create(self, body: CreateBody) -> str:
        now = self.clock.monotonic()
        self.creates.append((now, body))
        if self.create_errors:
            raise self.create_errors.popleft()
        latency = self.latency(body) if callable(self.latency) else self.latency
        task = FakeTask(f"t{len(self.tasks) + 1}", body, now, now + latency, self.fail(body))
        self.tasks[task.id] = task
        self.most_running = max(self.most_running, self.running())
        if self.lose_answers:
            self.lose_answers -= 1
            error = APIConnectionError(
                "connection lost (ReadError) for /seedance/videos; the task may have been submitted"
            )
            error.maybe_submitted = True
            raise error
        return task.id

    def retrieve_batch(self, ids: Sequence[str]) -> Mapping[str, TaskResult]:
        self.polls.append((self.clock.monotonic(), tuple(ids)))
        if self.poll_errors:
            raise self.poll_errors.popleft()
        return {i: self._result(self.tasks[i]) for i in ids if i in self.tasks}

    def retrieve(self, task_id: str) -> TaskResult:
        self.single_retrieves.append(task_id)
        if task_id not in self.tasks:
            raise NotFoundError(f"task {task_id} not found", status=404, code="not_found")
        return self._result(self.tasks[task_id])

    def download(self, url: str, dest: Path) -> int:
        with self._lock:  # downloads run on worker threads
            self.downloads.append(url)
            if self.download_errors:
                raise self.download_errors.popleft()
        data = PNG if url.endswith(".png") else f"clip of {url}".encode()
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        return len(data)

    def cancel_downloads(self) -> None:
        self.downloads_cancelled = True

    # -- helpers for tests -------------------------------------------------------------

    def running(self) -> int:
        """Tasks the service is still working on at this virtual moment."""
        now = self.clock.monotonic()
        return sum(t.done_at > now for t in self.tasks.values())

    def forget(self, task_id: str) -> None:
        del self.tasks[task_id]

    def prompts(self) -> list[str]:
        """The prompt of every create request, in order."""
        return [prompt_of(body) for _, body in self.creates]

    def _result(self, task: FakeTask) -> TaskResult:
        if self.clock.monotonic() < task.done_at:
            return TaskResult(task_id=task.id, status="processing", raw_status=self.status_word)
        if task.error is not None:
            return TaskResult(task_id=task.id, status="failed", error=task.error)
        wants_frame = self.last_frames and task.body.get("return_last_frame", False)
        return TaskResult(
            task_id=task.id,
            status="succeeded",
            video_url=f"https://fake.test/{task.id}.mp4",
            last_frame_url=f"https://fake.test/{task.id}.png" if wants_frame else None,
            tokens=1000,
        )

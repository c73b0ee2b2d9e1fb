"""The seam between the engine and a video service, and the clock the engine waits by.

Owns: ``VideoService``, what the scheduler needs from a provider (create a task, retrieve a
batch of tasks or one, download a result and stop downloading, and the identity that goes into cache keys), and
``Clock`` (monotonic time and sleeping, injectable so a fake can run a render in virtual
time). ``SeedanceClient`` implements ``VideoService``; the unit tests use an in-memory fake.
Must not import the client, the store or anything of the engine.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from storyboard.seedance.results import TaskResult
from storyboard.seedance.wire import CreateBody

__all__ = ["SYSTEM_CLOCK", "Clock", "SystemClock", "VideoService"]


class VideoService(Protocol):
    """What the engine asks of a video generation service.

    Errors are those of ``storyboard.errors``: ``APIError`` (with ``maybe_submitted`` set when a
    create may have reached the service without an answer), ``NotFoundError`` for an unknown
    task, ``AuthenticationError`` / ``InsufficientBalanceError`` to stop everything,
    ``DownloadError`` for a file that could not be fetched.
    """

    @property
    def identity(self) -> str:
        """Who generates: part of every cache key, so one service's clips never stand in for
        another's."""
        ...

    def create(self, body: CreateBody) -> str:
        """Submit one generation; returns its task id. Never retried once the body was sent."""
        ...

    def retrieve(self, task_id: str) -> TaskResult:
        """The state of one task (``NotFoundError`` when the service does not know it)."""
        ...

    def retrieve_batch(self, ids: Sequence[str]) -> Mapping[str, TaskResult]:
        """The state of many tasks by id; ids the service leaves out are absent."""
        ...

    def download(self, url: str, dest: Path) -> int:
        """Fetch a result file to ``dest`` completely (or not at all); returns its size."""
        ...

    def cancel_downloads(self) -> None:
        """Stop the downloads in progress promptly (each raises ``DownloadError``); on Ctrl-C."""
        ...


class Clock(Protocol):
    """Monotonic seconds and sleeping."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK = SystemClock()

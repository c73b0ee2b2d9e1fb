"""How a render's progress is shown: a live table on a terminal, JSON lines, or nothing.

Owns: turning scheduler events into output for people (rich live view: per shot state and
elapsed time, plus an overall bar) or for scripts (`--json-events`: one JSON object per line).
Part of the command-line layer: only the CLI uses it.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from types import TracebackType
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.table import Table

from storyboard.engine.render import VideoEvent
from storyboard.engine.scheduler import Event
from storyboard.engine.states import TERMINAL, State

__all__ = ["JsonEvents", "LiveView", "Silent"]

_STYLE = {
    "waiting": "dim", "queued": "dim", "cached": "cyan", "submitted": "yellow",
    "resumed": "yellow", "running": "yellow", "downloading": "blue", "done": "green",
    "failed": "red", "blocked": "red",
}  # fmt: skip


class Silent:
    """--quiet: nothing while rendering."""

    def __call__(self, event: Event) -> None:
        del event

    def video(self, event: VideoEvent) -> None:
        del event

    def __enter__(self) -> Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class JsonEvents:
    """--json-events: one JSON line per state change, flushed at once."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def __call__(self, event: Event) -> None:
        record = {"event": "shot", "shot": event.shot, "state": event.state, "elapsed": event.elapsed}
        if event.task_id:
            record["task_id"] = event.task_id
        if event.detail:
            record["detail"] = event.detail
        self._write(record)

    def _write(self, record: dict[str, object]) -> None:
        stream = self.stream or sys.stdout  # looked up late: tests and callers swap sys.stdout
        stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        stream.flush()

    def video(self, event: VideoEvent) -> None:
        record = {"event": "video", "video": event.video, "state": event.state, "elapsed": event.elapsed}
        if event.detail:
            record["detail"] = event.detail
        self._write(record)

    def __enter__(self) -> JsonEvents:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class LiveView:
    """A live per-shot table on a terminal; plain lines when the console is not one.

    Events arrive from the scheduler's thread and from assembly workers while rich's refresh
    thread draws the table: every read and write of the state below holds ``_lock``.
    """

    def __init__(self, console: Console, shots: list[str]) -> None:
        self.console = console
        self.states: dict[str, tuple[State, float, str]] = {s: ("waiting", 0.0, "") for s in shots}
        self.started = {s: 0.0 for s in shots}
        self.videos: dict[str, tuple[str, float, float | None]] = {}  # name -> state, start, end
        self.t0 = time.monotonic()
        self.live: Live | None = None
        self._lock = threading.Lock()

    def _table(self) -> Group:
        with self._lock:
            states, started, videos = dict(self.states), dict(self.started), dict(self.videos)
        table = Table(box=None, pad_edge=False)
        for column in ("shot", "state", "time", "detail"):
            table.add_column(column, no_wrap=column != "detail")
        now = time.monotonic() - self.t0
        for shot, (state, elapsed, detail) in states.items():
            end = elapsed if state in TERMINAL else now
            since = max(0.0, end - started[shot])
            table.add_row(escape(shot), f"[{_STYLE[state]}]{state}[/]", f"{since:5.1f}s", escape(detail[:80]))
        for name, (vstate, start, finished) in videos.items():
            style = {"assembling": "blue", "done": "green"}.get(vstate, "red")
            shown = (now if finished is None else finished) - start
            table.add_row(escape(f"video {name}"), f"[{style}]{vstate}[/]", f"{shown:5.1f}s", "")
        done = sum(s in TERMINAL for s, _, _ in states.values())
        bar = ProgressBar(total=len(states), completed=done, width=40)
        return Group(table, bar)

    def video(self, event: VideoEvent) -> None:
        """Assembly progress (called from assembly worker threads)."""
        with self._lock:
            start = self.videos.get(event.video, ("", event.elapsed, None))[1]
            self.videos[event.video] = (event.state, start, None if event.state == "assembling" else event.elapsed)
        if self.live is None:
            self.console.print(f"{event.elapsed:7.1f}s video {event.video}: {event.state}", markup=False)

    def __call__(self, event: Event) -> None:
        with self._lock:
            if event.state in ("submitted", "resumed"):
                self.started[event.shot] = event.elapsed
            self.states[event.shot] = (event.state, event.elapsed, event.detail)
        if self.live is None:
            detail = f" {event.detail}" if event.detail else ""
            task = f" task {event.task_id}" if event.task_id and event.state in ("submitted", "resumed") else ""
            self.console.print(f"{event.elapsed:7.1f}s {event.shot}: {event.state}{task}{detail}", markup=False)

    def __enter__(self) -> LiveView:
        if self.console.is_terminal:
            # get_renderable: the clock column keeps ticking between events
            self.live = Live(console=self.console, refresh_per_second=4, get_renderable=self._table)
            self.live.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.live is not None:
            self.live.refresh()
            self.live.__exit__(exc_type, exc, tb)

"""The submission journal: every paid-for task id, durable before we start waiting for it.

Owns: one small JSON file per cache key under ``<cache root>/journal/`` recording the task id
the service gave for that request (or that a create request may have reached the service
without an answer). It is written with fsync *before* polling starts, so a render that crashed,
was killed or lost the network resumes polling the recorded task instead of paying again. An
entry is removed once its clip is in the cache. Renders sharing the cache write a key's entry
only while holding the key's claim (``store.locks``; the scheduler's rule), each write through
its own temporary file (``atomic``), so a reader sees a whole entry or none. Must not import
plan, render, client or CLI.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from storyboard.store.atomic import write_atomic

__all__ = ["Journal", "JournalEntry"]


@dataclass(frozen=True)
class JournalEntry:
    """A task the service may be working on for cache key `key`."""

    key: str
    shot: str
    state: Literal["submitted", "uncertain"]
    """submitted: we hold its task id. uncertain: a create request got no answer after it was sent."""
    task_id: str | None
    submitted_at: float


class Journal:
    """Submitted tasks by cache key, stored in `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _file(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def get(self, key: str) -> JournalEntry | None:
        try:
            data = json.loads(self._file(key).read_text(encoding="utf-8"))
            return JournalEntry(**data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError):
            # an unreadable entry can only come from a crash mid-write, which write_atomic
            # prevents; treat it as absent rather than block the shot forever
            return None

    def record(self, key: str, shot: str, task_id: str | None, *, uncertain: bool = False) -> JournalEntry:
        """Durably note a submission (fsynced before this returns)."""
        entry = JournalEntry(key, shot, "uncertain" if uncertain else "submitted", task_id, time.time())
        write_atomic(self._file(key), json.dumps(asdict(entry)).encode())
        return entry

    def remove(self, key: str) -> None:
        self._file(key).unlink(missing_ok=True)

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
    """submitted: we hold its task id. uncertain: a create request got no answer after it was sent
    (or is on its way), or the entry could not be read: then ``shot`` is empty (``unreadable``)."""
    task_id: str | None
    submitted_at: float

    @property
    def unreadable(self) -> bool:
        """The entry's file exists but could not be read: counted as uncertain."""
        return not self.shot


class Journal:
    """Submitted tasks by cache key, stored in `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _file(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def get(self, key: str) -> JournalEntry | None:
        """The readable entry for `key`; None when there is none or it cannot be read."""
        entry = self.lookup(key)
        return None if entry is None or entry.unreadable else entry

    def lookup(self, key: str) -> JournalEntry | None:
        """What a render must respect for `key`: the entry, an *unreadable* uncertain stand-in
        for a file that exists but cannot be read, or None when there is no file."""
        path = self._file(key)
        try:
            entry = JournalEntry(**json.loads(path.read_text(encoding="utf-8")))
            if entry.state in ("submitted", "uncertain"):
                return entry
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError):
            pass
        # unreadable (a crash mid-write on a file system that broke write_atomic's promise, a
        # disk error): a create may have been paid for, so it counts as uncertain, never absent
        try:
            when = path.stat().st_mtime
        except OSError:
            when = time.time()
        return JournalEntry(key, "", "uncertain", None, when)

    def record(self, key: str, shot: str, task_id: str | None, *, uncertain: bool = False) -> JournalEntry:
        """Durably note a submission (fsynced before this returns)."""
        entry = JournalEntry(key, shot, "uncertain" if uncertain else "submitted", task_id, time.time())
        write_atomic(self._file(key), json.dumps(asdict(entry)).encode())
        return entry

    def remove(self, key: str) -> None:
        self._file(key).unlink(missing_ok=True)

"""What a render does with a shot whose inputs are ready — asked once, by the run and the dry run.

Owns: the order of the questions (cached? a journaled task to resume? an uncertain create to
refuse? else generate) and what ``--force`` changes (it skips the cache, never a journaled task:
that one is paid for already). Reads the cache and the journal; writes nothing. Must not import
the scheduler, render or the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from storyboard.errors import APIError
from storyboard.store.cache import Cache, CachedClip
from storyboard.store.journal import Journal, JournalEntry

__all__ = ["Cached", "Force", "Generate", "Refused", "Resume", "Settlement", "is_forced", "settle"]

Force = set[str] | Literal[True] | None
"""--force: every shot (True), the named job ids, or none."""


def is_forced(force: Force, shot: str) -> bool:
    return force is True or (isinstance(force, set) and shot in force)


UNCERTAIN_CREATE = (
    "an earlier create request for this shot was sent but got no answer, so the service may be generating it already"
)


@dataclass(frozen=True)
class Cached:
    """The clip is in the cache: free."""

    entry: CachedClip


@dataclass(frozen=True)
class Resume:
    """A task submitted by an earlier render is journaled: poll it, free."""

    entry: JournalEntry


@dataclass(frozen=True)
class Refused:
    """An earlier create may have reached the service unanswered: not sent again unless forced."""

    error: APIError


@dataclass(frozen=True)
class Generate:
    """Nothing to reuse: submitting it costs money."""


Settlement = Cached | Resume | Refused | Generate


def settle(key: str, *, cache: Cache, journal: Journal, forced: bool) -> Settlement:
    """How the shot with cache key `key` is settled before anything is sent."""
    if not forced:
        entry = cache.get(key)
        if entry is not None:
            return Cached(entry)
    journaled = journal.get(key)
    if journaled is not None and journaled.state == "submitted" and journaled.task_id:
        return Resume(journaled)
    if journaled is not None and journaled.state == "uncertain" and not forced:
        error = APIError(UNCERTAIN_CREATE)
        error.maybe_submitted = True
        return Refused(error)
    return Generate()

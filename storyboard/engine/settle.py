"""What a render does with a shot whose inputs are ready — asked once, by the run and the dry run.

Owns: the order of the questions (cached? a journaled task to resume? an uncertain create to
refuse? else generate) and what ``--force`` changes (it skips the cache, never a journaled task:
that one is paid for already). Reads the cache and the journal and writes neither, except that a
cache with a remote behind it stores what it pulls (a hit is a hit, wherever it was found).
Must not import the scheduler, render or the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from storyboard.engine.plan import Plan, ShotJob
from storyboard.errors import APIError
from storyboard.store.cache import CachedClip
from storyboard.store.journal import Journal, JournalEntry
from storyboard.store.tiered import ClipStore

__all__ = [
    "Blocked", "Cached", "Force", "Generate", "Planned", "Refused", "Resume", "Settlement", "is_forced", "settle",
    "settle_plan",
]  # fmt: skip

Force = set[str] | Literal[True] | None
"""--force: every shot (True), the named job ids, or none."""


def is_forced(force: Force, shot: str) -> bool:
    return force is True or (isinstance(force, set) and shot in force)


UNCERTAIN_CREATE = (
    "an earlier create request for this shot was sent but got no answer, so the service may be generating it already"
)


UNREADABLE_ENTRY = (
    "its journal entry is unreadable (cut short by a crash or a disk error), so a task may have been paid for already"
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


@dataclass(frozen=True)
class Blocked:
    """It takes a frame from a shot that is refused (or itself blocked): it will not be sent."""

    upstream: tuple[str, ...]


Settlement = Cached | Resume | Refused | Generate
Planned = Settlement | Blocked


def settle(key: str, *, cache: ClipStore, journal: Journal, forced: bool) -> Settlement:
    """How the shot with cache key `key` is settled before anything is sent."""
    if not forced:
        entry = cache.get(key)
        if entry is not None:
            return Cached(entry)
    journaled = journal.lookup(key)  # an unreadable entry is uncertain, never absent
    if journaled is not None and journaled.state == "submitted" and journaled.task_id:
        return Resume(journaled)
    if journaled is not None and journaled.state == "uncertain" and not forced:
        error = APIError(UNREADABLE_ENTRY if journaled.unreadable else UNCERTAIN_CREATE)
        error.maybe_submitted = True
        return Refused(error)
    return Generate()


def settle_plan(plan: Plan, *, cache: ClipStore, journal: Journal, force: Force) -> list[tuple[ShotJob, Planned]]:
    """What a render would do with every job of `plan`, before anything is sent: each job as
    ``settle`` answers, except that a job taking a frame from a refused or blocked one is
    blocked, as the scheduler blocks it (the dry run and the budget check read this)."""
    out: list[tuple[ShotJob, Planned]] = []
    unusable: set[str] = set()
    for job in plan.jobs:
        ups = tuple(d for d in job.depends_on if d in unusable)
        planned: Planned = (
            Blocked(ups)
            if ups
            else settle(job.cache_key, cache=cache, journal=journal, forced=is_forced(force, job.id))
        )
        if isinstance(planned, Refused | Blocked):
            unusable.add(job.id)
        out.append((job, planned))
    return out

"""Which render works on a shot when several renders share one cache: claims on cache keys.

Owns the rule for renders on one machine with one cache directory: only the holder of a cache
key's claim (``store.locks``) creates its task, polls and downloads it — a journaled task too —
and writes its journal and cache entries. A ready shot is settled as always (``settle``); when
the answer is to generate or to resume, the key is claimed first and ``settle`` is asked again
under the claim, because another render may have cached the clip or journaled a task meanwhile:
that is then used, never created again. A shot whose key another render holds waits (queued,
"another render is generating it"), is tried again every ``CLAIM_RETRY`` seconds on the
scheduler's loop without blocking the other shots, and once it gets the claim is settled again:
cached (the other render finished it), resumed (the other render was killed: the kernel dropped
its claim, and its journaled task is adopted, not paid again), refused or generated (it died
before the service answered its create, or its shot failed). A claim is held until the clip is
in the cache or the shot failed, and is released on any thread (a download worker finishes
the work). A forced shot that waited takes the clip the other render made during this render
rather than paying for it a second time. Must not import the scheduler, render or the CLI.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from storyboard.engine.service import Clock
from storyboard.engine.settle import Cached, Generate, Refused, Settlement, settle
from storyboard.errors import APIError
from storyboard.store.journal import Journal
from storyboard.store.locks import Claim, Locks
from storyboard.store.tiered import ClipStore

__all__ = ["CLAIM_RETRY", "OTHER_RENDER", "SHARD_RETRY", "SHARD_TIMEOUT", "Busy", "Claims"]

CLAIM_RETRY = 0.5
"""Seconds between two tries of a key another render holds (a try is one ``flock`` call)."""
OTHER_RENDER = "another render is generating it"
SHARD_RETRY = 2.0
"""Seconds between two looks for a shot another shard generates (one remote lookup each)."""
SHARD_TIMEOUT = 3600.0
"""How long a shard waits for a shot another shard generates before failing its videos."""


@dataclass(frozen=True)
class Busy:
    """Another render holds the shot's key (or another shard makes it): wait, then settle again."""

    detail: str = OTHER_RENDER


class Claims:
    """The keys one render holds, by shot id, and its shots waiting for keys others hold."""

    def __init__(
        self,
        locks: Locks,
        clock: Clock,
        *,
        retry: float = CLAIM_RETRY,
        foreign: Mapping[str, str] | None = None,
        shard_timeout: float = SHARD_TIMEOUT,
    ) -> None:
        self.locks, self.clock, self.retry = locks, clock, retry
        self.foreign = dict(foreign or {})  # shot id -> "i/n" of the shard that generates it
        self.shard_timeout = shard_timeout
        self._foreign_since: dict[str, float] = {}
        self.started = time.time()  # wall time, as cache entries record theirs
        self._held: dict[str, Claim] = {}
        self._waiting: dict[str, float] = {}  # shot id -> when to try its key again (monotonic)
        self._mutex = threading.Lock()  # claims are released on download threads

    def settle(self, shot: str, key: str, *, cache: ClipStore, journal: Journal, forced: bool) -> Settlement | Busy:
        """``settle`` for a render that shares its cache: generate or resume only under a claim."""
        settled = settle(key, cache=cache, journal=journal, forced=forced)
        if isinstance(settled, Cached):
            self._waiting.pop(shot, None)
            return settled
        if shot in self.foreign:
            return self._wait_for_shard(shot)
        # an uncertain entry may be the holder's own, written just before it sends its create:
        # only under the claim does it mean a render died with its request on the way
        claim = self.locks.try_claim(key)
        if claim is None:
            self._waiting[shot] = self.clock.monotonic() + self.retry
            return Busy()
        waited = self._waiting.pop(shot, None) is not None
        settled = settle(key, cache=cache, journal=journal, forced=forced)  # what did the last holder leave?
        if forced and waited and isinstance(settled, Generate):
            entry = cache.get(key)
            if entry is not None and entry.meta.created >= self.started:
                settled = Cached(entry)  # made by the render we waited for, after this one started
        if isinstance(settled, Cached | Refused):
            claim.release()
        else:
            with self._mutex:
                self._held[shot] = claim
        return settled

    def _wait_for_shard(self, shot: str) -> Busy | Refused:
        """Another shard generates `shot`: look for it in the (shared) cache every SHARD_RETRY s."""
        now = self.clock.monotonic()
        since = self._foreign_since.setdefault(shot, now)
        shard = self.foreign[shot]
        if now - since >= self.shard_timeout:
            self._waiting.pop(shot, None)
            return Refused(
                APIError(
                    f"shard {shard} did not put it in the shared cache within {self.shard_timeout:g} s "
                    f"(see that shard's run; this shard generates only its own shots)"
                )
            )
        self._waiting[shot] = now + SHARD_RETRY
        return Busy(f"generated by shard {shard}; waiting for it in the shared cache")

    def waiting(self, shot: str) -> bool:
        """Whether `shot` waits for a key another render holds."""
        return shot in self._waiting

    def due(self, shot: str) -> bool:
        """Whether `shot` may be settled now (not waiting, or its next try has come)."""
        return self._waiting.get(shot, 0.0) <= self.clock.monotonic()

    def next_try(self) -> float | None:
        """When the first waiting shot tries its key again (None: none waits)."""
        return min(self._waiting.values(), default=None)

    def release(self, shot: str) -> None:
        """Give up `shot`'s claim (its clip is cached, or it failed); fine when none is held."""
        with self._mutex:
            claim = self._held.pop(shot, None)
        if claim is not None:
            claim.release()

    def release_all(self) -> None:
        with self._mutex:
            held, self._held = list(self._held.values()), {}
        for claim in held:
            claim.release()

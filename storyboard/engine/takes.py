"""Takes: several candidates of one shot, each its own job with its own seed, and which one is picked.

Owns: a take's job id (take 1 is the shot's own id, take k is ``<shot>#k``: ``#`` cannot occur in
a shot id, so it never collides), its seed and the pick rule. Take 1 sends the shot's request
unchanged, so adding ``takes:`` to a shot keeps the clip (cache key, lockfile block) it already
has, and ``takes: 1`` changes nothing. Take k ≥ 2 of a shot with ``seed: S`` sends S+k-1; of a
shot without a fixed seed (none, or -1), a seed derived from take 1's cache key — the same on
every render, so each take is cached like any shot. The pick is the lockfile's when it lies
within the shot's takes, else take 1. Pure. Must not import the scheduler, render or the CLI.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

__all__ = ["SEED_RANGE", "TAKE_MARK", "picked_take", "take_id", "take_seed"]

TAKE_MARK = "#"
SEED_RANGE = 4294967296  # seeds are 0 … 4294967295 (docs/protocol.md §1.2)


def take_id(shot: str, take: int) -> str:
    """The job id of take `take` of `shot`: ``shot`` for take 1, ``shot#k`` for take k."""
    return shot if take == 1 else f"{shot}{TAKE_MARK}{take}"


def take_seed(seed: int | None, take: int, first_key: str) -> int | None:
    """The seed take `take` sends; `seed` is the shot's own, `first_key` take 1's cache key."""
    if take == 1:
        return seed
    if seed is not None and seed >= 0:
        return (seed + take - 1) % SEED_RANGE
    digest = hashlib.sha256(f"{first_key}/take/{take}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def picked_take(picks: Mapping[str, int], shot: str, takes: int) -> int:
    """The take of `shot` the video uses: the pick when it is one of the shot's takes, else 1."""
    pick = picks.get(shot, 1)
    return pick if 1 <= pick <= takes else 1

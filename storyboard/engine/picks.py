"""Picking a take: what ``storyboard pick`` checks, the lockfile it writes, and what the pick changes.

Owns: the checks of a pick (a shot of the storyboard, one that has takes, a take in 1..N), the
lockfile with the pick recorded (take 1, the default, is recorded by having no pick; picks in
storyboard order), the jobs a pick changes (the shots that chain from the picked shot get a new
cache key: the next render makes them; nothing else changes but the video), and the warning for
a lockfile pick that lies beyond the shot's current takes (the plan uses take 1 then). The
lockfile's format is ``store.lockfile``'s. Pure. Must not import the CLI, the scheduler or render.
"""

from __future__ import annotations

import dataclasses

from storyboard.engine.plan import Plan, ShotJob
from storyboard.engine.variants import Batch
from storyboard.errors import ConfigError, Issue
from storyboard.store.lockfile import Lockfile

__all__ = ["changed_jobs", "stale_picks", "with_pick"]


def _takes(plan: Plan) -> dict[str, int]:
    """Each shot's number of takes, in storyboard order."""
    return {j.shot: j.takes for j in plan.jobs}


def with_pick(batch: Batch, lock: Lockfile, shot: str, take: int) -> Lockfile:
    """`lock` with take `take` of `shot` picked; ConfigError (one line, ``pick: ...``) when the
    storyboard has no such shot, the shot has no takes, or the take is not one of them."""
    takes = _takes(batch.variants[0].plan)
    problem = None
    if shot not in takes:
        problem = f'unknown shot "{shot}" (shots: {", ".join(takes)})'
    elif takes[shot] == 1:
        problem = f'shot "{shot}" has no takes ({_no_takes_hint(lock, shot)})'
    elif not 1 <= take <= takes[shot]:
        problem = f'take {take} is out of range: shot "{shot}" has takes 1 to {takes[shot]}'
    if problem is not None:
        raise ConfigError([Issue("pick", 0, 0, "", problem)])
    picks = {**lock.pick_map, shot: take}
    ordered = tuple((s, picks[s]) for s in takes if picks.get(s, 1) != 1)
    # a pick of a shot the storyboard no longer has stays until a render drops it, as its block does
    ordered += tuple(p for p in lock.picks if p[0] not in takes)
    return dataclasses.replace(lock, picks=ordered)


def _no_takes_hint(lock: Lockfile, shot: str) -> str:
    """What to do about a pick of a shot without takes: a render with ``--takes N`` left N takes
    in the lockfile (job ids ``shot``, ``shot#2``, ...), and pick needs that ``--takes`` too."""
    rendered = max((s.take or 1 for s in lock.shots if s.id.split("#")[0] == shot), default=1)
    if rendered > 1:
        return f"it was rendered with {rendered} takes: pick with --takes {rendered}, as the render was"
    return "give it takes: N, render, then pick one"


def changed_jobs(before: Plan, after: Plan) -> list[ShotJob]:
    """Jobs of `after` that `before` did not have: what a changed pick makes the next render create."""
    keys = {j.cache_key for j in before.jobs}
    return [j for j in after.jobs if j.cache_key not in keys]


def stale_picks(plan: Plan, lock: Lockfile | None, label: str) -> list[Issue]:
    """A warning for each pick of `lock` (named `label`) beyond its shot's takes: the plan used take 1."""
    if lock is None:
        return []
    takes = _takes(plan)
    return [
        Issue(label, 0, 0, f"picks.{shot}", f'picks take {take}, but shot "{shot}" has {takes[shot]} take'
              f"{'s' if takes[shot] != 1 else ''} now: the video uses take 1 (the pick is kept)", "warning")
        for shot, take in lock.picks
        if shot in takes and take > takes[shot]
    ]  # fmt: skip

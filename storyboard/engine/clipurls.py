"""The 24-hour rule: a `from:` reference sends an earlier shot's clip by its service URL while it lives.

Owns: how long a clip URL the service issued stays usable (AceData copies Ark's file, whose link
expires after 24 hours, docs/protocol.md §1.5), when a URL was issued (conservatively: when its
task was submitted, which is never later), which URL a dependant sends (this run's fresh one,
else the cached one while still valid), and the check made before anything is sent: a shot that
must be generated from a cached clip whose URL is too old (or was never recorded) stops the
render with one line saying what to do. Must not import the scheduler, render or the CLI.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from storyboard.engine.plan import Plan, ShotJob
from storyboard.engine.service import Clock
from storyboard.engine.settle import Cached, Generate, Planned
from storyboard.errors import StoryboardError
from storyboard.store.cache import CachedClip

__all__ = ["URL_LIFETIME", "URL_MARGIN", "check_clip_sources", "clip_url", "issued_at"]

URL_LIFETIME = 24 * 3600.0
# the service fetches a reference when the task starts, which may be a while after the create
# (a queue): a URL with less than this left is treated as expired already
URL_MARGIN = 3600.0


def issued_at(submitted: float | None, clock: Clock) -> float:
    """Wall time no later than the issue of a task's result URL: when the task was submitted
    (``submitted`` is on ``clock``'s monotonic scale), else now."""
    age = 0.0 if submitted is None else max(0.0, clock.monotonic() - submitted)
    return time.time() - age


def _cached_url(entry: CachedClip, now: float) -> str | None:
    meta = entry.meta
    if meta.video_url is None or meta.video_url_issued is None:
        return None
    return meta.video_url if now - meta.video_url_issued < URL_LIFETIME - URL_MARGIN else None


def clip_url(entry: CachedClip, fresh: str | None, now: float) -> str:
    """The URL a dependant sends for `entry`'s clip: this run's, else the cached one while valid."""
    url = fresh or _cached_url(entry, now)
    if url is None:  # check_clip_sources() ran before the render: only a render of a day gets here
        raise StoryboardError(f"the service URL of shot {entry.meta.shot}'s clip expired during the render")
    return url


def _stale(job: ShotJob, upstream: str, entry: CachedClip, now: float) -> str:
    issued = entry.meta.video_url_issued
    if entry.meta.video_url is None or issued is None:
        age = "was not recorded (the clip came from an older cache entry or another tool)"
    else:
        age = f"was issued {(now - issued) / 3600:.0f} h ago (it lasts {URL_LIFETIME / 3600:.0f} h)"
    return (
        f"shot {job.id} sends shot {upstream}'s clip as a reference video, but its service URL {age}; "
        f"run with --force {upstream} to generate it again, or give the clip as url: (nothing was sent)"
    )


def check_clip_sources(plan: Plan, settled: Iterable[tuple[ShotJob, Planned]], now: float) -> None:
    """Raise before anything is sent when a shot to generate needs a cached clip's expired URL."""
    settlements = dict((job.id, s) for job, s in settled)
    for job in plan.jobs:
        if not isinstance(settlements.get(job.id), Generate):
            continue
        for slot in job.chained:
            up = settlements.get(slot.upstream)
            if slot.is_clip and isinstance(up, Cached) and _cached_url(up.entry, now) is None:
                raise StoryboardError(_stale(job, slot.upstream, up.entry, now))

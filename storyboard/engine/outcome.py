"""What the scheduler reports about each shot: its state changes (``Event``) and where it ended
(``ShotOutcome``).

Owns the two records the scheduler, the report, the hints and the CLI's progress read. Pure data.
Must not import the scheduler, render or the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass

from storyboard.engine.plan import ShotJob
from storyboard.engine.states import Source, State
from storyboard.store.cache import CachedClip

__all__ = ["Event", "ShotOutcome"]


@dataclass(frozen=True)
class Event:
    """One state change of one shot."""

    shot: str
    state: State
    elapsed: float
    task_id: str | None = None
    detail: str = ""


@dataclass
class ShotOutcome:
    """Where one shot ended up, and the facts for the report."""

    job: ShotJob
    state: State = "waiting"
    task_id: str | None = None
    entry: CachedClip | None = None
    error: Exception | None = None
    source: Source = ""
    last_frame_url: str | None = None  # fresh from the service this run (valid ~24 h)
    video_url: str | None = None  # the clip's service URL, fresh this run (valid 24 h): what `from:` sends
    submitted_at: float | None = None
    finished_at: float | None = None

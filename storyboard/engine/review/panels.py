"""The review page's model: one typed panel per shot, built from the engine's records.

Owns: ``Review`` (the video, its failure if any, the totals) and ``Panel`` (one shot: prompt,
model, size, duration, tokens, cost, state, chaining, failure, takes) and building them from a
render's records — the report lines (``report.shot_report``) for shots that have a clip, the
scheduler's outcome for those that do not, the lockfile for "locked". A shot lists its takes
(``Take``); a render makes one take per shot. Pure: no files written, nothing rendered. Must
not import the CLI or assembly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from storyboard.engine import report
from storyboard.engine.lockfile import lock_state
from storyboard.engine.plan import ShotJob
from storyboard.engine.scheduler import ShotOutcome
from storyboard.engine.states import UNUSABLE
from storyboard.seedance.capabilities import PRICE_CURRENCY
from storyboard.store.lockfile import Lockfile

__all__ = ["Chain", "Panel", "PanelState", "Review", "Take", "panel", "pick_command"]

PanelState = Literal["generated", "shared", "cached", "locked", "failed", "blocked", "not finished"]
"""generated: paid by this video this render; shared: generated this render for an earlier
variant; cached: from the cache, free; locked: from the cache and as the lockfile pins it."""


@dataclass(frozen=True)
class Take:
    """One generated clip of a shot."""

    number: int
    """1-based, as ``storyboard pick`` names it."""
    clip: Path
    """The clip in the cache (the page links a copy of it)."""
    clip_sha256: str
    seconds: float
    chosen: bool
    """The take the video uses."""


@dataclass(frozen=True)
class Chain:
    """A frame of this shot that is another shot's last frame."""

    upstream: str
    role: str
    """first_frame / last_frame: where in this shot the upstream's last frame goes."""


@dataclass(frozen=True)
class Panel:
    """One shot on the review page."""

    index: int
    id: str
    prompt: str
    model: str
    width: int
    height: int
    seconds: float
    tokens: int
    tokens_reported: bool
    """False: `tokens` is the estimate (the service did not say, or nothing was generated)."""
    cost: float | None
    """Estimated cost of generating the shot (None: the model has no published price)."""
    state: PanelState
    error: str | None
    chains: tuple[Chain, ...]
    continues_previous: bool
    """Starts on the previous panel's last frame: the page draws an arrow between the two."""
    takes: tuple[Take, ...]
    task_id: str | None = None

    @property
    def chosen(self) -> Take | None:
        return next((t for t in self.takes if t.chosen), None)


@dataclass(frozen=True)
class Review:
    """Everything the review page of one video shows."""

    name: str
    storyboard: Path
    output: Path
    """The video's path (the page sits beside it); it may not exist when `error` is set."""
    error: str | None
    """Why the video was not made (shots failed, or assembly did); None when it was."""
    preview: bool
    panels: tuple[Panel, ...]
    seconds: float
    """Wall time of this render for this video."""
    currency: str = PRICE_CURRENCY

    @property
    def tokens_paid(self) -> int:
        return sum(p.tokens for p in self.panels if p.state == "generated")

    @property
    def cost_paid(self) -> float | None:
        paid = [p.cost for p in self.panels if p.state == "generated"]
        return None if any(c is None for c in paid) else sum(c for c in paid if c is not None)

    def count(self, *states: PanelState) -> int:
        return sum(p.state in states for p in self.panels)


def pick_command(storyboard: Path, shot: str, take: int) -> str:
    """The command that makes `take` the one the video uses."""
    return f"storyboard pick {storyboard} {shot} {take}"


def _prompt(job: ShotJob) -> str:
    return "\n".join(item["text"] for item in job.request["content"] if item["type"] == "text")


def _state(line: report.ShotReport, outcome: ShotOutcome, lock: Lockfile | None) -> PanelState:
    if line.source == "cache":
        return "locked" if lock_state(outcome.job.id, outcome.job.cache_key, lock) == "locked" else "cached"
    return "shared" if line.source == "shared" else "generated"


def panel(
    job: ShotJob,
    outcome: ShotOutcome,
    *,
    previous: str | None,
    owned: bool,
    outcomes: Mapping[str, ShotOutcome],
    lock: Lockfile | None,
) -> Panel:
    """The panel of `job` (a job of the video's own plan, by its shot id) after a render.

    `outcome` is the scheduler's (its job is the batch's); `previous`: the id of the shot before
    it; `owned`: this video pays for it; `outcomes`: every shot of the video, by shot id.
    """
    chains = tuple(Chain(c.upstream, c.role) for c in job.chained)
    firsts = [c.upstream for c in chains if c.role == "first_frame"]
    tokens, reported = job.estimated_tokens, False
    takes: tuple[Take, ...] = ()
    state: PanelState
    error: str | None = None
    if outcome.entry is not None:
        line = report.shot_report(job, outcome, owned=owned)
        state = _state(line, outcome, lock)
        tokens, reported = (line.tokens, True) if line.tokens is not None else (line.estimated_tokens, False)
        takes = (Take(1, Path(line.clip), line.clip_sha256, line.seconds, chosen=True),)
    elif outcome.state == "failed":
        state, error = "failed", str(outcome.error or "failed")
    elif outcome.state in UNUSABLE:
        ups = [d for d in job.depends_on if outcomes[d].entry is None]
        state, error = "blocked", f"not generated: it needs {', '.join(ups)}, which did not finish"
    else:
        state, error = "not finished", "the render stopped before this shot finished"
    return Panel(
        index=job.index, id=job.id, prompt=_prompt(job), model=job.model, width=job.width, height=job.height,
        seconds=job.seconds, tokens=tokens, tokens_reported=reported, cost=job.estimated_cost, state=state,
        error=error, chains=chains, continues_previous=previous is not None and firsts == [previous], takes=takes,
        task_id=outcome.task_id,
    )  # fmt: skip

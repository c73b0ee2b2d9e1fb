"""The review page's model: one typed panel per shot, built from the engine's records.

Owns: ``Review`` (the video, its failure if any, the totals) and ``Panel`` (one shot: prompt,
model, size, duration, tokens, cost, state, chaining, failure, takes) and building them from a
render's records — the report lines (``report.shot_report``) for shots that have a clip, the
scheduler's outcome for those that do not, the lockfile for "locked". A shot lists its takes
(``Take``); a render makes one take per shot. Pure: no files written, nothing rendered. Must
not import the CLI or assembly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from storyboard.engine import report
from storyboard.engine.lockfile import lock_state
from storyboard.engine.plan import ShotJob
from storyboard.engine.scheduler import ShotOutcome
from storyboard.engine.states import PAID_THIS_RUN, UNUSABLE
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
    seed: int | None = None
    """The seed the service reported (else the one requested; None: neither is known)."""
    paid: bool = False
    """Generated, and paid for, by this video in this render."""
    tokens: int = 0
    """As the service reported them (else the estimate)."""
    cost: float | None = None
    """Estimated cost of generating it (None: the model has no published price)."""


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
    missing_takes: tuple[str, ...] = ()
    """Candidate takes without a clip this time, each as "take N: why"."""

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
    def _paid(self) -> list[Take]:
        return [t for p in self.panels for t in p.takes if t.paid]  # every take counts: each was a task

    @property
    def tokens_paid(self) -> int:
        return sum(t.tokens for t in self._paid)

    @property
    def cost_paid(self) -> float | None:
        costs = [t.cost for t in self._paid]
        return None if any(c is None for c in costs) else sum(c for c in costs if c is not None)

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


def _take(job: ShotJob, outcome: ShotOutcome, owned: bool) -> Take | str:
    """A take with its clip, or why it has none ("take N: ...")."""
    line = report.take_report(job, outcome, owned=owned)
    if line.clip is None or line.clip_sha256 is None:
        return f"take {job.take}: {line.state}: {line.error}"
    seed = line.seed if line.seed is not None else line.requested_seed
    return Take(
        job.take, Path(line.clip), line.clip_sha256, job.seconds, chosen=job.picked, seed=seed,
        paid=line.source in PAID_THIS_RUN, tokens=line.tokens or job.estimated_tokens, cost=job.estimated_cost,
    )  # fmt: skip


def panel(
    job: ShotJob,
    outcome: ShotOutcome,
    *,
    previous: str | None,
    owned: bool,
    outcomes: Mapping[str, ShotOutcome],
    lock: Lockfile | None,
    takes: Sequence[ShotJob] = (),
) -> Panel:
    """The panel of `job` (the picked take of a shot of the video's own plan) after a render.

    `outcome` is the scheduler's (its job is the batch's); `previous`: the job id of the shot
    before it; `owned`: this video pays for it; `outcomes`: every job of the video, by job id;
    `takes`: every take of the shot, `job` included (default: `job` alone).
    """
    shot_of = {j: o.job.shot for j, o in outcomes.items()}
    chains = tuple(Chain(shot_of.get(c.upstream, c.upstream), c.role) for c in job.chained)
    firsts = [c.upstream for c in job.chained if c.role == "first_frame"]
    tokens, reported = job.estimated_tokens, False
    made: tuple[Take, ...] = ()
    missing: tuple[str, ...] = ()
    state: PanelState
    error: str | None = None
    if outcome.entry is not None:
        line = report.shot_report(job, outcome, owned=owned)
        state = _state(line, outcome, lock)
        tokens, reported = (line.tokens, True) if line.tokens is not None else (line.estimated_tokens, False)
        each = [_take(t, outcomes[t.id], owned) for t in takes or (job,)]
        made = tuple(t for t in each if isinstance(t, Take))
        missing = tuple(t for t in each if isinstance(t, str))
    elif outcome.state == "failed":
        state, error = "failed", str(outcome.error or "failed")
    elif outcome.state in UNUSABLE:
        ups = [shot_of.get(d, d) for d in job.depends_on if outcomes[d].entry is None]
        state, error = "blocked", f"not generated: it needs {', '.join(ups)}, which did not finish"
    else:
        state, error = "not finished", "the render stopped before this shot finished"
    return Panel(
        index=job.index, id=job.shot, prompt=_prompt(job), model=job.model, width=job.width, height=job.height,
        seconds=job.seconds, tokens=tokens, tokens_reported=reported, cost=job.estimated_cost, state=state,
        error=error, chains=chains, continues_previous=previous is not None and firsts == [previous], takes=made,
        task_id=outcome.task_id, missing_takes=missing,
    )  # fmt: skip

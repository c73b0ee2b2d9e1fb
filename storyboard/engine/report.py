"""The per-video report (``NAME.report.json``) as typed records, serialised in one place.

Owns: what the report says about each shot (task id, where its clip came from, clip hash, size,
tokens, timing; the take the video uses and every take of it, candidates included: ``TakeReport``),
the totals, the assembly record (read back on the next render to skip an
assembly whose output is already exactly right) and the timings; writing it atomically and
reading its assembly record back. Must not import the scheduler's callers (render, CLI) or
assembly.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

from pydantic import JsonValue

from storyboard.engine.plan import Plan, ShotJob, estimated_cost
from storyboard.engine.scheduler import ShotOutcome
from storyboard.engine.states import PAID_THIS_RUN, READY
from storyboard.seedance.capabilities import PRICE_CURRENCY
from storyboard.store.atomic import write_atomic

__all__ = [
    "AssemblyRecord", "ShotReport", "TakeReport", "Timings", "Totals", "VideoReport", "read_assembly", "report_path",
    "shot_report", "skipped", "take_report", "totals",
]  # fmt: skip

ReportSource = Literal["cache", "generated", "resumed", "shared"]


def report_path(output: Path) -> Path:
    """The JSON report beside the video: ``out/film.mp4`` -> ``out/film.report.json``."""
    return output.with_name(output.stem + ".report.json")


@dataclass(frozen=True)
class TakeReport:
    """One take (candidate clip) of a shot; a shot without takes has one, take 1, picked."""

    take: int
    """1-based; `storyboard pick FILE SHOT TAKE` names it."""
    picked: bool
    """The take the video uses (and chained shots start from)."""
    job: str
    """The take's job id: the shot id for take 1, ``shot#k`` for take k (as in the lockfile)."""
    state: Literal["ready", "failed", "blocked"]
    """ready: its clip is in the cache; failed / blocked: no clip this time (see `error`)."""
    source: ReportSource | None
    """As ShotReport.source; None without a clip."""
    task_id: str | None
    cache_key: str
    requested_seed: int | None
    """The seed its request sent (None: none sent, the service picked one)."""
    seed: int | None
    """The seed the service reported using (None when it did not say, or without a clip)."""
    clip: str | None
    """Path of the clip in the cache (None without a clip)."""
    clip_sha256: str | None
    tokens: int | None
    error: str | None


@dataclass(frozen=True)
class ShotReport:
    id: str
    task_id: str | None
    source: ReportSource
    """cache: free; generated / resumed: paid by this video; shared: paid by an earlier variant."""
    cache_key: str
    clip: str
    clip_sha256: str
    seconds: float
    frames: int
    width: int
    height: int
    tokens: int | None
    """As the service reported them (None when it did not say)."""
    estimated_tokens: int
    generation_seconds: float | None
    shot: str
    """The shot id (`id` is the picked take's job id: ``shot#k`` for take k ≥ 2)."""
    take: int
    """The take the video uses (its clip is `clip`); 1 for a shot without takes."""
    takes: tuple[TakeReport, ...]
    """Every take of the shot, in order, the picked one included."""

    @property
    def paid(self) -> bool:
        return self.source in PAID_THIS_RUN


@dataclass(frozen=True)
class Totals:
    shots: int
    takes: int
    """Clips the shots need, every take counted (equal to `shots` without takes)."""
    generated: int
    """Takes generated (paid for) by this video in this render."""
    cached: int
    """Takes with a clip that this video did not pay for (generated + cached = takes made)."""
    tokens_generated: int
    estimated_cost_generated: float | None
    currency: str
    poll_requests: int


@dataclass(frozen=True)
class AssemblyRecord:
    """How the video was assembled: the assembler's own report plus what identifies the output."""

    key: str
    """Digest of everything the video depends on (clips, edits, settings, files)."""
    output_sha256: str
    details: dict[str, JsonValue]
    """What assembly reported (method, size, duration, per-clip facts): written as is."""
    skipped: str | None = None
    """Why assembly did not run this time (the output was already up to date)."""

    def to_json(self) -> dict[str, JsonValue]:
        data: dict[str, JsonValue] = {**self.details, "output_sha256": self.output_sha256, "key": self.key}
        if self.skipped is not None:
            data["skipped"] = self.skipped
        return data


@dataclass(frozen=True)
class Timings:
    generation_seconds: float
    assembly_seconds: float


@dataclass(frozen=True)
class VideoReport:
    storyboard: str
    output: str
    service: str
    shots: tuple[ShotReport, ...]
    totals: Totals
    assembly: AssemblyRecord
    timings: Timings

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "storyboard": self.storyboard,
            "output": self.output,
            "service": self.service,
            "shots": [asdict(s) for s in self.shots],  # asdict recurses into the takes
            "totals": asdict(self.totals),
            "assembly": self.assembly.to_json(),
            "timings": asdict(self.timings),
        }

    def write(self, path: Path) -> None:
        write_atomic(path, (json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n").encode())


def read_assembly(path: Path) -> AssemblyRecord | None:
    """The assembly record of the report at `path`; None when absent or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["assembly"]
        details = {k: v for k, v in data.items() if k not in ("key", "output_sha256", "skipped")}
        key, digest = data["key"], data["output_sha256"]
        if not isinstance(key, str) or not isinstance(digest, str):
            return None
        return AssemblyRecord(key=key, output_sha256=digest, details=details)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _source(outcome: ShotOutcome, owned: bool) -> ReportSource:
    # generated this run for an earlier variant: this video reuses it without paying
    if owned or outcome.source == "cache":
        assert outcome.source != "", "a shot with a clip has a source"
        return outcome.source
    return "shared"


def take_report(job: ShotJob, outcome: ShotOutcome, *, owned: bool) -> TakeReport:
    """The report of one take of a shot, with or without a clip."""
    entry = outcome.entry if outcome.state in READY else None
    state: Literal["ready", "failed", "blocked"] = "ready" if entry is not None else "failed"
    if outcome.state == "blocked":
        state = "blocked"
    return TakeReport(
        take=job.take,
        picked=job.picked,
        job=job.id,
        state=state,
        source=_source(outcome, owned) if entry is not None else None,
        task_id=outcome.task_id,
        cache_key=job.cache_key,
        requested_seed=job.request.get("seed"),
        seed=entry.meta.seed if entry is not None else None,
        clip=str(entry.clip) if entry is not None else None,
        clip_sha256=entry.meta.clip_sha256 if entry is not None else None,
        tokens=entry.meta.tokens if entry is not None else None,
        error=None if entry is not None else str(outcome.error or "not generated"),
    )


def shot_report(job: ShotJob, outcome: ShotOutcome, *, owned: bool, takes: tuple[TakeReport, ...] = ()) -> ShotReport:
    """The report line of a shot whose (picked take's) clip is in the cache; `owned`: this video
    pays for it; `takes`: every take of the shot (default: this one alone)."""
    entry = outcome.entry
    assert entry is not None, "reported shots are cached or done"
    source = _source(outcome, owned)
    timing = None
    if outcome.submitted_at is not None and outcome.finished_at is not None:
        timing = round(outcome.finished_at - outcome.submitted_at, 3)
    return ShotReport(
        id=job.id,
        task_id=outcome.task_id,
        source=source,
        cache_key=job.cache_key,
        clip=str(entry.clip),
        clip_sha256=entry.meta.clip_sha256,
        seconds=job.seconds,
        frames=job.frames,
        width=job.width,
        height=job.height,
        tokens=entry.meta.tokens,
        estimated_tokens=job.estimated_tokens,
        generation_seconds=timing,
        shot=job.shot,
        take=job.take,
        takes=takes or (take_report(job, outcome, owned=owned),),
    )


def totals(plan: Plan, shots: tuple[ShotReport, ...], polls: int) -> Totals:
    made = [t for s in shots for t in s.takes if t.source is not None]
    generated = [t for t in made if t.source in PAID_THIS_RUN]
    paid_ids = {t.job for t in generated}
    paid_jobs = [j for j in plan.jobs if j.id in paid_ids]
    tokens = {t.job: t.tokens for t in generated}
    return Totals(
        shots=len(shots),
        takes=sum(len(s.takes) for s in shots),
        generated=len(generated),
        cached=len(made) - len(generated),
        tokens_generated=sum(tokens[j.id] or j.estimated_tokens for j in paid_jobs),
        estimated_cost_generated=estimated_cost(paid_jobs),
        currency=PRICE_CURRENCY,
        poll_requests=polls,
    )


def skipped(record: AssemblyRecord) -> AssemblyRecord:
    """`record` for a render that found the output already up to date."""
    return replace(record, skipped="output is up to date (same clips and settings)")

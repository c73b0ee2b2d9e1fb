"""The per-video report (``NAME.report.json``) as typed records, serialised in one place.

Owns: what the report says about each shot (task id, where its clip came from, clip hash, size,
tokens, timing), the totals, the assembly record (read back on the next render to skip an
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
from storyboard.engine.states import PAID_THIS_RUN
from storyboard.seedance.capabilities import PRICE_CURRENCY
from storyboard.store.atomic import write_atomic

__all__ = [
    "AssemblyRecord", "ShotReport", "Timings", "Totals", "VideoReport", "read_assembly", "report_path", "shot_report",
    "skipped", "totals",
]  # fmt: skip

ReportSource = Literal["cache", "generated", "resumed", "shared"]


def report_path(output: Path) -> Path:
    """The JSON report beside the video: ``out/film.mp4`` -> ``out/film.report.json``."""
    return output.with_name(output.stem + ".report.json")


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

    @property
    def paid(self) -> bool:
        return self.source in PAID_THIS_RUN


@dataclass(frozen=True)
class Totals:
    shots: int
    generated: int
    cached: int
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
            "shots": [asdict(s) for s in self.shots],
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


def shot_report(job: ShotJob, outcome: ShotOutcome, *, owned: bool) -> ShotReport:
    """The report line of a shot whose clip is in the cache; `owned`: this video pays for it."""
    entry = outcome.entry
    assert entry is not None, "reported shots are cached or done"
    # generated this run for an earlier variant: this video reuses it without paying
    source: ReportSource = "shared"
    if owned or outcome.source == "cache":
        assert outcome.source != "", "a shot with a clip has a source"
        source = outcome.source
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
    )


def totals(plan: Plan, shots: tuple[ShotReport, ...], polls: int) -> Totals:
    generated = [s for s in shots if s.paid]
    paid_ids = {s.id for s in generated}
    return Totals(
        shots=len(shots),
        generated=len(generated),
        cached=len(shots) - len(generated),
        tokens_generated=sum(s.tokens or s.estimated_tokens for s in generated),
        estimated_cost_generated=estimated_cost(j for j in plan.jobs if j.id in paid_ids),
        currency=PRICE_CURRENCY,
        poll_requests=polls,
    )


def skipped(record: AssemblyRecord) -> AssemblyRecord:
    """`record` for a render that found the output already up to date."""
    return replace(record, skipped="output is up to date (same clips and settings)")

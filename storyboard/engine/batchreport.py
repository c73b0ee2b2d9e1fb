"""The batch report (``NAME.batch.json``, or ``NAME.shard-I-of-N.json`` per shard) as a typed,
validated record, and merging the reports of a sharded batch into one.

Owns: the report's fields, writing it, reading it back (a file that is not such a report is a
ConfigError naming the file, never a traceback) and the merge rules (every shard of one batch
once; videos in row order; generations and polls added; the wall time is the slowest shard's).
Must not import the scheduler, render or the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from storyboard.errors import ConfigError, Issue
from storyboard.store.atomic import write_atomic

__all__ = ["BatchReport", "VideoLine", "merge", "read_report"]


class VideoLine(BaseModel):
    """One video of the batch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    row: int
    label: str | None
    output: str
    status: Literal["done", "failed"]
    error: str | None
    shots_generated: int
    shots_reused: int
    tokens: int
    seconds: float


class BatchReport(BaseModel):
    """Every video's line plus batch-wide counts; `shard` is ``"i/n"`` for one shard's part."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    videos: tuple[VideoLine, ...]
    unique_generations: int
    poll_requests: int
    seconds: float
    shard: str | None = None

    def write(self, path: Path) -> None:
        data = self.model_dump(mode="json")
        if self.shard is None:  # an unsharded batch's report keeps the shape it always had
            del data["shard"]
        write_atomic(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode())


def read_report(path: Path) -> BatchReport:
    """A batch or shard report from `path`."""
    try:
        return BatchReport.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise ConfigError([Issue(str(path), 0, 0, "", f"cannot be read: {exc.strerror}")]) from None
    except ValidationError:
        raise ConfigError([Issue(str(path), 0, 0, "", "is not a storyboard batch or shard report")]) from None


def merge(reports: Sequence[tuple[Path, BatchReport]]) -> BatchReport:
    """One batch report from the reports of every shard of one batch."""
    problems: list[Issue] = []
    shards: dict[int, Path] = {}
    counts = set()
    for path, report in reports:
        if report.shard is None:
            problems.append(Issue(str(path), 0, 0, "", "is not a shard report (it has no shard)"))
            continue
        index, count = (int(part) for part in report.shard.split("/"))
        counts.add(count)
        if index in shards:
            problems.append(Issue(str(path), 0, 0, "", f"shard {report.shard} is also in {shards[index]}"))
        shards[index] = path
    if len(counts) > 1:
        problems.append(
            Issue("merge", 0, 0, "", f"the reports come from different shardings ({sorted(counts)} shards)")
        )
    elif counts and (missing := sorted(set(range(1, max(counts) + 1)) - set(shards))):
        problems.append(Issue("merge", 0, 0, "", f"shard(s) {', '.join(map(str, missing))} of {max(counts)} missing"))
    if problems:
        raise ConfigError(problems)
    parts = [report for _, report in reports]
    return BatchReport(
        videos=tuple(sorted((v for r in parts for v in r.videos), key=lambda v: v.row)),
        unique_generations=sum(r.unique_generations for r in parts),
        poll_requests=sum(r.poll_requests for r in parts),
        seconds=max((r.seconds for r in parts), default=0.0),
    )

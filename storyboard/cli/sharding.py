"""`render --shard I/N` on the command line: the flags, the checks, the slice and the report.

Owns: turning the flags into the slice this shard renders (``engine.shards``), refusing what
cannot work (N > 1 without a shared remote cache; ``--force``, which the other shards would not
see), and writing ``NAME.shard-I-of-N.json`` for ``storyboard merge``. Part of the
command-line layer; imported by the ``render`` command only.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from storyboard.engine.claims import SHARD_TIMEOUT
from storyboard.engine.render import BatchResult
from storyboard.engine.shards import Shard, parse_shard, shard_slice
from storyboard.engine.variants import Batch
from storyboard.errors import ConfigError, Issue
from storyboard.store.tiered import TieredCache

__all__ = ["Sharding", "add_shard_flags", "apply_shard"]


def add_shard_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--shard", metavar="I/N",
        help="render slice I of N of a variant batch (1-based); the shards share shots through --remote",
    )  # fmt: skip
    p.add_argument(
        "--shard-timeout", type=float, default=SHARD_TIMEOUT, metavar="SECONDS",
        help=f"how long to wait for a shot another shard generates (default {SHARD_TIMEOUT:g})",
    )  # fmt: skip


@dataclass(frozen=True)
class Sharding:
    """What this render is of its batch: all of it (`shard` None), or one shard's slice."""

    batch: Batch
    shard: Shard | None = None
    foreign: dict[str, str] = field(default_factory=dict)
    """Job id -> the shard ("i/n") that generates it."""
    name: str = ""
    """The batch's name, for the shard report's file name."""
    folder: Path | None = None
    """Where the batch writes its first video (and so the shard report)."""

    def report_path(self) -> Path | None:
        if self.shard is None or self.folder is None:
            return None
        return self.folder / f"{self.name}.shard-{self.shard.index}-of-{self.shard.count}.json"

    def write_report(self, result: BatchResult) -> Path | None:
        path = self.report_path()
        if path is not None:
            result.report(shard=str(self.shard)).write(path)
        return path


def apply_shard(args: argparse.Namespace, batch: Batch, cache: TieredCache) -> Sharding:
    """The slice of `batch` that `--shard` asks for (the whole batch without it)."""
    if args.shard is None:
        return Sharding(batch)
    shard = parse_shard(args.shard)
    problems = []
    if shard.count > 1 and cache.remote is None:
        problems.append("needs a shared remote cache (--remote URL or STORYBOARD_REMOTE) so the shards can share shots")
    if args.force is not None:
        problems.append("cannot be combined with --force (the other shards would keep using the old clips)")
    if args.shard_timeout <= 0:
        problems.append(f"--shard-timeout must be positive (got {args.shard_timeout:g})")
    if problems:
        raise ConfigError([Issue("--shard", 0, 0, "", p) for p in problems])
    first = batch.variants[0]
    sliced = shard_slice(batch, shard)
    if sliced.foreign and cache.remote is not None:
        cache.remote.require()  # waiting on a remote that is down would only end at the timeout
    foreign = {job: f"{k}/{shard.count}" for job, k in sliced.foreign.items()}
    return Sharding(sliced.batch, shard, foreign, first.loaded.board.name, first.output.parent)

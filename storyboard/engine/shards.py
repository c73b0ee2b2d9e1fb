"""Sharded batches: one slice of a variant batch per worker, every shared shot generated once.

Owns: the ``--shard i/n`` syntax, which videos a shard makes and which shots it generates.
Videos go round-robin by row (the k-th variant to shard ``k % n + 1``), so shards get equal
shares whatever the CSV's order. A unique shot (by cache key) is generated only by the shard
of the first variant that needs it — ownership follows from the batch alone, so every shard
computes the same answer without talking to the others. A shard waits for shots owned by
another shard to appear in the shared (remote) cache. Pure. Must not import the scheduler,
render or the CLI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from storyboard.engine.variants import Batch, combine
from storyboard.errors import ConfigError, Issue

__all__ = ["Shard", "ShardSlice", "parse_shard", "shard_slice"]

_SYNTAX = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def of_position(self, position: int) -> int:
        """The shard (1-based) that makes the variant at 0-based `position` in the batch."""
        return position % self.count + 1


def parse_shard(text: str) -> Shard:
    """``"2/3"`` -> Shard(2, 3); anything else is a ConfigError saying what is expected."""
    match = _SYNTAX.fullmatch(text)
    if match is None:
        raise ConfigError([Issue("--shard", 0, 0, "", f"expected I/N such as 1/3 (got {text!r})")])
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 1 <= index <= count:
        raise ConfigError([Issue("--shard", 0, 0, "", f"I must be between 1 and N (got {index}/{count})")])
    return Shard(index, count)


@dataclass(frozen=True)
class ShardSlice:
    """What one shard does: its videos (a batch of its own) and the jobs it only waits for."""

    batch: Batch
    foreign: dict[str, int]
    """Job id (in `batch`) -> the shard that generates it."""


def shard_slice(batch: Batch, shard: Shard) -> ShardSlice:
    """The part of `batch` that `shard` renders."""
    position = {v.number: k for k, v in enumerate(batch.variants)}
    generator = {job.cache_key: shard.of_position(position[batch.owner[job.id][0]]) for job in batch.plan.jobs}
    mine = [v for v in batch.variants if shard.of_position(position[v.number]) == shard.index]
    sliced = combine(mine, batch.plan.service)
    foreign = {job.id: generator[job.cache_key] for job in sliced.plan.jobs if generator[job.cache_key] != shard.index}
    return ShardSlice(sliced, foreign)

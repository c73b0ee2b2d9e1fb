"""What the lockfile says about a batch, and what a render writes into it.

Owns: a shot's lock state against the lockfile (``locked``: its cache key is the locked one;
``changed``: the lockfile has the shot with another key; ``new``: the lockfile lacks it), the
``--frozen`` question (which shots would be paid for: new or changed ones, and every shot that
settles to Generate — the same ``settle`` the run uses), and the lockfile after a render
(finished shots locked from their cache entries, each take of a shot with takes in a block of
its own; a shot without a clip this time keeps its previous block, or has none; picks kept for
the shots the storyboard still has; outputs by their path relative to the storyboard). The format is
``store.lockfile``'s. Prints nothing; must not import the CLI or assembly (nor render, but for
its result's type).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from storyboard.engine.plan import ShotJob
from storyboard.engine.settle import Generate
from storyboard.engine.states import READY
from storyboard.engine.variants import Batch, Variant
from storyboard.store.cache import CachedClip
from storyboard.store.lockfile import LockedOutput, LockedShot, Lockfile, lockfile_path

if TYPE_CHECKING:  # render brings the scheduler and assembly's caller: `plan` needs neither
    from storyboard.engine.render import BatchResult

__all__ = [
    "LockState", "Unpinned", "after_render", "batch_lockfile_path", "frozen_refusals", "lock_state", "updated_lockfile",
]  # fmt: skip

LockState = Literal["locked", "changed", "new"]


def batch_lockfile_path(batch: Batch) -> Path:
    """The lockfile of the batch's storyboard (a template's one for all its variants)."""
    return lockfile_path(batch.variants[0].loaded.file)


def lock_state(job_id: str, cache_key: str, lock: Lockfile | None) -> LockState:
    """`job_id`'s state against `lock` (None: there is no lockfile, so every shot is new)."""
    locked = None if lock is None else lock.shot(job_id)
    if locked is None:
        return "new"
    return "locked" if locked.cache_key == cache_key else "changed"


@dataclass(frozen=True)
class Unpinned:
    """A shot ``--frozen`` refuses to generate, and why."""

    job: ShotJob
    reason: str


def frozen_refusals(lock: Lockfile | None, settled: Iterable[tuple[ShotJob, object]]) -> list[Unpinned]:
    """The shots a frozen render refuses: not locked as they are, or locked but in no cache.

    `settled` is what the render would do with each job (``settle``, as the run asks it); only
    a ``Generate`` answer costs money, so only that one matters here.
    """
    refused = []
    for job, settlement in settled:
        state = lock_state(job.id, job.cache_key, lock)
        if state == "new":
            refused.append(Unpinned(job, "new: not in the lockfile"))
        elif state == "changed":
            refused.append(Unpinned(job, "changed: its cache key differs from the locked one"))
        elif isinstance(settlement, Generate):
            refused.append(Unpinned(job, "locked, but no cache holds its clip"))
    return refused


def _relative(output: Path, variant: Variant) -> str:
    return Path(os.path.relpath(output, variant.loaded.base_dir)).as_posix()


def updated_lockfile(
    batch: Batch,
    previous: Lockfile | None,
    entries: Mapping[str, CachedClip],
    outputs: Mapping[int, str],
    *,
    preview: bool = False,
) -> Lockfile:
    """The lockfile after a render of `batch`.

    `entries`: the cache entry of every job (by job id) that has its clip now; `outputs`: the
    sha256 of every video made (by variant number). A shot without an entry keeps its previous
    block (if any); so does a video that was not made. Shots and outputs that the batch no
    longer has are dropped. A preview records no output (it is not the video).
    """
    shots = []
    for job in batch.plan.jobs:
        entry = entries.get(job.id)
        if entry is not None:
            meta = entry.meta
            shots.append(
                LockedShot(
                    id=job.id,
                    cache_key=job.cache_key,
                    task_id=meta.task_id,
                    seed=meta.seed,
                    model=meta.model,
                    clip_sha256=meta.clip_sha256,
                    clip_bytes=meta.clip_bytes,
                    frames=job.frames,
                    duration=job.seconds,
                    take=job.take if job.takes > 1 else None,
                    requested_seed=job.request.get("seed") if job.takes > 1 else None,
                )  # fmt: skip
            )
        elif previous is not None and (kept := previous.shot(job.id)) is not None:
            shots.append(kept)
    videos: list[LockedOutput] = []
    if preview:
        videos = list(previous.outputs) if previous is not None else []
    else:
        for variant in batch.variants:
            path = _relative(variant.output, variant)
            digest = outputs.get(variant.number)
            if digest is not None:
                videos.append(LockedOutput(path, digest))
            elif previous is not None and (old := previous.output(path)) is not None:
                videos.append(old)
    board = batch.variants[0].loaded.file.name
    # a pick outlives a render with fewer takes (--takes 1 for a quick look): only a shot's removal drops it
    names = set(batch.variants[0].loaded.board.shot_ids())
    picks = tuple(p for p in previous.picks if p[0] in names) if previous is not None else ()
    return Lockfile(board, batch.plan.service, tuple(shots), tuple(videos), picks)


def after_render(batch: Batch, previous: Lockfile | None, result: BatchResult, *, preview: bool = False) -> Lockfile:
    """The lockfile after `result`, a (possibly partial) render of `batch`."""
    entries = {jid: o.entry for jid, o in result.shots.items() if o.state in READY and o.entry is not None}
    outputs = {v.variant.number: v.result.report.assembly.output_sha256 for v in result.videos if v.result is not None}
    return updated_lockfile(batch, previous, entries, outputs, preview=preview)

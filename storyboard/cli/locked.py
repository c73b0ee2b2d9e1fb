"""The lockfile side of `storyboard render`: the `--frozen` flag, its refusal, and writing the
lockfile after a render.

Part of the command-line layer: the words and the exit code; what the lockfile says and what
goes into it are ``engine.lockfile``'s, its format ``store.lockfile``'s. Imported by render only.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from rich.console import Console

from storyboard.cli.common import EXIT_FROZEN, cost_words, print_issues
from storyboard.engine.lockfile import after_render, frozen_refusals
from storyboard.engine.picks import stale_picks
from storyboard.engine.plan import ShotJob, estimated_cost
from storyboard.engine.render import BatchResult
from storyboard.engine.variants import Batch
from storyboard.store.lockfile import Lockfile, lockfile_path, read_lockfile

__all__ = ["add_flag", "check_frozen", "print_stale_picks", "read_lock", "write_lock"]


def add_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--frozen",
        action="store_true",
        help="refuse (exit 4, nothing sent) to generate any shot that the lockfile and the cache do not "
        "supply; the lockfile is not written (for CI)",
    )


def read_lock(file: str) -> tuple[Path, Lockfile | None]:
    """The lockfile of storyboard `file` and its contents (None when absent; ConfigError when
    broken): read before planning, since its picks choose the takes chained shots start from."""
    path = lockfile_path(Path(file))
    return path, read_lockfile(path)


def print_stale_picks(batch: Batch, path: Path, lock: Lockfile | None, err: Console) -> None:
    """Warn about each pick of the lockfile that the storyboard's takes no longer reach."""
    print_issues(stale_picks(batch.variants[0].plan, lock, str(path)), err)


def check_frozen(
    path: Path, lock: Lockfile | None, settled: Iterable[tuple[ShotJob, object]], err: Console
) -> int | None:
    """EXIT_FROZEN after naming every shot `--frozen` refuses; None when none is refused."""
    refused = frozen_refusals(lock, settled)
    if not refused:
        return None
    if lock is None:
        err.print(f"--frozen: {path} does not exist", markup=False)
    for item in refused:
        cost = "no published price" if item.job.estimated_cost is None else cost_words(item.job.estimated_cost)
        err.print(f'--frozen: shot "{item.job.id}" would be generated ({item.reason}), estimated {cost}', markup=False)
    n = len(refused)
    it = "it" if n == 1 else "them"
    err.print(
        f"--frozen: {n} shot{'s' if n != 1 else ''} would be generated, estimated "
        f"{cost_words(estimated_cost(u.job for u in refused))} in all; nothing was sent. "
        f"Render without --frozen to generate {it} and update {path}.",
        markup=False,
    )
    return EXIT_FROZEN


def write_lock(
    batch: Batch,
    path: Path,
    previous: Lockfile | None,
    result: BatchResult,
    *,
    frozen: bool,
    preview: bool,
    err: Console,
    quiet: bool,
) -> None:
    """Record the render in the lockfile (untouched when nothing changed). `--frozen` never
    rewrites it: it warns when the render came out different from what is locked."""
    lock = after_render(batch, previous, result, preview=preview)
    if not frozen:
        if lock.write(path) and not quiet:
            err.print(f"lockfile: {path}", markup=False)
        return
    if previous is not None and lock != previous:
        differ = [s.id for s in lock.shots if previous.shot(s.id) != s]
        differ += [o.path for o in lock.outputs if previous.output(o.path) != o]
        what = ", ".join(differ) or "the render"
        err.print(f"warning: --frozen: {what} differ from {path}, which was not rewritten", style="yellow",
                  markup=False)  # fmt: skip

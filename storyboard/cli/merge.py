"""`storyboard merge SHARD_REPORT... [-o FILE]`: the shard reports of a sharded batch -> one
batch report (the same shape an unsharded render writes as ``NAME.batch.json``).

Part of the command-line layer.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from storyboard.cli.common import EXIT_FAILED, EXIT_OK
from storyboard.engine.batchreport import merge, read_report

__all__ = ["add_parser", "run"]

_SUFFIX = ".shard-"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "merge",
        help="merge the shard reports of a sharded batch into one batch report",
        description="Reads NAME.shard-I-of-N.json files (one per shard of `render --shard I/N`) and writes "
        "NAME.batch.json beside the first one.",
    )
    p.add_argument("reports", nargs="+", metavar="SHARD_REPORT")
    p.add_argument("-o", "--out", metavar="FILE", help="write the batch report here instead")


def _default_out(first: Path) -> Path:
    name = first.name
    stem = name[: name.index(_SUFFIX)] if _SUFFIX in name else first.stem
    return first.with_name(f"{stem}.batch.json")


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    paths = [Path(p) for p in args.reports]
    merged = merge([(path, read_report(path)) for path in paths])
    target = Path(args.out) if args.out else _default_out(paths[0])
    merged.write(target)
    failed = [v for v in merged.videos if v.status == "failed"]
    out.print(
        f"{len(merged.videos)} videos ({len(failed)} failed), {merged.unique_generations} generations, "
        f"{merged.poll_requests} poll requests, {merged.seconds:.1f}s (slowest shard); report: {target}",
        markup=False,
    )
    for video in failed:
        err.print(f"row {video.row} ({video.output}): {video.error}", style="red", markup=False)
    return EXIT_FAILED if failed else EXIT_OK

"""The `storyboard render` command: wiring, the embedded emulator, budget, progress, exit codes.

Owns: choosing the service (the real one with ACEDATACLOUD_API_TOKEN, else the embedded
emulator on a free loopback port, announced in one line), building the client, cache and
journal, `--dry-run`, `--force` checks, the budget check before anything is sent, the progress
view, the batch summary (table + JSON beside the outputs) and how each failure ends (exit code
and message). Part of the command-line layer: nothing imports it but cli.py.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from storyboard.batch import Batch, load_batch
from storyboard.atomic import write_atomic
from storyboard.cache import Cache, default_cache_dir
from storyboard.capabilities import PRICE_CURRENCY
from storyboard.cli import (  # the command layer's shared pieces; cli imports this module lazily
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SERVICE,
    print_warnings,
    service_identity,
    sets_from_args,
)
from storyboard.client import SeedanceClient
from storyboard.config import TOKEN_ENV, ServiceConfig
from storyboard.errors import (
    APIError,
    AuthenticationError,
    ConfigError,
    InsufficientBalanceError,
    Issue,
    RenderInterrupted,
)
from storyboard.journal import Journal
from storyboard.plan import ShotJob
from storyboard.progress import JsonEvents, LiveView, Silent
from storyboard.render import BatchResult, RenderOptions, render
from storyboard.scheduler import PollPolicy

__all__ = ["EMBEDDED_NOTICE", "run_render"]

EMBEDDED_NOTICE = (
    f"{TOKEN_ENV} is not set: rendering with the built-in emulator (free placeholder clips). "
    f"To render with SeeDance on AceData Cloud, set {TOKEN_ENV}."
)
# The embedded emulator answers in well under a second: poll it briskly.
EMBEDDED_POLL = PollPolicy(minimum=0.1, maximum=1.0, factor=0.2)
EMBEDDED_LATENCY = 0.3


def _force(args: argparse.Namespace, batch: Batch) -> set[str] | Literal[True] | None:
    """--force names shots of the storyboard; in a batch, every variant's copy of them."""
    if args.force is None:
        return None
    if not args.force:
        return True
    known = [j.id for j in batch.variants[0].plan.jobs]
    unknown = [s for s in args.force if s not in known]
    if unknown:
        raise ConfigError(
            [Issue("--force", 0, 0, "", f'unknown shot "{s}" (shots: {", ".join(known)})') for s in unknown]
        )
    return {batch.ids[(v.number, shot)] for v in batch.variants for shot in args.force}


@contextlib.contextmanager
def _service(config: ServiceConfig, cache_root: Path, err: Console, quiet: bool) -> Iterator[SeedanceClient]:
    """A client for the real service, or for an embedded emulator that lives as long as it."""
    if config.token:
        with SeedanceClient(config) as client:
            yield client
        return
    from storyboard.emulator import Emulator

    if not quiet:
        err.print(EMBEDDED_NOTICE, markup=False, style="yellow")
    with Emulator(latency=EMBEDDED_LATENCY, workdir=cache_root / "emulator") as emulator:
        with SeedanceClient(ServiceConfig(token="embedded-emulator", base_url=emulator.url)) as client:
            yield client


def _status(job: ShotJob, cache: Cache, journal: Journal, force: object) -> str:
    """What a render would do with `job`: resume it, take it from the cache, or pay for it."""
    if journal.get(job.cache_key) is not None:
        return "in flight from an earlier render (resume polling; free)"
    forced = force is True or (isinstance(force, set) and job.id in force)
    if not forced and cache.get(job.cache_key) is not None:
        return "cached (free)"
    return "generate"


def _cost_text(jobs: list[ShotJob]) -> str:
    known = sum(j.estimated_cost or 0.0 for j in jobs)
    unpriced = any(j.estimated_cost is None for j in jobs)
    return f"{known:.4f} {PRICE_CURRENCY}" + (" + shots without a published price" if unpriced else "")


def _check_budget(args: argparse.Namespace, jobs: list[ShotJob]) -> None:
    problems = []
    cost = sum(j.estimated_cost or 0.0 for j in jobs)
    if args.max_cost is not None and cost > args.max_cost:
        problems.append(Issue("--max-cost", 0, 0, "", f"the {len(jobs)} new generations are estimated at "
                              f"{_cost_text(jobs)}, above {args.max_cost:g}; nothing was sent"))  # fmt: skip
    if args.max_shots is not None and len(jobs) > args.max_shots:
        problems.append(Issue("--max-shots", 0, 0, "", f"{len(jobs)} shots need generating, more than "
                              f"{args.max_shots}; nothing was sent"))  # fmt: skip
    if problems:
        raise ConfigError(problems)


def _dry_run(batch: Batch, cache: Cache, journal: Journal, force: object, out: Console) -> int:
    paying = []
    for job in batch.plan.jobs:
        state = _status(job, cache, journal, force)
        if state == "generate":
            paying.append(job)
        needs = f" after {', '.join(job.depends_on)}" if job.depends_on else ""
        out.print(f"{job.id}: {state}{needs} — {job.width}x{job.height}, {job.seconds:g} s, "
                  f"~{job.estimated_tokens:,} tokens", markup=False)  # fmt: skip
    outputs = ", ".join(str(v.output) for v in batch.variants)
    out.print(f"would pay about {_cost_text(paying)}; output {outputs}; nothing was sent", markup=False)
    return EXIT_OK


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _summary(result: BatchResult, out: Console) -> Path:
    table = Table(title=f"{len(result.videos)} videos, {result.unique_generations} unique shots")
    for column in ("row", "output", "status", "generated", "reused", "tokens", "time"):
        table.add_column(column)
    for v in result.videos:
        status = "[green]done[/]" if v.status == "done" else "[red]failed[/]"
        table.add_row(str(v.variant.number), escape(_shown(v.variant.output)), status, str(v.generated), str(v.reused),
                      f"{v.tokens:,}", f"{v.seconds:.1f}s")  # fmt: skip
    out.print(table)
    first = result.videos[0].variant
    path = first.output.parent / f"{first.loaded.board.name}.batch.json"
    write_atomic(path, (json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n").encode())
    return path


def run_render(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Run `storyboard render`; returns the exit code."""
    config = ServiceConfig.from_env()
    output = Path(args.out).resolve() if args.out else None
    batch = load_batch(
        args.file, sets_from_args(args), service=service_identity(config), output=output, preview=args.preview
    )
    if not args.quiet:
        print_warnings((v.loaded for v in batch.variants), err)
    force = _force(args, batch)
    cache_root = default_cache_dir(os.environ)
    cache = Cache(cache_root)
    journal = Journal(cache_root / "journal")
    if args.dry_run:
        return _dry_run(batch, cache, journal, force, out)
    if args.max_cost is not None or args.max_shots is not None:  # only then is every entry read
        _check_budget(args, [j for j in batch.plan.jobs if _status(j, cache, journal, force) == "generate"])
    options = RenderOptions(
        jobs=args.jobs,
        rate=(args.max_rpm, 60.0) if args.max_rpm else None,
        force=force,
        poll=PollPolicy() if config.token else EMBEDDED_POLL,
        preview=args.preview,
    )
    if args.json_events:
        view: JsonEvents | LiveView | Silent = JsonEvents()
    elif args.quiet:
        view = Silent()
    else:
        view = LiveView(err, [j.id for j in batch.plan.jobs])
    try:
        with _service(config, cache_root, err, args.quiet) as client, view:
            result = render(
                batch, client=client, cache=cache, journal=journal, options=options, on_event=view,
                on_video=view.video,
            )  # fmt: skip
    except RenderInterrupted as exc:
        err.print(str(exc), style="red", markup=False)
        return EXIT_INTERRUPTED
    except (AuthenticationError, InsufficientBalanceError) as exc:
        err.print(f"the service refused the request: {exc}", style="red", markup=False)
        return EXIT_SERVICE
    except APIError as exc:
        err.print(f"service error: {exc}", style="red", markup=False)
        return EXIT_FAILED
    for warning in cache.warnings:
        err.print(f"warning: {warning}", style="yellow", markup=False)
    if len(result.videos) == 1:
        return _single(result, args, out, err)
    summary = _summary(result, err if args.quiet else out)
    for video in result.failed:
        err.print(f"{video.variant.label}: {video.error}", style="red", markup=False)
    for video in result.videos:
        if video.result is not None:
            out.print(str(video.result.output), markup=False)
    if not args.quiet:
        err.print(f"batch summary: {summary}", markup=False)
    return EXIT_FAILED if result.failed else EXIT_OK


def _single(result: BatchResult, args: argparse.Namespace, out: Console, err: Console) -> int:
    video = result.videos[0]
    if video.result is None:
        err.print(video.error, style="red", markup=False)
        return EXIT_FAILED
    totals = video.result.report["totals"]
    if not args.quiet and not args.json_events:
        err.print(
            f"{totals['generated']} generated, {totals['cached']} from cache; report: {video.result.report_path}",
            markup=False,
        )
    out.print(str(video.result.output), markup=False)
    return EXIT_OK

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
import os
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from storyboard.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SERVICE,
    add_takes,
    add_vars,
    print_warnings,
    service_identity,
    sets_from_args,
)
from storyboard.cli.locked import add_flag, check_frozen, print_stale_picks, read_lock, write_lock
from storyboard.cli.progress import JsonEvents, LiveView, Silent
from storyboard.cli.remote import add_remote, open_cache, remote_summary
from storyboard.cli.sharding import Sharding, add_shard_flags, apply_shard
from storyboard.engine.plan import ShotJob
from storyboard.engine.render import BatchResult, RenderOptions, render
from storyboard.engine.review import write_reviews
from storyboard.engine.scheduler import PollPolicy
from storyboard.engine.settle import Blocked, Cached, Force, Generate, Planned, Refused, Resume, settle_plan
from storyboard.engine.variants import Batch, load_batch
from storyboard.errors import (
    APIError,
    AuthenticationError,
    ConfigError,
    InsufficientBalanceError,
    Issue,
    RenderInterrupted,
)
from storyboard.seedance.capabilities import PRICE_CURRENCY
from storyboard.seedance.client import SeedanceClient
from storyboard.seedance.config import TOKEN_ENV, ServiceConfig
from storyboard.store.cache import default_cache_dir
from storyboard.store.journal import Journal
from storyboard.store.tiered import ClipStore

__all__ = ["EMBEDDED_NOTICE", "add_parser", "open_service", "run"]

EMBEDDED_NOTICE = (
    f"{TOKEN_ENV} is not set: rendering with the built-in emulator (free placeholder clips). "
    f"To render with SeeDance on AceData Cloud, set {TOKEN_ENV}."
)
# The embedded emulator answers in well under a second: poll it briskly.
EMBEDDED_POLL = PollPolicy(minimum=0.1, maximum=1.0, factor=0.2)
EMBEDDED_LATENCY = 0.3


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "render",
        help="generate the shots (cached ones are free) and assemble the video",
        description="Without ACEDATACLOUD_API_TOKEN the built-in emulator renders placeholder "
        "clips for free; with it, SeeDance on AceData Cloud (ACEDATACLOUD_API_BASE_URL).",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--out", metavar="OUT", help="output video (default: output.path)")
    add_vars(p)
    add_takes(p)
    add_remote(p)
    add_shard_flags(p)
    p.add_argument(
        "--jobs",
        type=_positive_int,
        metavar="N",
        help="tasks running at once on the service (default: the model's limit)",
    )
    p.add_argument(
        "--force", nargs="*", metavar="SHOT", help="generate again even if cached: all shots, or the named ones"
    )
    p.add_argument(
        "--dry-run", action="store_true", help="show what would be generated and what it costs; send nothing"
    )
    p.add_argument(
        "--preview", action="store_true", help="assemble at low resolution with a fast preset, for a quick look"
    )
    p.add_argument(
        "--max-cost",
        type=float,
        metavar="AMOUNT",
        help=f"refuse to start if the new generations are estimated above AMOUNT ({PRICE_CURRENCY})",
    )
    add_flag(p)
    p.add_argument("--max-shots", type=int, metavar="N", help="refuse to start if more than N shots need generating")
    p.add_argument(
        "--max-rpm",
        type=_positive_int,
        metavar="N",
        help="at most N create requests per minute (default: the model's documented limit)",
    )
    p.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="SECONDS",
        help="stop waiting after SECONDS, as Ctrl-C does: running tasks stay journaled (exit 130)",
    )
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--json-events", action="store_true", help="one JSON line per shot state change")
    shown.add_argument("--quiet", action="store_true", help="print only errors and the output path")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds (got {text!r})") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds (got {text})")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer (got {text!r})") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer (got {value})")
    return value


def _force(args: argparse.Namespace, batch: Batch) -> Force:
    """--force names shots of the storyboard (every take of them) or single takes (``shot#2``);
    in a batch, every variant's copy of them."""
    if args.force is None:
        return None
    if not args.force:
        return True
    jobs = batch.variants[0].plan.jobs
    known = list(dict.fromkeys([j.shot for j in jobs] + [j.id for j in jobs]))
    unknown = [s for s in args.force if s not in known]
    if unknown:
        shots = ", ".join(dict.fromkeys(j.shot for j in jobs))
        raise ConfigError([Issue("--force", 0, 0, "", f'unknown shot "{s}" (shots: {shots})') for s in unknown])
    named = set(args.force)
    return {batch.ids[(v.number, j.id)] for v in batch.variants for j in v.plan.jobs if {j.id, j.shot} & named}


@contextlib.contextmanager
def open_service(config: ServiceConfig, cache_root: Path, err: Console, quiet: bool) -> Iterator[SeedanceClient]:
    """A client for the real service, or for an embedded emulator that lives as long as it."""
    if config.token:
        with SeedanceClient(config) as client:
            yield client
        return
    from storyboard.emulator import Emulator

    if not quiet:
        err.print(EMBEDDED_NOTICE, markup=False, style="yellow")
    with Emulator(latency=EMBEDDED_LATENCY, workdir=cache_root / "emulator") as emulator:
        embedded = ServiceConfig(token="embedded-emulator", base_url=emulator.url)
        with SeedanceClient(embedded, identity=service_identity(ServiceConfig())) as client:
            yield client


def _settled(batch: Batch, cache: ClipStore, journal: Journal, force: Force) -> list[tuple[ShotJob, Planned]]:
    """What the render would do with each job — the very question the scheduler asks."""
    return settle_plan(batch.plan, cache=cache, journal=journal, force=force)


def _words(settled: Planned, shot: str) -> str:
    if isinstance(settled, Blocked):
        return f"not sent: it needs {', '.join(settled.upstream)}, which will not be generated"
    if isinstance(settled, Cached):
        return "cached (free)"
    if isinstance(settled, Resume):
        return "in flight from an earlier render (resume polling; free)"
    if isinstance(settled, Refused):
        return f"not sent: an earlier create got no answer (check the AceData console, then --force {shot})"
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


def _dry_run(batch: Batch, cache: ClipStore, journal: Journal, force: Force, out: Console) -> int:
    paying = []
    for job, settled in _settled(batch, cache, journal, force):
        state = _words(settled, job.id)
        if isinstance(settled, Generate):
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


def _summary(result: BatchResult, out: Console | None, sharding: Sharding) -> Path:
    """Write the batch (or shard) report; print the table unless ``out`` is None (--quiet)."""
    table = Table(title=f"{len(result.videos)} videos, {result.unique_generations} unique shots")
    for column in ("row", "output", "status", "generated", "reused", "tokens", "time"):
        table.add_column(column)
    for v in result.videos:
        status = "[green]done[/]" if v.status == "done" else "[red]failed[/]"
        table.add_row(str(v.variant.number), escape(_shown(v.variant.output)), status, str(v.generated), str(v.reused),
                      f"{v.tokens:,}", f"{v.seconds:.1f}s")  # fmt: skip
    if out is not None:
        out.print(table)
    shard_report = sharding.write_report(result)
    if shard_report is not None:
        return shard_report
    first = result.videos[0].variant
    path = first.output.parent / f"{first.loaded.board.name}.batch.json"
    result.report().write(path)
    return path


def run(args: argparse.Namespace, out: Console, err: Console, service: SeedanceClient | None = None) -> int:
    """Run `storyboard render`; returns the exit code. ``service``: a client to use instead of
    opening one (`storyboard watch` keeps one embedded emulator for its whole session)."""
    config = ServiceConfig.from_env()
    output = Path(args.out).resolve() if args.out else None
    lock_path, lock = read_lock(args.file)  # a broken lockfile stops the render before anything is sent
    batch = load_batch(
        args.file, sets_from_args(args), service=service_identity(config), output=output, preview=args.preview,
        picks=lock.pick_map if lock is not None else None, takes=args.takes,
    )  # fmt: skip
    if not args.quiet:
        print_warnings((v.loaded for v in batch.variants), err)
        print_stale_picks(batch, lock_path, lock, err)
    force = _force(args, batch)
    cache_root = default_cache_dir(os.environ)
    cache = open_cache(cache_root, args)  # local, with the --remote / STORYBOARD_REMOTE one behind it
    sharding = apply_shard(args, batch, cache)
    if sharding.shard is not None and not sharding.batch.variants:
        path = sharding.write_report(BatchResult((), 0, 0, 0.0))
        out.print(f"shard {sharding.shard} has no videos (the batch has {len(batch.variants)}); report: {path}")
        return EXIT_OK
    batch = sharding.batch
    journal = Journal(cache_root / "journal")
    if args.frozen and (refused := check_frozen(lock_path, lock, _settled(batch, cache, journal, force), err)):
        for warning in cache.warnings:
            err.print(f"warning: {warning}", style="yellow", markup=False)
        return refused
    if args.dry_run:
        cache.local.read_only = True  # a dry run changes nothing, not even a corrupt entry
        code = _dry_run(batch, cache, journal, force, out)
        for warning in cache.warnings:
            err.print(f"warning: {warning}", style="yellow", markup=False)
        return code
    if args.max_cost is not None or args.max_shots is not None:  # only then is every entry read
        _check_budget(
            args, [job for job, settled in _settled(batch, cache, journal, force) if isinstance(settled, Generate)]
        )
    options = RenderOptions(
        jobs=args.jobs,
        rate=(args.max_rpm, 60.0) if args.max_rpm else None,
        force=force,
        poll=PollPolicy() if config.token else EMBEDDED_POLL,
        preview=args.preview,
        foreign=sharding.foreign,
        shard_timeout=args.shard_timeout,
        timeout=args.timeout,
    )
    if args.json_events:
        view: JsonEvents | LiveView | Silent = JsonEvents()
    elif args.quiet:
        view = Silent()
    else:
        view = LiveView(err, [j.id for j in batch.plan.jobs])
    try:
        opened = contextlib.nullcontext(service) if service else open_service(config, cache_root, err, args.quiet)
        with opened as client, view:
            result = render(
                batch, service=client, cache=cache, journal=journal, options=options, on_event=view,
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
    if sharding.shard is None:  # a shard sees a slice: the merge of all shards is the batch
        write_lock(batch, lock_path, lock, result, frozen=args.frozen, preview=args.preview, err=err, quiet=args.quiet)
    pages = {}
    for written in write_reviews(batch, result, lock, preview=args.preview):
        if written.page is None:
            err.print(f"warning: {written.video}: review page not written: {written.error}", style="yellow",
                      markup=False)  # fmt: skip
        pages[written.video] = written.page
    for warning in cache.warnings:
        err.print(f"warning: {warning}", style="yellow", markup=False)
    for o in result.shots.values():  # a candidate the video does not use fails it not: say so, once
        if not o.job.picked and o.state == "failed":
            err.print(f'warning: take "{o.job.id}" failed: {o.error}; the video does not use it (render again '
                      "to retry it)", style="yellow", markup=False)  # fmt: skip
    if not args.quiet and (remote_line := remote_summary(cache)):
        err.print(remote_line, markup=False)
    if len(result.videos) == 1 and sharding.shard is None:
        return _single(result, args, out, err, pages.get(result.videos[0].variant.name))
    summary = _summary(result, None if args.quiet else out, sharding)
    for video in result.failed:
        err.print(f"{video.variant.label}: {video.error}", style="red", markup=False)
    for video in result.videos:
        if video.result is not None:
            out.print(str(video.result.output), markup=False)
    if not args.quiet:
        err.print(f"batch summary: {summary}", markup=False)
    return EXIT_FAILED if result.failed else EXIT_OK


def _single(result: BatchResult, args: argparse.Namespace, out: Console, err: Console, page: Path | None) -> int:
    video = result.videos[0]
    review = f"review: {page}" if page is not None else ""
    if video.result is None:
        err.print(video.error, style="red", markup=False)
        if review and not args.quiet:
            err.print(review, markup=False)
        return EXIT_FAILED
    totals = video.result.report.totals
    if not args.quiet and not args.json_events:
        err.print(
            f"{totals.generated} generated, {totals.cached} from cache; report: {video.result.report_path}"
            + (f"; {review}" if review else ""),
            markup=False,
        )
    out.print(str(video.result.output), markup=False)
    return EXIT_OK

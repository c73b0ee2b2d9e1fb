"""The `storyboard render` command: wiring, the embedded emulator, progress and exit codes.

Owns: choosing the service (the real one with ACEDATACLOUD_API_TOKEN, else the embedded
emulator on a free loopback port, announced in one line), building the client, cache and
journal, `--dry-run`, `--force` checks, the progress view and how each failure ends (exit
code and message). Part of the command-line layer: nothing imports it but cli.py.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from rich.console import Console

from storyboard.cache import Cache, default_cache_dir
from storyboard.capabilities import PRICE_CURRENCY
from storyboard.client import SeedanceClient
from storyboard.config import TOKEN_ENV, ServiceConfig
from storyboard.errors import (
    APIError,
    AssembleError,
    AuthenticationError,
    ConfigError,
    InsufficientBalanceError,
    Issue,
    RenderError,
    RenderInterrupted,
)
from storyboard.journal import Journal
from storyboard.load import Loaded, load
from storyboard.plan import Plan, make_plan
from storyboard.progress import JsonEvents, LiveView, Silent
from storyboard.render import RenderOptions, output_path, render
from storyboard.scheduler import PollPolicy

__all__ = ["EMBEDDED_NOTICE", "run_render"]

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_SERVICE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EMBEDDED_NOTICE = (
    f"{TOKEN_ENV} is not set: rendering with the built-in emulator (free placeholder clips). "
    f"To render with SeeDance on AceData Cloud, set {TOKEN_ENV}."
)
# The embedded emulator answers in well under a second: poll it briskly.
EMBEDDED_POLL = PollPolicy(minimum=0.1, maximum=1.0, factor=0.2)
EMBEDDED_LATENCY = 0.3


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    from storyboard.variables import parse_var_flags, read_vars_file

    variables: dict[str, object] = {}
    if args.vars:
        variables.update(read_vars_file(Path(args.vars)))
    variables.update(parse_var_flags(args.var))
    return variables


def _force(args: argparse.Namespace, plan: Plan) -> set[str] | Literal[True] | None:
    if args.force is None:
        return None
    if not args.force:
        return True
    known = [j.id for j in plan.jobs]
    unknown = [s for s in args.force if s not in known]
    if unknown:
        raise ConfigError(
            [Issue("--force", 0, 0, "", f'unknown shot "{s}" (shots: {", ".join(known)})') for s in unknown]
        )
    return set(args.force)


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


def _dry_run(loaded: Loaded, plan: Plan, cache: Cache, journal: Journal, force: object, out: Console) -> int:
    pay = 0.0
    unknown_price = False
    for job in plan.jobs:
        forced = force is True or (isinstance(force, set) and job.id in force)
        if not forced and cache.get(job.cache_key) is not None:
            state = "cached (free)"
        elif journal.get(job.cache_key) is not None:
            state = "in flight from an earlier render (resume polling; free)"
        else:
            state = "generate"
            if job.estimated_cost is None:
                unknown_price = True
            else:
                pay += job.estimated_cost
        needs = f" after {', '.join(job.depends_on)}" if job.depends_on else ""
        out.print(f"{job.id}: {state}{needs} — {job.width}x{job.height}, {job.seconds:g} s, "
                  f"~{job.estimated_tokens:,} tokens", markup=False)  # fmt: skip
    total = f"{pay:.4f} {PRICE_CURRENCY}" + (" + shots without a published price" if unknown_price else "")
    out.print(f"would pay about {total}; output {output_path(loaded)}; nothing was sent", markup=False)
    return EXIT_OK


def run_render(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Run `storyboard render`; returns the exit code."""
    loaded = load(args.file, overrides=_overrides(args))
    if not args.quiet:
        for issue in loaded.warnings:
            err.print(str(issue), style="yellow", markup=False)
    config = ServiceConfig.from_env()
    plan = make_plan(loaded, service=config.identity if config.token else "emulator")
    force = _force(args, plan)
    cache_root = default_cache_dir(os.environ)
    cache = Cache(cache_root)
    journal = Journal(cache_root / "journal")
    if args.dry_run:
        return _dry_run(loaded, plan, cache, journal, force, out)
    target = Path(args.out).resolve() if args.out else output_path(loaded)
    options = RenderOptions(
        output=target,
        jobs=args.jobs,
        force=force,
        poll=PollPolicy() if config.token else EMBEDDED_POLL,
        preview=args.preview,
    )
    if args.json_events:
        view: JsonEvents | LiveView | Silent = JsonEvents()
    elif args.quiet:
        view = Silent()
    else:
        view = LiveView(err, [j.id for j in plan.jobs])
    try:
        with _service(config, cache_root, err, args.quiet) as client, view:
            result = render(loaded, plan, client=client, cache=cache, journal=journal, options=options, on_event=view)
    except RenderInterrupted as exc:
        err.print(str(exc), style="red", markup=False)
        return EXIT_INTERRUPTED
    except RenderError as exc:
        err.print(str(exc), style="red", markup=False)
        return EXIT_FAILED
    except (AuthenticationError, InsufficientBalanceError) as exc:
        err.print(f"the service refused the request: {exc}", style="red", markup=False)
        return EXIT_SERVICE
    except APIError as exc:
        err.print(f"service error: {exc}", style="red", markup=False)
        return EXIT_FAILED
    except AssembleError as exc:
        err.print(f"assembly failed: {exc} (the clips are cached; fix and render again)", style="red", markup=False)
        return EXIT_FAILED
    for warning in cache.warnings:
        err.print(f"warning: {warning}", style="yellow", markup=False)
    totals = result.report["totals"]
    if not args.quiet and not args.json_events:
        err.print(
            f"{totals['generated']} generated, {totals['cached']} from cache; "
            f"report: {result.report_path}",
            markup=False,
        )
    out.print(str(result.output), markup=False)
    return EXIT_OK

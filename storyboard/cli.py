"""The `storyboard` command line: argv in, text out, exit code back.

Owns: argument parsing, reading the environment, printing (rich on a terminal, plain when
piped) and mapping errors to exit codes: 0 ok, 1 a render failed, 2 bad input (storyboard,
vars, flags), 3 the service refused us (auth, balance), 130 interrupted. Nothing imports this
module; it may import everything else. Heavy modules (moviepy through assembly, the emulator)
are imported inside the commands that need them, so `validate` and `plan` start fast.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from storyboard import __version__
from storyboard.capabilities import PRICE_CURRENCY, PRICE_SOURCE
from storyboard.config import ServiceConfig
from storyboard.errors import ConfigError, Issue, StoryboardError
from storyboard.variables import VariableSet, variable_sets

if TYPE_CHECKING:
    from storyboard.batch import Batch
    from storyboard.load import Loaded

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_SERVICE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="storyboard",
        description="Render YAML storyboards into videos with ByteDance SeeDance (AceData Cloud).",
    )
    parser.add_argument("--version", action="version", version=f"storyboard {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add_vars(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--var", action="append", default=[], metavar="NAME=VALUE",
            help="set a template variable (overrides vars: and --vars); repeatable",
        )  # fmt: skip
        p.add_argument("--vars", metavar="FILE", help="YAML or JSON mapping of template variables")

    p = sub.add_parser("validate", help="check storyboard files; print warnings and errors")
    p.add_argument("files", nargs="+", metavar="FILE")
    add_vars(p)

    p = sub.add_parser("plan", help="show each shot's API request, cache key and cost; send nothing")
    p.add_argument("file", metavar="FILE")
    add_vars(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("schema", help="print the storyboard JSON Schema")
    p.add_argument("-o", "--out", metavar="FILE", help="write it to FILE instead of stdout")

    p = sub.add_parser(
        "render",
        help="generate the shots (cached ones are free) and assemble the video",
        description="Without ACEDATACLOUD_API_TOKEN the built-in emulator renders placeholder "
        "clips for free; with it, SeeDance on AceData Cloud (ACEDATACLOUD_API_BASE_URL).",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--out", metavar="OUT", help="output video (default: output.path)")
    add_vars(p)
    p.add_argument("--jobs", type=_positive_int, metavar="N",
                   help="tasks running at once on the service (default: the model's limit)")
    p.add_argument("--force", nargs="*", metavar="SHOT",
                   help="generate again even if cached: all shots, or the named ones")
    p.add_argument("--dry-run", action="store_true",
                   help="show what would be generated and what it costs; send nothing")
    p.add_argument("--preview", action="store_true",
                   help="assemble at low resolution with a fast preset, for a quick look")
    p.add_argument("--max-cost", type=float, metavar="AMOUNT",
                   help=f"refuse to start if the new generations are estimated above AMOUNT ({PRICE_CURRENCY})")
    p.add_argument("--max-shots", type=int, metavar="N", help="refuse to start if more than N shots need generating")
    p.add_argument("--max-rpm", type=_positive_int, metavar="N",
                   help="at most N create requests per minute (default: the model's documented limit)")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--json-events", action="store_true", help="one JSON line per shot state change")
    shown.add_argument("--quiet", action="store_true", help="print only errors and the output path")

    p = sub.add_parser("emulator", help="run the offline SeeDance emulator (an HTTP server)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--latency", type=float, default=2.0, metavar="SECONDS",
                   help="how long tasks stay pending (default 2; the real service takes 60-120)")
    p.add_argument("--request-log", metavar="FILE", help="append one JSON line per request")
    p.add_argument("--faults", default="", metavar="SPEC",
                   help="inject faults, e.g. create429=2,poll500=1,dropdl=1,fail=TEXT")
    p.add_argument("--token", metavar="T", help="accept only this bearer token (default: any)")
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer (got {text!r})") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer (got {value})")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    # piped output is read by people in logs too: don't squeeze tables to 80 columns.
    # emoji=False: messages quote user values, and ":fox_face:" must print as typed
    out = Console(highlight=False, soft_wrap=True, emoji=False, width=None if sys.stdout.isatty() else 160)
    err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
    try:
        if args.command == "validate":
            return _validate(args, out, err)
        if args.command == "plan":
            return _plan(args, out, err)
        if args.command == "schema":
            return _schema(args, out)
        if args.command == "render":
            from storyboard.render_cli import run_render

            return run_render(args, out, err)
        if args.command == "emulator":
            return _emulator(args, out, err)
    except ConfigError as exc:
        _print_issues(exc.issues, err)
        return EXIT_INPUT
    except KeyboardInterrupt:  # outside generation (that path says which tasks still run)
        err.print("interrupted; finished shots are cached, so running the same command again resumes", markup=False)
        return EXIT_INTERRUPTED
    except StoryboardError as exc:  # e.g. an unusable cache directory: one line, no traceback
        err.print(f"error: {exc}", markup=False)
        return EXIT_FAILED
    except OSError as exc:  # the disk, not the input: full, read-only, permissions
        where = f" ({exc.filename})" if exc.filename else ""
        err.print(f"error: {exc.strerror or exc}{where}", markup=False)
        return EXIT_FAILED
    raise AssertionError(f"unhandled command {args.command}")  # argparse makes this unreachable


def _print_issues(issues: Sequence[Issue], console: Console) -> None:
    for issue in issues:
        style = "yellow" if issue.severity == "warning" else "red"
        console.print(str(issue), style=style, markup=False)


def print_warnings(loaded: Iterable[Loaded], console: Console) -> None:
    """Warnings of every variant, each once (rows of a batch share most of them)."""
    _print_issues(list(dict.fromkeys(w for one in loaded for w in one.warnings)), console)


def sets_from_args(args: argparse.Namespace) -> list[VariableSet]:
    """The variable sets `--var` and `--vars` ask for (one, or one per variants row)."""
    return variable_sets(args.var, Path(args.vars) if args.vars else None)


def service_identity(config: ServiceConfig) -> str:
    """Who will render, for cache keys: the configured service, or the embedded emulator."""
    return config.identity if config.token else "emulator"


def _validate(args: argparse.Namespace, out: Console, err: Console) -> int:
    from storyboard.batch import load_variants

    sets = sets_from_args(args)
    code = EXIT_OK
    for file in args.files:
        try:
            loaded_sets = load_variants(file, sets)
        except ConfigError as exc:
            _print_issues(exc.issues, err)
            code = EXIT_INPUT
            continue
        print_warnings((loaded for _, loaded, _ in loaded_sets), err)
        n = len(loaded_sets[0][1].board.shots)
        rows = f", {len(loaded_sets)} variants" if len(loaded_sets) > 1 else ""
        out.print(f"{file}: ok ({n} shot{'s' if n != 1 else ''}{rows})", markup=False)
    return code


def _plan(args: argparse.Namespace, out: Console, err: Console) -> int:
    from storyboard.batch import load_batch

    batch = load_batch(args.file, sets_from_args(args), service=service_identity(ServiceConfig.from_env()))
    print_warnings((v.loaded for v in batch.variants), err)
    if len(batch.variants) > 1:
        return _plan_variants(batch, args.json, out)
    plan = batch.plan
    if args.json:
        out.print_json(json.dumps(plan.to_json(), ensure_ascii=False))
        return EXIT_OK
    # user text goes through escape(): "[draft]" in a name is text, not rich markup
    table = Table(title=escape(f"{plan.name}: {len(plan.jobs)} shots ({plan.service})"))
    for column in ("shot", "model", "size", "length", "needs", "tokens", f"cost {PRICE_CURRENCY}", "cache key"):
        table.add_column(column, no_wrap=True)
    for job in plan.jobs:
        length = f"{job.seconds:g} s / {job.frames} fr"
        cost = "n/a" if job.estimated_cost is None else f"{job.estimated_cost:.4f}"
        table.add_row(
            job.id, job.model.removeprefix("doubao-seedance-"), f"{job.width}x{job.height}", length, ", ".join(job.depends_on) or "-",
            f"{job.estimated_tokens:,}", cost, job.cache_key[:12],
        )  # fmt: skip
    out.print(table)
    for job in plan.jobs:
        out.print(f"[bold]{job.id}[/bold] request:")
        out.print(json.dumps(job.display_request(), ensure_ascii=False), markup=False)
    out.print(f"total: {plan.estimated_tokens:,} tokens, estimated cost {_cost_words(plan.estimated_cost)}", markup=False)
    out.print(f"prices: {PRICE_SOURCE}", markup=False)
    return EXIT_OK


def _cost_words(cost: float | None) -> str:
    return "n/a (no published price for a model)" if cost is None else f"{cost:.4f} {PRICE_CURRENCY}"


def _plan_variants(batch: Batch, as_json: bool, out: Console) -> int:
    if as_json:
        out.print_json(json.dumps(batch.to_json(), ensure_ascii=False))
        return EXIT_OK
    table = Table(title=escape(f"{batch.plan.name}: {len(batch.variants)} variants ({batch.plan.service})"))
    for column in ("row", "output", "new shots", "shared shots"):
        table.add_column(column)
    for v in batch.variants:
        new = [j.id for j in v.plan.jobs if not batch.shared(v, j.id)]
        shared = [j.id for j in v.plan.jobs if batch.shared(v, j.id)]
        table.add_row(str(v.number), escape(str(v.output)), ", ".join(new) or "-", ", ".join(shared) or "-")
    out.print(table)
    plan = batch.plan
    cost = _cost_words(plan.estimated_cost)
    out.print(
        f"total: {len(plan.jobs)} unique generations for {sum(len(v.plan.jobs) for v in batch.variants)} "
        f"shots, {plan.estimated_tokens:,} tokens, estimated cost {cost}",
        markup=False,
    )
    out.print(f"prices: {PRICE_SOURCE}", markup=False)
    return EXIT_OK


def _emulator(args: argparse.Namespace, out: Console, err: Console) -> int:
    from storyboard.emulator import Emulator, parse_faults

    try:
        faults = parse_faults(args.faults)
    except ValueError as exc:
        err.print(f"--faults: {exc}", markup=False)
        return EXIT_INPUT
    emulator = Emulator(
        host=args.host, port=args.port, latency=args.latency, token=args.token, faults=faults,
        request_log=Path(args.request_log) if args.request_log else None,
    )  # fmt: skip
    try:
        emulator.start()
    except OSError as exc:
        err.print(f"emulator: cannot listen on {args.host}:{args.port}: {exc.strerror}", markup=False)
        return EXIT_INPUT
    out.print(f"SeeDance emulator listening on {emulator.url} (Ctrl-C stops it)", markup=False)
    out.print(
        f"render against it: ACEDATACLOUD_API_BASE_URL={emulator.url} "
        "ACEDATACLOUD_API_TOKEN=any storyboard render FILE",
        markup=False,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        out.print("emulator stopped", markup=False)
    finally:
        emulator.stop()
    return EXIT_OK


def _schema(args: argparse.Namespace, out: Console) -> int:
    from storyboard.schema import schema_text

    text = schema_text()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK

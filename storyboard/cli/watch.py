"""`storyboard watch FILE`: on every save, validate, show what changed and render it again.

Owns: which files are watched (the storyboard, its `--vars` file and every local input it names,
from `spec.inputs`), one cycle per change — load (located errors, then keep watching), the shots
that will be generated and what they cost, then a render through `storyboard render`'s own
`run`, with one service (the embedded emulator, or with `--live` the real one) kept for the
whole session — and the rule that with a token nothing is paid for without `--live`. Unchanged
shots come from the cache, so a cycle generates only what the edit changed and re-assembles the
video. Part of the command-line layer.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from rich.console import Console

from storyboard.cli import render
from storyboard.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_SERVICE,
    add_vars,
    cost_words,
    print_issues,
    print_warnings,
    service_identity,
    sets_from_args,
)
from storyboard.cli.remote import open_cache
from storyboard.engine.settle import Cached, Generate, Resume, settle_plan
from storyboard.engine.variants import Batch, load_batch
from storyboard.errors import ConfigError, Issue
from storyboard.seedance.client import SeedanceClient
from storyboard.seedance.config import TOKEN_ENV, ServiceConfig
from storyboard.spec.inputs import local_inputs
from storyboard.store.cache import default_cache_dir
from storyboard.store.journal import Journal
from storyboard.store.tiered import TieredCache

__all__ = ["WATCHING", "add_parser", "run"]

WATCHING = "watching for changes… (Ctrl-C to stop)"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "watch",
        help="validate, plan and render again on every save (only changed shots are generated)",
        description=f"Watches FILE, its --vars file and the images, music and fonts it names. Without "
        f"{TOKEN_ENV} every change renders with the built-in emulator (free); with it, each change shows "
        "what it would cost, and renders for real only with --live.",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--out", metavar="OUT", help="output video (default: output.path)")
    add_vars(p)
    p.add_argument("--live", action="store_true", help=f"with {TOKEN_ENV} set: render each change for real (paid)")


def _render_args(args: argparse.Namespace) -> argparse.Namespace:
    """`storyboard render FILE ...` as its own parser reads it: every render default applies."""
    parser = argparse.ArgumentParser(prog="storyboard")
    render.add_parser(parser.add_subparsers(dest="command"))
    argv = ["render", args.file, *(["-o", args.out] if args.out else [])]
    argv += [f"--var={v}" for v in args.var] + ([f"--vars={args.vars}"] if args.vars else [])
    return parser.parse_args(argv)


class _Session:
    """What lives as long as the watch: the service, the cache (read only, for the preview) and
    the set of files whose change starts a cycle."""

    def __init__(self, args: argparse.Namespace, config: ServiceConfig, out: Console, err: Console) -> None:
        self.args, self.config, self.out, self.err = args, config, out, err
        self.render_args = _render_args(args)
        cache_root = default_cache_dir(os.environ)
        self.cache: TieredCache = open_cache(cache_root, self.render_args)
        self.cache.local.read_only = True  # the preview only looks; the render writes
        self.journal = Journal(cache_root / "journal")
        self.cache_root = cache_root
        self.file = Path(args.file).resolve()
        self.always = {self.file} | ({Path(args.vars).resolve()} if args.vars else set())
        self.watched: set[Path] = set(self.always)
        self.service: SeedanceClient | None = None

    def cycle(self, changed: Iterable[Path], *, first: bool = False) -> int | None:
        """Load, preview and render once; an exit code when the watch must stop, else None."""
        names = ", ".join(sorted(_shown(p) for p in changed)) + ("" if first else " changed")
        try:
            batch = load_batch(
                self.args.file, sets_from_args(self.args), service=service_identity(self.config),
                output=Path(self.args.out).resolve() if self.args.out else None,
            )  # fmt: skip
        except ConfigError as exc:
            print_issues(exc.issues, self.err)
            return None
        # what the last valid load names (an invalid save keeps the set it had)
        self.watched = self.always | {
            p for v in batch.variants for p in local_inputs(v.loaded.board, v.loaded.base_dir)
        }
        paying = self._preview(batch, names)
        if self.config.token and not self.args.live:
            print_warnings((v.loaded for v in batch.variants), self.err)  # else the render prints them
            if paying:
                self.err.print(f"watch: not rendered: {TOKEN_ENV} is set; run with --live to pay for it", markup=False)
            return None
        try:
            code = render.run(self.render_args, self.out, self.err, service=self.service)
        except ConfigError as exc:  # e.g. a lockfile left with a merge conflict: fix it, save, go on
            print_issues(exc.issues, self.err)
            return None
        return code if code in (EXIT_INTERRUPTED, EXIT_SERVICE) else None

    def _preview(self, batch: Batch, names: str) -> bool:
        """Print which shots this cycle will generate (and, with a token, their cost)."""
        settled = settle_plan(batch.plan, cache=self.cache, journal=self.journal, force=None)
        new = [job for job, planned in settled if isinstance(planned, Generate)]
        cached = sum(isinstance(planned, Cached) for _, planned in settled)
        resumed = sum(isinstance(planned, Resume) for _, planned in settled)
        unsent = len(settled) - len(new) - cached - resumed
        shots = "1 shot" if len(new) == 1 else f"{len(new)} shots"
        words = f"{shots} to generate" + (f" ({', '.join(j.id for j in new)})" if new else "") + f", {cached} cached"
        words += f", {resumed} in flight" if resumed else ""
        words += f", {unsent} not sent" if unsent else ""
        if self.config.token and new:
            priced = [j.estimated_cost for j in new]
            words += f"; about {cost_words(None if None in priced else sum(c or 0.0 for c in priced))}"
        self.err.print(f"watch: {names} — {words}", markup=False)
        return bool(new)

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        """One service for the session: the embedded emulator without a token, the real one with --live."""
        if self.config.token and not self.args.live:
            yield
            return
        with render.open_service(self.config, self.cache_root, self.err, quiet=False) as client:
            self.service = client
            yield


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _changes(session: _Session) -> Iterator[set[Path]]:
    """Sets of changed watched files, one per save. The folders holding them are watched (not
    the files: an editor that saves by renaming a new file over the old one would end a watch
    on the file), restarted when a cycle names a file in a folder not watched yet."""
    import watchfiles

    def wanted(_change: watchfiles.Change, path: str) -> bool:
        return Path(path).resolve() in session.watched

    while True:
        folders = {p.parent for p in session.watched if p.parent.is_dir()}
        ready = False
        # yield_on_timeout: an empty set once the watcher is running, so "watching" is never early
        for changes in watchfiles.watch(
            *sorted(folders), watch_filter=wanted, recursive=False, yield_on_timeout=True, rust_timeout=300
        ):
            if not changes:
                if not ready:
                    session.err.print(WATCHING, markup=False)
                    ready = True
                continue
            yield {Path(path).resolve() for _, path in changes}
            ready = False
            if {p.parent for p in session.watched if p.parent.is_dir()} != folders:
                break


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Run `storyboard watch`; returns the exit code (130 after Ctrl-C)."""
    config = ServiceConfig.from_env()
    if not Path(args.file).resolve().parent.is_dir():
        raise ConfigError([Issue(args.file, 0, 0, "", "its folder does not exist")])
    session = _Session(args, config, out, err)
    try:
        with session.serving():
            code = session.cycle([session.file], first=True)
            changes = _changes(session)
            while code is None:
                code = session.cycle(next(changes))
            return code
    except KeyboardInterrupt:
        # not through `err`: a Ctrl-C that lands inside one of its prints leaves that line in its
        # buffer, and rich would print it a second time before this one
        sys.stderr.write("watch: stopped\n")
        return EXIT_INTERRUPTED

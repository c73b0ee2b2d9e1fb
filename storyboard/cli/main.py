"""`storyboard` entry point: parse argv, run one command, map what escapes it to an exit code.

Owns the parser's top level and the last line of defence: a ConfigError prints its issues
(exit 2), Ctrl-C outside generation exits 130, any other storyboard or OS error is one line
(exit 1), never a traceback. Each command lives in its own module (``add_parser`` + ``run``);
the heavy ones are imported only when chosen, so `validate` and `plan` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import Protocol

from rich.console import Console

from storyboard import __version__
from storyboard.cli.common import EXIT_FAILED, EXIT_INPUT, EXIT_INTERRUPTED, print_issues
from storyboard.errors import ConfigError, StoryboardError

__all__ = ["main"]

COMMANDS = ("init", "validate", "plan", "render", "pick", "watch", "cache", "merge", "emulator", "schema")


class _Command(Protocol):
    """What each command module provides."""

    def add_parser(self, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None: ...

    def run(self, args: argparse.Namespace, out: Console, err: Console) -> int: ...


def _command(name: str) -> _Command:
    module: _Command = importlib.import_module(f"storyboard.cli.{name}")  # a module is duck-typed against _Command
    return module


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="storyboard",
        description="Render YAML storyboards into videos with ByteDance SeeDance (AceData Cloud).",
    )
    parser.add_argument("--version", action="version", version=f"storyboard {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        _command(name).add_parser(sub)
    return parser


def _mute_printed_loggers() -> None:
    """The caches' warnings are printed by the commands (``warning: ...``, once); without a
    handler of their own, Python's last-resort handler would print each one a second time."""
    logger = logging.getLogger("storyboard.store")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    # piped output is read by people in logs too: don't squeeze tables to 80 columns.
    # emoji=False: messages quote user values, and ":fox_face:" must print as typed
    out = Console(highlight=False, soft_wrap=True, emoji=False, width=None if sys.stdout.isatty() else 160)
    err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
    _mute_printed_loggers()
    try:
        return _command(args.command).run(args, out, err)
    except ConfigError as exc:
        print_issues(exc.issues, err)
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

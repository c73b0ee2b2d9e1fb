"""Pieces every command shares: exit codes, printing issues and warnings, variable sets from
flags, the service identity and how a cost is worded.

Part of the command-line layer; imported by the command modules only.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from storyboard.errors import Issue
from storyboard.seedance.capabilities import PRICE_CURRENCY
from storyboard.seedance.config import ServiceConfig
from storyboard.spec.model import MAX_TAKES
from storyboard.spec.variables import VariableSet, variable_sets

if TYPE_CHECKING:
    from storyboard.spec.load import Loaded

__all__ = [
    "EXIT_FAILED", "EXIT_FROZEN", "EXIT_INPUT", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_SERVICE", "add_takes", "add_vars",
    "cost_words",
    "print_issues", "print_warnings", "service_identity", "sets_from_args",
]  # fmt: skip

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_SERVICE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_FROZEN = 4
"""``render --frozen`` refused: a shot would be generated that the lockfile and caches do not supply."""


def add_vars(p: argparse.ArgumentParser) -> None:
    """The --var / --vars flags of every command that loads a storyboard."""
    p.add_argument(
        "--var", action="append", default=[], metavar="NAME=VALUE",
        help="set a template variable (overrides vars: and --vars); repeatable",
    )  # fmt: skip
    p.add_argument("--vars", metavar="FILE", help="YAML or JSON mapping of template variables")


def add_takes(p: argparse.ArgumentParser) -> None:
    """The --takes flag of every command that plans a storyboard."""
    p.add_argument(
        "--takes", type=_takes, metavar="N",
        help=f"generate N takes of every shot (1 to {MAX_TAKES}), overriding takes: in the file",
    )  # fmt: skip


def _takes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of takes (got {text!r})") from None
    if not 1 <= value <= MAX_TAKES:
        raise argparse.ArgumentTypeError(f"expected 1 to {MAX_TAKES} takes (got {value})")
    return value


def print_issues(issues: Sequence[Issue], console: Console) -> None:
    for issue in issues:
        style = "yellow" if issue.severity == "warning" else "red"
        console.print(str(issue), style=style, markup=False)


def print_warnings(loaded: Iterable[Loaded], console: Console) -> None:
    """Warnings of every variant, each once (rows of a batch share most of them)."""
    print_issues(list(dict.fromkeys(w for one in loaded for w in one.warnings)), console)


def sets_from_args(args: argparse.Namespace) -> list[VariableSet]:
    """The variable sets `--var` and `--vars` ask for (one, or one per variants row)."""
    return variable_sets(args.var, Path(args.vars) if args.vars else None)


def service_identity(config: ServiceConfig) -> str:
    """Who will render, for cache keys: the configured service, or the embedded emulator."""
    return config.identity if config.token else "emulator"


def cost_words(cost: float | None) -> str:
    return "n/a (no published price for a model)" if cost is None else f"{cost:.4f} {PRICE_CURRENCY}"

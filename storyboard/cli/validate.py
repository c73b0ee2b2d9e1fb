"""`storyboard validate FILE...`: check storyboards, print warnings and errors.

Part of the command-line layer.
"""

from __future__ import annotations

import argparse

from rich.console import Console

from storyboard.cli.common import EXIT_INPUT, EXIT_OK, add_vars, print_issues, print_warnings, sets_from_args
from storyboard.errors import ConfigError

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("validate", help="check storyboard files; print warnings and errors")
    p.add_argument("files", nargs="+", metavar="FILE")
    add_vars(p)


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    from storyboard.engine.variants import load_variants

    sets = sets_from_args(args)
    code = EXIT_OK
    for file in args.files:
        try:
            loaded_sets = load_variants(file, sets)
        except ConfigError as exc:
            print_issues(exc.issues, err)
            code = EXIT_INPUT
            continue
        print_warnings((loaded for _, loaded, _ in loaded_sets), err)
        n = len(loaded_sets[0][1].board.shots)
        rows = f", {len(loaded_sets)} variants" if len(loaded_sets) > 1 else ""
        out.print(f"{file}: ok ({n} shot{'s' if n != 1 else ''}{rows})", markup=False)
    return code

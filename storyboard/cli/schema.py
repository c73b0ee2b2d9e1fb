"""`storyboard schema`: print (or write) the storyboard JSON Schema.

Part of the command-line layer.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from storyboard.cli.common import EXIT_OK

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("schema", help="print the storyboard JSON Schema")
    p.add_argument("-o", "--out", metavar="FILE", help="write it to FILE instead of stdout")


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    from storyboard.spec.schema import schema_text

    text = schema_text()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK

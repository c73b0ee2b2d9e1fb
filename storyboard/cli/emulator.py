"""`storyboard emulator`: run the offline SeeDance emulator as an HTTP server until Ctrl-C.

Part of the command-line layer.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console

from storyboard.cli.common import EXIT_INPUT, EXIT_OK

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("emulator", help="run the offline SeeDance emulator (an HTTP server)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument(
        "--latency",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="how long tasks stay pending (default 2; the real service takes 60-120)",
    )
    p.add_argument("--request-log", metavar="FILE", help="append one JSON line per request")
    p.add_argument(
        "--faults", default="", metavar="SPEC", help="inject faults, e.g. create429=2,poll500=1,dropdl=1,fail=TEXT"
    )
    p.add_argument("--token", metavar="T", help="accept only this bearer token (default: any)")
    p.add_argument(
        "--strict",
        action="store_true",
        help="refuse create fields the service ignores (service_tier) instead of ignoring them",
    )


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    from storyboard.emulator import Emulator, parse_faults

    try:
        faults = parse_faults(args.faults)
    except ValueError as exc:
        err.print(f"--faults: {exc}", markup=False)
        return EXIT_INPUT
    emulator = Emulator(
        host=args.host, port=args.port, latency=args.latency, token=args.token, faults=faults,
        request_log=Path(args.request_log) if args.request_log else None, strict=args.strict,
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

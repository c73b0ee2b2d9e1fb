"""`storyboard init [DIR]`: write a starter storyboard, with a photo and music, that renders offline.

Owns: the list of starter files (shipped as package data in ``storyboard/starter/``), where
each goes in DIR, refusing to write over anything that exists, and the next steps it prints.
Part of the command-line layer.
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from rich.console import Console

from storyboard.cli.common import EXIT_OK
from storyboard.errors import ConfigError, Issue

__all__ = ["STARTER", "add_parser", "run"]

STARTER: dict[str, str] = {
    "storyboard.yaml": "storyboard.yaml",
    "media/photo.jpg": "photo.jpg",
    "media/music.mp3": "music.mp3",
    "media/CREDITS.md": "CREDITS.md",  # the photo is CC BY: its credit travels with it
}
"""Path in DIR -> file in ``storyboard/starter/``."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "init",
        help="write a starter storyboard (with a photo and music) that renders offline",
        description="Writes DIR/storyboard.yaml and DIR/media/ (a photo, music and their credits); "
        "never writes over an existing file.",
    )
    p.add_argument("dir", nargs="?", default=".", metavar="DIR", help="folder to write into (default: here)")


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    folder = Path(args.dir)
    targets = {folder / rel: name for rel, name in STARTER.items()}
    present = [str(path) for path in targets if path.exists() or path.is_symlink()]
    if present:
        verb = "exists" if len(present) == 1 else "exist"
        raise ConfigError([Issue("init", 0, 0, "", f"{', '.join(present)} already {verb}; nothing was written")])
    starter = resources.files("storyboard") / "starter"
    for path, name in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "xb") as fh:  # "x": a file that appeared since the check is not overwritten either
            fh.write((starter / name).read_bytes())
    board = folder / "storyboard.yaml"
    out.print(f"wrote {board} and {folder / 'media'}/ (a photo, music and their credits)", markup=False)
    out.print("next:", markup=False)
    out.print(f"  storyboard render {board}   # without ACEDATACLOUD_API_TOKEN: a free offline animatic", markup=False)
    out.print(f"  storyboard watch {board}    # re-renders what changed on every save", markup=False)
    return EXIT_OK

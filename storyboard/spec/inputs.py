"""The local files a storyboard reads: its images, music and fonts (what `storyboard watch` watches).

Owns: finding every local input path in a validated `Storyboard`, generically: any `path` or
`font` string in any of its models (an image, the music, a caption or title font, and whatever
asset a later format version adds with a `path`), except `output.path`, which is written, not
read. Pure: nothing is opened. Must not import load, plan, client, render, assemble or the CLI.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from storyboard.spec.model import Output, Storyboard

__all__ = ["local_inputs"]

_FILE_FIELDS = ("path", "font")


def local_inputs(board: Storyboard, base_dir: Path) -> frozenset[Path]:
    """Absolute paths of the local files `board` reads; relative ones resolve in `base_dir`."""
    found = set()
    for name in _strings(board):
        path = Path(name).expanduser()
        found.add((path if path.is_absolute() else base_dir / path).resolve())
    return frozenset(found)


def _strings(node: object) -> Iterator[str]:
    if isinstance(node, BaseModel):
        for field in type(node).model_fields:
            value = getattr(node, field)
            if field in _FILE_FIELDS and isinstance(value, str) and not (isinstance(node, Output) and field == "path"):
                yield value
            else:
                yield from _strings(value)
    elif isinstance(node, (tuple, list)):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, dict):  # `assets:` (and `vars:`, whose plain values are not models)
        for item in node.values():
            yield from _strings(item)

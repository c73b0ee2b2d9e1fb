"""Crash-safe file writes: readers see the old file or the new one, never half of either.

Owns: writing bytes through a temporary file in the same directory, fsync, ``os.replace``,
and making the rename itself durable (fsync of the directory). Used by the cache, the journal,
downloads and reports. Must not import anything from the package: it is a bottom layer.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["fsync_dir", "write_atomic"]


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable (a no-op where directories can't be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse to sync a directory; the rename still happened
        pass
    finally:
        os.close(fd)


def write_atomic(dest: Path, data: bytes) -> None:
    """Write `data` to `dest` so that readers see the old file or the new one, never half."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(dest.parent)

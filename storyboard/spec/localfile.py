"""Local input files as the language reads them: whether one is there, its memo key, its hash.

Owns: the stat and is-a-file check every local input (image, video, audio) goes through before it
is read, and content hashing in bounded chunks. ``images.py`` and ``media.py`` build on it.
Must not import models, the loader, the client or anything above them.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["sha256_of", "stat_key"]


def stat_key(path: Path) -> tuple[str, int, int] | str:
    """(path, size, mtime_ns) for a readable regular file: a memo key that changes with the file,
    or a message saying why there is no such file."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "file not found"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if not os.path.isfile(path):
        return "is not a file"
    return str(path), st.st_size, st.st_mtime_ns


def sha256_of(path: str) -> str:
    """The file's SHA-256 hex digest, read 1 MiB at a time (inputs may be tens of MB)."""
    digest = hashlib.sha256()  # not hashlib.file_digest: Python 3.11+, and 3.10 is supported
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()

"""Content-addressed store of generated clips and their last frames.

Owns: the on-disk layout ``<root>/clips/<key[:2]>/<key>/{clip.mp4, last_frame.png, meta.json}``,
atomic writes (temp file + fsync + ``os.replace``; ``meta.json`` is written last and is the
commit mark), verification on read (a missing or altered file is a miss with a warning, never a
crash) and the default location. Knows files, keys and metadata, not shots or the API. Must not
import plan, render, client or the CLI.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platformdirs import user_cache_dir

from storyboard.atomic import write_atomic
from storyboard.errors import CacheError

__all__ = ["CACHE_DIR_ENV", "Cache", "CachedClip", "default_cache_dir", "sha256_file"]

log = logging.getLogger(__name__)
CACHE_DIR_ENV = "STORYBOARD_CACHE_DIR"


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    """``$STORYBOARD_CACHE_DIR``, else the user cache directory (e.g. ~/.cache/storyboard)."""
    configured = environ.get(CACHE_DIR_ENV, "").strip()
    return Path(configured).expanduser() if configured else Path(user_cache_dir("storyboard"))


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


@dataclass(frozen=True)
class CachedClip:
    """A verified cache entry."""

    key: str
    clip: Path
    last_frame: Path | None
    meta: dict[str, Any]


class Cache:
    """Clips by cache key under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.warnings: list[str] = []
        try:
            (root / "clips").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheError(f"cache directory {root} cannot be created: {exc.strerror}") from None

    def __repr__(self) -> str:
        return f"Cache({str(self.root)!r})"

    def entry_dir(self, key: str) -> Path:
        return self.root / "clips" / key[:2] / key

    def get(self, key: str) -> CachedClip | None:
        """The entry for `key`, or None when absent or corrupt (corrupt: warned and removed)."""
        folder = self.entry_dir(key)
        meta_file = folder / "meta.json"
        if not meta_file.exists():
            return None
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            clip = folder / "clip.mp4"
            if sha256_file(clip) != meta["clip_sha256"]:
                raise ValueError("clip checksum mismatch")
            last = folder / "last_frame.png"
            if meta.get("last_frame_sha256"):
                if sha256_file(last) != meta["last_frame_sha256"]:
                    raise ValueError("last frame checksum mismatch")
            else:
                last = None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            self._discard(key, f"cache entry {key[:12]} is corrupt ({reason}); generating again")
            return None
        return CachedClip(key, clip, last, meta)

    def _discard(self, key: str, message: str) -> None:
        log.warning(message)
        self.warnings.append(message)
        shutil.rmtree(self.entry_dir(key), ignore_errors=True)

    def put(self, key: str, clip: Path, last_frame: Path | None, meta: Mapping[str, Any]) -> CachedClip:
        """Move `clip` (and `last_frame`) into the entry for `key`; returns the new entry."""
        folder = self.entry_dir(key)
        folder.mkdir(parents=True, exist_ok=True)
        record = dict(meta)
        record["clip_sha256"] = sha256_file(clip)
        record["clip_bytes"] = clip.stat().st_size
        os.replace(clip, folder / "clip.mp4")
        kept: Path | None = None
        record["last_frame_sha256"] = None
        if last_frame is not None:
            record["last_frame_sha256"] = sha256_file(last_frame)
            kept = folder / "last_frame.png"
            os.replace(last_frame, kept)
        # meta.json last: an entry without it is invisible, so a crash never leaves a half entry
        write_atomic(folder / "meta.json", json.dumps(record, indent=2, sort_keys=True).encode())
        return CachedClip(key, folder / "clip.mp4", kept, record)

    def add_last_frame(self, entry: CachedClip, png: Path) -> CachedClip:
        """Store a last frame taken later (for a shot that became a chain's upstream)."""
        folder = self.entry_dir(entry.key)
        record = dict(entry.meta)
        record["last_frame_sha256"] = sha256_file(png)
        os.replace(png, folder / "last_frame.png")
        write_atomic(folder / "meta.json", json.dumps(record, indent=2, sort_keys=True).encode())
        return CachedClip(entry.key, entry.clip, folder / "last_frame.png", record)

    def staging_dir(self) -> Path:
        """A directory on the cache's file system for downloads (so put() is a rename)."""
        path = self.root / "staging"
        path.mkdir(parents=True, exist_ok=True)
        return path

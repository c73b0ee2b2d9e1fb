"""Content-addressed store of generated clips and their last frames.

Owns: the on-disk layout ``<root>/clips/<key[:2]>/<key>/{clip.mp4, last_frame.png, meta.json}``,
the entry record ``ClipMeta`` (versioned and validated on read: an entry written by another
version of the format is a miss, never a crash), atomic writes (temp file + fsync +
``os.replace``; ``meta.json`` is written last and is the commit mark), verification on read (a
missing or altered file is a miss with a warning) and the default location. Knows files, keys
and records, not shots or the API. Must not import spec, engine, seedance or the CLI.
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
from pydantic import BaseModel, ConfigDict, ValidationError

from storyboard.errors import CacheError
from storyboard.store.atomic import write_atomic

__all__ = [
    "CACHE_DIR_ENV",
    "META_VERSION",
    "Cache",
    "CachedClip",
    "ClipMeta",
    "ClipOrigin",
    "default_cache_dir",
    "sha256_file",
]

log = logging.getLogger(__name__)
CACHE_DIR_ENV = "STORYBOARD_CACHE_DIR"
META_VERSION = 1
"""The format of ``meta.json``; entries without the field were written by 0.1 in this format."""


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    """``$STORYBOARD_CACHE_DIR``, else the user cache directory (e.g. ~/.cache/storyboard)."""
    configured = environ.get(CACHE_DIR_ENV, "").strip()
    return Path(configured).expanduser() if configured else Path(user_cache_dir("storyboard"))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:  # hashlib.file_digest is 3.11+; we support 3.10
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class ClipOrigin(BaseModel):
    """Where a clip came from: what the generator knows when it stores it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shot: str
    task_id: str | None
    model: str
    tokens: int | None
    """Tokens the service reported (None when it did not say)."""
    service: str
    """Identity of the service that generated it (as in the cache key)."""
    request_digest: dict[str, Any]
    """The request as ``plan`` shows it (images as digests), for people reading the cache."""
    created: float
    """Unix time the entry was written."""


class ClipMeta(ClipOrigin):
    """``meta.json``: the origin plus what the cache checks the files against."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    version: int = META_VERSION
    clip_sha256: str
    clip_bytes: int
    last_frame_sha256: str | None = None


@dataclass(frozen=True)
class CachedClip:
    """A verified cache entry."""

    key: str
    clip: Path
    last_frame: Path | None
    meta: ClipMeta


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
            raw = json.loads(meta_file.read_text(encoding="utf-8"))
            version = raw.get("version", META_VERSION) if isinstance(raw, dict) else None
            if version != META_VERSION:
                # another storyboard's format: not ours to read, nor to delete
                self._warn(f"cache entry {key[:12]} has format version {version!r}, not {META_VERSION}; not used")
                return None
            meta = ClipMeta.model_validate(raw)
            clip = folder / "clip.mp4"
            if sha256_file(clip) != meta.clip_sha256:
                raise ValueError("clip checksum mismatch")
            last: Path | None = folder / "last_frame.png"
            if meta.last_frame_sha256 is None:
                last = None
            elif sha256_file(folder / "last_frame.png") != meta.last_frame_sha256:
                raise ValueError("last frame checksum mismatch")
        except (OSError, ValueError) as exc:
            if isinstance(exc, ValidationError):
                reason = f"meta.json: {exc.error_count()} invalid field(s)"
            else:
                reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
            self._warn(f"cache entry {key[:12]} is corrupt ({reason}); generating again")
            shutil.rmtree(self.entry_dir(key), ignore_errors=True)
            return None
        return CachedClip(key, clip, last, meta)

    def _warn(self, message: str) -> None:
        log.warning(message)
        self.warnings.append(message)

    def _commit(self, folder: Path, meta: ClipMeta) -> None:
        # meta.json last: an entry without it is invisible, so a crash never leaves a half entry
        write_atomic(folder / "meta.json", meta.model_dump_json(indent=2).encode())

    def put(self, key: str, clip: Path, last_frame: Path | None, origin: ClipOrigin) -> CachedClip:
        """Move `clip` (and `last_frame`) into the entry for `key`; returns the new entry."""
        folder = self.entry_dir(key)
        folder.mkdir(parents=True, exist_ok=True)
        meta = ClipMeta(
            **origin.model_dump(),
            clip_sha256=sha256_file(clip),
            clip_bytes=clip.stat().st_size,
            last_frame_sha256=None if last_frame is None else sha256_file(last_frame),
        )
        os.replace(clip, folder / "clip.mp4")
        kept: Path | None = None
        if last_frame is not None:
            kept = folder / "last_frame.png"
            os.replace(last_frame, kept)
        self._commit(folder, meta)
        return CachedClip(key, folder / "clip.mp4", kept, meta)

    def add_last_frame(self, entry: CachedClip, png: Path) -> CachedClip:
        """Store a last frame taken later (for a shot that became a chain's upstream)."""
        folder = self.entry_dir(entry.key)
        meta = entry.meta.model_copy(update={"last_frame_sha256": sha256_file(png)})
        os.replace(png, folder / "last_frame.png")
        self._commit(folder, meta)
        return CachedClip(entry.key, entry.clip, folder / "last_frame.png", meta)

    def staging_dir(self) -> Path:
        """A directory on the cache's file system for downloads (so put() is a rename)."""
        path = self.root / "staging"
        path.mkdir(parents=True, exist_ok=True)
        return path

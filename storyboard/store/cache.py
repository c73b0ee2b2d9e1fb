"""Content-addressed store of generated clips and their last frames.

Owns: the on-disk layout ``<root>/clips/<key[:2]>/<key>/{clip.mp4, last_frame.png, meta.json}``,
the entry record ``ClipMeta`` (versioned and validated on read: an entry written by another
version of the format is a miss, never a crash), atomic writes, verification on read (a missing
or altered file is a miss with a warning) and the default location. Knows files, keys and
records, not shots or the API. Must not import spec, engine, seedance or the CLI.

Safe with other processes on one cache (``store.locks``): every writer builds in its own staging
directory ``<root>/staging/<pid>-<random>/`` (its downloads, part files and entries being built),
held by a lock while its ``Cache`` lives; a new entry is renamed into place whole, so a reader
sees all of it or nothing. Rewriting an existing entry (``--force``) replaces its files one by
one, ``meta.json`` last, under the key's lock. A reader removes an entry it finds corrupt only
after taking the key's lock itself: an entry whose key someone holds is being written, and is a
plain miss meanwhile. A killed writer leaves nothing but its staging directory, which the next
writer removes once its lock is free.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import tempfile
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platformdirs import user_cache_dir
from pydantic import BaseModel, ConfigDict, ValidationError

from storyboard.errors import CacheError
from storyboard.store.atomic import fsync_dir, write_atomic
from storyboard.store.locks import Claim, Locks

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
    seed: int | None = None
    """The seed the service reported it used (None when it did not say, and in older entries)."""
    video_url: str | None = None
    """The clip's URL on the service (valid 24 hours; a later shot may send it as a reference)."""
    video_url_issued: float | None = None
    """Unix time no later than when that URL was issued (None: unknown, as in older entries)."""


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


@dataclass(frozen=True)
class _Damage:
    """What is wrong with an entry that does not verify."""

    reason: str


class Cache:
    """Clips by cache key under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.warnings: list[str] = []
        self.read_only = False
        """Set for a dry run: a corrupt entry is reported but left where it is."""
        self.locks = Locks.shared(root / "locks")
        self._staging: Path | None = None
        self._mutex = threading.Lock()
        try:
            (root / "clips").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheError(f"cache directory {root} cannot be created: {exc.strerror}") from None

    def __repr__(self) -> str:
        return f"Cache({str(self.root)!r})"

    def entry_dir(self, key: str) -> Path:
        return self.root / "clips" / key[:2] / key

    def get(self, key: str) -> CachedClip | None:
        """The entry for `key`, or None when absent or corrupt (corrupt: warned and removed, when
        the key's lock is free; an entry another render holds is being written: a silent miss)."""
        found = self._read(key)
        if not isinstance(found, _Damage):
            return found
        if self.read_only:
            self._warn(f"cache entry {key[:12]} is corrupt ({found.reason}); a render would generate it again")
            return None
        claim = self.locks.try_claim(key)
        if claim is None:
            log.debug("cache entry %s is being written by another render: a miss for now", key[:12])
            return None
        with claim:
            found = self._read(key)  # a writer may have finished between the first look and the claim
            if isinstance(found, _Damage):
                self._warn(f"cache entry {key[:12]} is corrupt ({found.reason}); generating again")
                shutil.rmtree(self.entry_dir(key), ignore_errors=True)
                return None
        return found

    def _read(self, key: str) -> CachedClip | _Damage | None:
        folder = self.entry_dir(key)
        meta_file = folder / "meta.json"
        if not meta_file.exists():
            return None
        try:
            raw = json.loads(meta_file.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("meta.json is not an object")
            version = raw.get("version", META_VERSION)
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
                return _Damage(f"meta.json: {exc.error_count()} invalid field(s)")
            return _Damage((exc.strerror if isinstance(exc, OSError) else None) or str(exc))
        return CachedClip(key, clip, last, meta)

    def _warn(self, message: str) -> None:
        log.warning(message)  # the CLI prints `warnings` itself and mutes this logger (cli.main)
        self.warnings.append(message)

    def put(self, key: str, clip: Path, last_frame: Path | None, origin: ClipOrigin) -> CachedClip:
        """Move `clip` (and `last_frame`) into the entry for `key`; returns the new entry.

        The entry is built in this writer's staging directory and renamed into place whole. Over
        an existing entry its files are replaced, ``meta.json`` last, under the key's lock (the
        caller's claim, or taken here); when another render holds the key, the entry it wrote is
        kept and returned.
        """
        meta = ClipMeta(
            **origin.model_dump(),
            clip_sha256=sha256_file(clip),
            clip_bytes=clip.stat().st_size,
            last_frame_sha256=None if last_frame is None else sha256_file(last_frame),
        )
        folder = self.entry_dir(key)
        build = Path(tempfile.mkdtemp(prefix=f"entry-{key[:12]}-", dir=self.staging_dir()))
        try:
            os.replace(clip, build / "clip.mp4")
            if last_frame is not None:
                os.replace(last_frame, build / "last_frame.png")
            write_atomic(build / "meta.json", meta.model_dump_json(indent=2).encode())
            folder.parent.mkdir(parents=True, exist_ok=True)
            if not self._rename_whole(build, folder):
                kept = self._replace_files(key, build, folder)
                if kept is not None:
                    return kept
            fsync_dir(folder.parent)
        finally:
            shutil.rmtree(build, ignore_errors=True)
        return CachedClip(key, folder / "clip.mp4", None if last_frame is None else folder / "last_frame.png", meta)

    @staticmethod
    def _rename_whole(build: Path, folder: Path) -> bool:
        """Rename a built entry into place; False when an entry (a non-empty folder) is there."""
        try:
            os.rename(build, folder)  # replaces an empty folder, never a filled one
        except OSError:
            if not folder.is_dir():
                raise
            return False
        return True

    def _replace_files(self, key: str, build: Path, folder: Path) -> CachedClip | None:
        """Rewrite the existing entry `folder` with `build`'s files under the key's lock; None when
        done, else the entry another render holding the key wrote (kept)."""
        claim: Claim | None = None
        if not self.locks.holds(key):  # held in this process: by the caller, who writes it
            claim = self.locks.try_claim(key)
            if claim is None:
                found = self._read(key)
                if isinstance(found, CachedClip):
                    return found
                raise CacheError(f"cache entry {key[:12]} is being written by another render")
        try:
            if self._rename_whole(build, folder):  # removed meanwhile (it was corrupt)
                return None
            os.replace(build / "clip.mp4", folder / "clip.mp4")
            if (build / "last_frame.png").exists():
                os.replace(build / "last_frame.png", folder / "last_frame.png")
            else:
                (folder / "last_frame.png").unlink(missing_ok=True)
            os.replace(build / "meta.json", folder / "meta.json")  # last: the commit mark
            fsync_dir(folder)
        finally:
            if claim is not None:
                claim.release()
        return None

    def add_last_frame(self, entry: CachedClip, png: Path) -> CachedClip:
        """Store a last frame taken later (for a shot that became a chain's upstream).

        Under the key's lock. When another render holds the key (it is rewriting the entry) or the
        entry changed since `entry` was read, nothing is stored: `entry` comes back as it was and
        `png` stays the caller's.
        """
        folder = self.entry_dir(entry.key)
        claim = self.locks.try_claim(entry.key)
        if claim is None:
            return entry
        with claim:
            try:
                current = ClipMeta.model_validate_json((folder / "meta.json").read_bytes())
            except (OSError, ValueError):
                return entry
            if current != entry.meta:
                return entry
            meta = entry.meta.model_copy(update={"last_frame_sha256": sha256_file(png)})
            staged = self.staging_dir() / f"meta-{entry.key[:12]}-{secrets.token_hex(4)}.json"
            write_atomic(staged, meta.model_dump_json(indent=2).encode())
            os.replace(png, folder / "last_frame.png")  # unused until meta.json names it
            os.replace(staged, folder / "meta.json")
            fsync_dir(folder)
        return CachedClip(entry.key, entry.clip, folder / "last_frame.png", meta)

    def staging_dir(self) -> Path:
        """This writer's directory on the cache's file system for downloads and entries being
        built (so put() is a rename): ``<root>/staging/<pid>-<random>/``, locked while this
        ``Cache`` lives and removed after it (at the latest when the process exits). The first
        call removes the directories of writers that are gone."""
        with self._mutex:
            if self._staging is None:
                parent = self.root / "staging"
                self._sweep(parent)
                name = f"staging-{os.getpid()}-{secrets.token_hex(4)}"
                claim = self.locks.try_claim(name)
                assert claim is not None, "a new random name is free"
                self._staging = parent / name.removeprefix("staging-")
                weakref.finalize(self, _drop_staging, self._staging, claim)
            self._staging.mkdir(parents=True, exist_ok=True)
            return self._staging

    def _sweep(self, parent: Path) -> None:
        """Remove the staging directories whose writer's lock is free: their writer is gone (a
        killed render's part files and half-built entries)."""
        try:
            children = [child for child in parent.iterdir() if child.is_dir()]
        except OSError:
            return
        for child in children:
            claim = self.locks.try_claim(f"staging-{child.name}")
            if claim is not None:  # else its writer is alive
                _drop_staging(child, claim)


def _drop_staging(folder: Path, claim: Claim) -> None:
    """Remove a writer's staging directory and its lock file (a name unique to that writer: no one
    else waits on it), then let the lock go."""
    with claim:
        shutil.rmtree(folder, ignore_errors=True)
        claim.owner.path(claim.name).unlink(missing_ok=True)

"""What is in the local cache: listing, re-checking and dropping entries (``storyboard cache``).

Owns: reading every committed entry of a ``Cache`` (one with a ``meta.json``) without trusting
it, re-hashing an entry against its meta, finding incomplete entry folders (a crash between the
files and the commit mark) and removing entries (under the key's lock: never one a render is
writing). Entries written by another version of the
format are listed as such and never checked or removed here. Must not import spec, engine,
seedance, assemble, emulator or the CLI.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from storyboard.store.cache import META_VERSION, Cache, ClipMeta, sha256_file

__all__ = ["LocalEntry", "check_entry", "drop_entry", "folder_bytes", "incomplete_entries", "local_entries"]


@dataclass(frozen=True)
class LocalEntry:
    """One committed entry folder of the local cache."""

    key: str
    folder: Path
    meta: ClipMeta | None
    """None when meta.json cannot be read (`problem` says why) or is another format's."""
    problem: str | None = None
    foreign: bool = False
    """Written by another version of the format: not ours to check or remove."""


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) if folder.is_dir() else 0


def _read(key: str, folder: Path) -> LocalEntry:
    try:
        raw = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        version = raw.get("version", META_VERSION) if isinstance(raw, dict) else None
        if version != META_VERSION:
            return LocalEntry(key, folder, None, f"format version {version!r}, not {META_VERSION}", foreign=True)
        return LocalEntry(key, folder, ClipMeta.model_validate(raw))
    except ValidationError as exc:
        return LocalEntry(key, folder, None, f"meta.json: {exc.error_count()} invalid field(s)")
    except (OSError, ValueError) as exc:
        return LocalEntry(key, folder, None, f"meta.json: {exc}")


def local_entries(cache: Cache) -> Iterator[LocalEntry]:
    """Every committed entry, by key."""
    for meta in sorted((cache.root / "clips").glob("*/*/meta.json")):
        yield _read(meta.parent.name, meta.parent)


def incomplete_entries(cache: Cache, *, older_than: float) -> list[Path]:
    """Entry folders without a meta.json untouched for `older_than` seconds (younger ones may
    be being written right now)."""
    now = time.time()
    found = []
    for folder in sorted((cache.root / "clips").glob("*/*")):
        if folder.is_dir() and not (folder / "meta.json").exists():
            newest = max((f.stat().st_mtime for f in folder.iterdir()), default=folder.stat().st_mtime)
            if now - newest > older_than:
                found.append(folder)
    return found


def check_entry(entry: LocalEntry) -> str | None:
    """Re-hash `entry` against its meta: None when sound, else what is wrong."""
    if entry.meta is None:
        return entry.problem
    try:
        clip = entry.folder / "clip.mp4"
        if clip.stat().st_size != entry.meta.clip_bytes:
            return f"clip is {clip.stat().st_size} bytes, meta.json says {entry.meta.clip_bytes}"
        if sha256_file(clip) != entry.meta.clip_sha256:
            return "clip checksum mismatch"
        if entry.meta.last_frame_sha256 is not None:
            if sha256_file(entry.folder / "last_frame.png") != entry.meta.last_frame_sha256:
                return "last frame checksum mismatch"
    except OSError as exc:
        return f"{Path(exc.filename or '').name or 'a file'} is unreadable ({exc.strerror or exc})"
    return None


def drop_entry(cache: Cache, folder: Path) -> int | None:
    """Remove an entry folder under its key's lock, commit mark first (so no reader sees a half
    entry); the bytes freed, or None when a render holds the key (the entry is kept)."""
    claim = cache.locks.try_claim(folder.name)
    if claim is None:
        return None
    with claim:
        freed = folder_bytes(folder)
        (folder / "meta.json").unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
    return freed

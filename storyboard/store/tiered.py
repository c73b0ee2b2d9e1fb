"""The local cache in front of a shared remote one, behind the interface the engine uses.

Owns: ``ClipStore``, what the engine needs of a clip cache (``Cache`` and ``TieredCache`` both
are one), and ``TieredCache``: lookups go local -> remote (a remote hit is downloaded, verified
and put into the local cache) -> miss; every put (a generated, verified clip with its last frame
and meta) is pushed after the local put. Which local entries this remote already holds is kept
as empty marker files (``<root>/remotes/<remote id>/<key>``), so a push cut short (a killed
process, a remote that was down) is completed the next time the entry is used, for the price of
a ``stat``. A remote that fails never fails a lookup or a put: it warns once and drops out.

Must not import spec, engine, seedance, assemble, emulator or the CLI.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Literal, Protocol

from storyboard.errors import CacheError
from storyboard.store.cache import Cache, CachedClip, ClipMeta, ClipOrigin
from storyboard.store.remote import PushResult, RemoteCache

__all__ = ["ClipStore", "Found", "TieredCache", "origin_of"]

Found = Literal["local", "remote", "miss"]


class ClipStore(Protocol):
    """A clip cache as the engine uses it (``Cache``, ``TieredCache``)."""

    @property
    def root(self) -> Path: ...

    @property
    def warnings(self) -> list[str]: ...

    def get(self, key: str) -> CachedClip | None: ...

    def put(self, key: str, clip: Path, last_frame: Path | None, origin: ClipOrigin) -> CachedClip: ...

    def add_last_frame(self, entry: CachedClip, png: Path) -> CachedClip: ...

    def staging_dir(self) -> Path: ...


def origin_of(meta: ClipMeta) -> ClipOrigin:
    """The origin part of an entry's meta (what ``Cache.put`` takes)."""
    return ClipOrigin(**{name: getattr(meta, name) for name in ClipOrigin.model_fields})


class TieredCache:
    """`local`, backed by `remote` (None: just the local cache)."""

    def __init__(self, local: Cache, remote: RemoteCache | None) -> None:
        self.local = local
        self.remote = remote
        self.pulled = 0
        """Entries downloaded from the remote by this instance."""
        self.pushed = 0
        """Entries uploaded to the remote by this instance."""
        self._count = threading.Lock()  # puts (and so pushes) run on download threads

    def __repr__(self) -> str:
        return f"TieredCache({self.local!r}, {self.remote!r})"

    @property
    def root(self) -> Path:
        return self.local.root

    @property
    def warnings(self) -> list[str]:
        """The local cache's warnings, then the remote's."""
        return [*self.local.warnings, *(self.remote.warnings if self.remote is not None else ())]

    def staging_dir(self) -> Path:
        return self.local.staging_dir()

    def entry_dir(self, key: str) -> Path:
        return self.local.entry_dir(key)

    def get(self, key: str) -> CachedClip | None:
        return self.lookup(key)[0]

    def lookup(self, key: str) -> tuple[CachedClip | None, Found]:
        """`key`'s entry and where it was found (a remote hit is now in the local cache too)."""
        entry = self.local.get(key)
        if entry is not None:
            if self.remote is not None and not self._marker(key).exists():
                self.push(entry)  # never pushed to this remote (or cut short): finish it now
            return entry, "local"
        if self.remote is None:
            return None, "miss"
        pulled = self.remote.fetch(key, self.local.staging_dir())
        if pulled is None:
            return None, "miss"
        try:
            entry = self.local.put(key, pulled.clip, pulled.last_frame, origin_of(pulled.meta))
        except CacheError:  # another render on this cache is writing the key: its entry, or a miss
            return self.local.get(key), "miss"
        finally:  # put moved them in; after a failed put, leave nothing in staging
            for path in (pulled.clip, pulled.last_frame):
                if path is not None:
                    path.unlink(missing_ok=True)
        self._mark(key)
        with self._count:
            self.pulled += 1
        return entry, "remote"

    def put(self, key: str, clip: Path, last_frame: Path | None, origin: ClipOrigin) -> CachedClip:
        entry = self.local.put(key, clip, last_frame, origin)
        self.push(entry)
        return entry

    def add_last_frame(self, entry: CachedClip, png: Path) -> CachedClip:
        entry = self.local.add_last_frame(entry, png)
        self.push(entry)
        return entry

    def push(self, entry: CachedClip) -> PushResult:
        """Upload a verified local entry the remote lacks (and note that the remote has it)."""
        if self.remote is None:
            return "failed"
        result = self.remote.push(entry.key, entry.clip, entry.last_frame, entry.meta)
        if result != "failed":
            self._mark(entry.key)
        if result == "pushed":
            with self._count:
                self.pushed += 1
        return result

    def forget(self, key: str) -> None:
        """Drop `key`'s markers (its local entry is gone)."""
        for marker in (self.local.root / "remotes").glob(f"*/{key}"):
            marker.unlink(missing_ok=True)

    def _marker(self, key: str) -> Path:
        assert self.remote is not None
        return self.local.root / "remotes" / self.remote.id / key

    def _mark(self, key: str) -> None:
        marker = self._marker(key)
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:  # bookkeeping only: without it the next use asks the remote again
            pass

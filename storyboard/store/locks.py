"""Per-cache-key locks, so that renders sharing one cache directory never make one entry twice.

Owns: the lock files ``<cache root>/locks/<name>.lock`` and ``Claim``, one held lock. A claim is
an OS lock on an open file (``flock`` on POSIX, ``LockFileEx`` on Windows, through the
``filelock`` package): the kernel drops it when the file is closed, and it closes every file of
a process that ends in any way, SIGKILL included. So no claim outlives its holder, none is ever
stuck, and nothing is broken by age or pid. The descriptors are not inherited by child processes
(ffmpeg), so a child never keeps its parent's claim alive.

Claims are tried, never waited for: ``try_claim`` returns None when someone holds the name — in
another process, or in this one (a second claim of a held name through the same ``Locks`` is
refused too, and two ``Locks`` on one directory exclude each other as two processes do). The
caller decides how to wait. A claim is not tied to a thread: it may be taken on one thread and
released on another. Lock files of cache keys are never removed: removing one while another
process is about to lock it would let two holders lock two files of one name (an empty file per
key ever claimed is the price). The cache must be on a local file system: network file systems
may not honour ``flock``. Must not import anything of the package but ``storyboard.errors``.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import ClassVar

from filelock import FileLock, Timeout

from storyboard.errors import CacheError

__all__ = ["Claim", "Locks"]


class Claim:
    """One held lock; ``release()`` is idempotent and may run on any thread."""

    def __init__(self, owner: Locks, name: str, lock: FileLock) -> None:
        self.owner, self.name = owner, name
        self._lock = lock

    def __repr__(self) -> str:
        return f"Claim({self.name!r}, held={self.held})"

    @property
    def held(self) -> bool:
        return self.owner._current(self)

    def release(self) -> None:
        self.owner._release(self)

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class Locks:
    """Named locks under `root` (created on the first claim).

    ``Locks.shared(root)`` is the one instance of this process for `root`: the cache and the
    scheduler take their claims through it, so ``holds`` answers for the whole process.
    """

    _registry: ClassVar[dict[str, Locks]] = {}
    _registry_mutex: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, root: Path) -> None:
        self.root = root
        self._held: dict[str, Claim] = {}
        self._mutex = threading.Lock()

    def __repr__(self) -> str:
        return f"Locks({str(self.root)!r})"

    @classmethod
    def shared(cls, root: Path) -> Locks:
        """This process's ``Locks`` for `root`."""
        where = os.path.abspath(root)
        with cls._registry_mutex:
            if where not in cls._registry:
                cls._registry[where] = cls(Path(where))
            return cls._registry[where]

    def path(self, name: str) -> Path:
        return self.root / f"{name}.lock"

    def try_claim(self, name: str) -> Claim | None:
        """The lock `name`, held until released (or until this process ends); None when taken."""
        with self._mutex:
            if name in self._held:
                return None
            lock = FileLock(self.path(name), thread_local=False)
            try:
                self.root.mkdir(parents=True, exist_ok=True)
                lock.acquire(blocking=False)
            except Timeout:
                return None
            except OSError as exc:
                raise CacheError(f"cannot lock {self.path(name)}: {exc.strerror or exc}") from None
            claim = Claim(self, name, lock)
            self._held[name] = claim
            return claim

    def holds(self, name: str) -> bool:
        """Whether this ``Locks`` holds `name` now (another holder is not known here)."""
        with self._mutex:
            return name in self._held

    def held(self) -> list[str]:
        """The names held through this ``Locks``."""
        with self._mutex:
            return list(self._held)

    def release_all(self) -> None:
        for claim in list(self._held.values()):
            claim.release()

    def _current(self, claim: Claim) -> bool:
        with self._mutex:
            return self._held.get(claim.name) is claim

    def _release(self, claim: Claim) -> None:
        with self._mutex:
            if self._held.get(claim.name) is not claim:
                return  # released already
            del self._held[claim.name]
            claim._lock.release(force=True)

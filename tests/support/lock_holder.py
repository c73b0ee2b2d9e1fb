"""Another process for the concurrency tests: one that holds a lock (or runs any snippet) until it
is SIGKILLed — no ``finally``, no ``atexit``, as when a render is killed.

``Child(code, *args)`` runs ``code`` in a fresh interpreter and reads the first line it prints
(so the test knows it got that far); ``Holder(lock_root, name)`` is a child holding the lock
``name`` that also started a grandchild which outlives it when it is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

HOLD = textwrap.dedent(
    """
    import subprocess, sys, time
    from pathlib import Path
    from storyboard.store.locks import Locks

    claim = Locks(Path(sys.argv[1])).try_claim(sys.argv[2])
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    print("held" if claim else "busy", child.pid, flush=True)
    time.sleep(60)
    """
)


class Child:
    """A Python child running `code` with `args` in sys.argv[1:]; `line` is its first output line."""

    def __init__(self, code: str, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.line = self.proc.stdout.readline().strip()
        self.grandchild: int | None = None

    def kill(self) -> None:
        """SIGKILL, and wait until it is gone (its files, and locks, closed by the kernel)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def close(self) -> None:
        self.kill()
        if self.grandchild is not None:
            try:
                os.kill(self.grandchild, signal.SIGKILL)
            except ProcessLookupError:
                pass


class Holder(Child):
    """A child holding lock `name` under `root` (``held``) until killed."""

    def __init__(self, root: str, name: str) -> None:
        super().__init__(HOLD, root, name)
        state, grandchild = self.line.split()
        self.held, self.grandchild = state == "held", int(grandchild)

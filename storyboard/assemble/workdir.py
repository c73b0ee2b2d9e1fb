"""The work folder of one assembly, beside its output, and the sweeping of dead ones.

Owns: naming the folder ``.NAME.<pid>.XXXX`` (the writer's process id in its name) and removing
the folders of writers that no longer run, which a SIGKILL during assembly leaves behind. A
folder of a live process (this one, or another render of the same output) is never touched.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["sweep_stale_work", "work_prefix"]


def work_prefix(dest: Path) -> str:
    """The name prefix of this process's work folders for ``dest``."""
    return f".{dest.name}.{os.getpid()}."


def sweep_stale_work(dest: Path) -> None:
    """Remove the work folders for ``dest`` whose writer process is gone."""
    stem = f".{dest.name}."
    try:
        children = list(dest.parent.iterdir())
    except OSError:
        return
    for child in children:
        pid, _, rest = child.name.removeprefix(stem).partition(".")
        if child.name.startswith(stem) and pid.isdigit() and rest and child.is_dir() and not _alive(int(pid)):
            shutil.rmtree(child, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's process (or an absurd number): not ours to judge
    return True

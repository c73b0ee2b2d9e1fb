"""The states a shot goes through in a render, and the groups of them the engine asks about.

Owns: the ``State`` words (they are also what ``--json-events`` prints) and every named group
of them, so "is it finished", "is it on the service", "is its clip usable" are each spelled
once. Pure data. Must not import anything.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["HAS_TASK", "ON_SERVICE", "READY", "State", "Source", "TERMINAL", "UNUSABLE", "PAID_THIS_RUN"]

State = Literal[
    "waiting", "queued", "cached", "submitted", "resumed", "running", "downloading", "done",
    "failed", "blocked",
]  # fmt: skip

READY: frozenset[State] = frozenset({"cached", "done"})
"""Its clip is in the cache: dependants may start, assembly may use it."""
UNUSABLE: frozenset[State] = frozenset({"failed", "blocked"})
"""It ended without a clip: dependants are blocked, its video fails."""
TERMINAL: frozenset[State] = READY | UNUSABLE
"""It will not change any more in this render."""
ON_SERVICE: frozenset[State] = frozenset({"submitted", "resumed", "running"})
"""A task of ours runs on the service: it counts against the limit and is polled."""
HAS_TASK: frozenset[State] = ON_SERVICE | {"downloading"}
"""A task id exists that an interrupted render must name (it is journaled)."""

Source = Literal["cache", "generated", "resumed", ""]
"""Where a shot's clip came from in this render ("" while it has none)."""
PAID_THIS_RUN: frozenset[Source] = frozenset({"generated", "resumed"})
"""Sources whose generation this render (or the interrupted one it resumed) paid for."""

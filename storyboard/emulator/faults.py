"""Fault injection for the emulator: the ``--faults`` spec, parsed, and its consumption.

Owns: the spec syntax, ``FaultSpec`` (what was asked for) and ``FaultState`` (the thread-safe
budget a running emulator spends). Must not import anything from the package.

Spec syntax: a comma-separated list of ``name=value`` items (whitespace around items is
ignored, an empty spec means no faults). Counted faults apply to *the next N* requests of
their kind, then the emulator behaves normally again::

    create429=N    the next N POST /seedance/videos answer 429 too_many_requests
    create500=N    the next N POST /seedance/videos answer 500 api_error
    dropcreate=N   the next N POST /seedance/videos are read, then the connection is closed
                   without an answer (no task is created)
    poll429=N      the next N POST /seedance/tasks (retrieve or retrieve_batch) answer 429
    poll500=N      the next N POST /seedance/tasks answer 500 api_error
    dropdl=N       the next N GET /files/... send the full Content-Length header, about half
                   of the bytes, then close the connection
    fail=TEXT      every task whose prompt contains TEXT ends failed
                   (OutputVideoSensitiveContentDetected); may be given several times

Example: ``create429=2,poll500=1,dropdl=1,fail=shot-text``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields

__all__ = ["COUNTED_FAULTS", "FaultSpec", "FaultState", "parse_faults"]

COUNTED_FAULTS: tuple[str, ...] = (
    "create429",
    "create500",
    "dropcreate",
    "poll429",
    "poll500",
    "dropdl",
)
_KNOWN = (*COUNTED_FAULTS, "fail")


@dataclass(frozen=True)
class FaultSpec:
    """A parsed ``--faults`` spec: how many of each counted fault, and the fail substrings."""

    create429: int = 0
    create500: int = 0
    dropcreate: int = 0
    poll429: int = 0
    poll500: int = 0
    dropdl: int = 0
    fail: tuple[str, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        items = [f"{name}={getattr(self, name)}" for name in COUNTED_FAULTS if getattr(self, name)]
        items += [f"fail={text}" for text in self.fail]
        return ",".join(items)


def parse_faults(spec: str) -> FaultSpec:
    """Parse a ``--faults`` spec; ValueError with a one-line message if it is invalid."""
    counts: dict[str, int] = {}
    fail: list[str] = []
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        name = name.strip()
        if name not in _KNOWN:
            raise ValueError(f'unknown fault "{name}" (known: {", ".join(_KNOWN)})')
        if not sep or not value.strip():
            raise ValueError(f'fault "{name}" needs a value, e.g. {name}=1')
        if name == "fail":
            fail.append(value.strip())
            continue
        try:
            count = int(value)
        except ValueError:
            raise ValueError(f'fault "{name}" needs a whole number, got "{value.strip()}"') from None
        if count < 0:
            raise ValueError(f'fault "{name}" needs a count >= 0, got {count}')
        counts[name] = counts.get(name, 0) + count
    return FaultSpec(**counts, fail=tuple(fail))


class FaultState:
    """The remaining fault budget of a running emulator; safe to use from many threads."""

    def __init__(self, spec: FaultSpec) -> None:
        self._lock = threading.Lock()
        self.replace(spec)

    def replace(self, spec: FaultSpec) -> None:
        """Start over with a new spec (remaining counts of the old one are dropped)."""
        with self._lock:
            self._left = {f.name: getattr(spec, f.name) for f in fields(spec) if f.name != "fail"}
            self._fail = spec.fail

    def take(self, name: str) -> bool:
        """Spend one fault of this kind if any is left; True when the request must fault."""
        with self._lock:
            if self._left[name] > 0:
                self._left[name] -= 1
                return True
            return False

    def fails(self, prompt: str) -> str | None:
        """The ``fail=`` text that dooms a task with this prompt, or None."""
        return next((text for text in self._fail if text in prompt), None)

    def remaining(self) -> dict[str, object]:
        """What is left, for the stats endpoint."""
        with self._lock:
            return {**self._left, "fail": list(self._fail)}

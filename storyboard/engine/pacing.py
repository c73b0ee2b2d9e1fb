"""How often the engine may talk to the service: the create-rate window and the poll interval.

Owns: ``RateWindow`` (at most N creates per W seconds, sliding, with a safety margin) and
``PollPolicy`` (poll interval from the age of the oldest running task). Time comes from the
engine's ``Clock``. Must not import the scheduler, render or the CLI.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from storyboard.engine.service import Clock

__all__ = ["PollPolicy", "RateWindow"]


def _with_margin(window: float) -> float:
    """The create window we keep: longer than the service's by a safety margin.

    We time a create when we send it, the service when it arrives; a request that waits in a
    busy network stack arrives later than the next one's gap suggests. 5 % (at least 0.3 s)
    covers that without slowing a real 60 s window noticeably.
    """
    return window + max(0.05 * window, 0.3)


@dataclass(frozen=True)
class PollPolicy:
    """Poll every `factor` x the age of the oldest running task, clamped to [minimum, maximum].

    Young tasks are nowhere near done (the service takes about a minute), so polling them
    often only costs requests; the interval then settles at `maximum`.
    """

    minimum: float = 3.0
    maximum: float = 15.0
    factor: float = 0.15

    def interval(self, oldest_age: float) -> float:
        return min(self.maximum, max(self.minimum, self.factor * oldest_age))


class RateWindow:
    """At most `limit` creates per `window` seconds (sliding); None: no limit."""

    def __init__(self, rate: tuple[int, float] | None, clock: Clock) -> None:
        self.rate, self.clock = rate, clock
        self._sent: deque[float] = deque()  # times of recent create requests

    def allows(self) -> bool:
        """True when one more create stays within the limit."""
        if self.rate is None:
            return True
        limit, window = self.rate
        now = self.clock.monotonic()
        while self._sent and now - self._sent[0] >= _with_margin(window):
            self._sent.popleft()
        return len(self._sent) < limit

    def record(self) -> None:
        """A create is being sent now."""
        self._sent.append(self.clock.monotonic())

    def next_slot(self) -> float | None:
        """When the oldest create leaves the window (None: nothing recorded, or no limit)."""
        if self.rate is None or not self._sent:
            return None
        return self._sent[0] + _with_margin(self.rate[1])

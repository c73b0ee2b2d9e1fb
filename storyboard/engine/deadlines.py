"""How long the scheduler waits for a task, and the words for a task it stops waiting for.

Owns: a task's deadline (its ``execution_expires_after``, else the documented default of
docs/protocol.md §1.2, 172800 s, plus ``MARGIN``: the service gives up on its own by then and
answers ``expired``), the render's own ``--timeout``, showing a status word never seen before
once, and the message for a task created on the service whose task id could not be journaled.
Pure rules and words, no I/O. Must not import the scheduler, render or the CLI.
"""

from __future__ import annotations

from storyboard.engine.plan import ShotJob
from storyboard.errors import APIError

__all__ = ["DEFAULT_EXPIRY", "MARGIN", "Deadlines", "unjournaled"]

DEFAULT_EXPIRY = 172800
"""Seconds the service works on a task that sets no ``execution_expires_after`` (§1.2)."""
MARGIN = 600.0
"""Seconds past a task's own expiry before we stop waiting: the service's ``expired`` answer
(and our polling interval, at most 15 s) get this long to arrive."""


def expiry_of(job: ShotJob) -> int:
    value = job.request.get("execution_expires_after")
    return value if isinstance(value, int) and not isinstance(value, bool) else DEFAULT_EXPIRY


class Deadlines:
    """Per-task deadlines, the render's timeout and the unknown status words already shown."""

    def __init__(self, started: float, timeout: float | None) -> None:
        self.started, self.timeout = started, timeout
        self._shown: set[str] = set()

    def overdue(self, job: ShotJob, task_id: str | None, submitted_at: float | None, now: float) -> APIError | None:
        """The failure of a task still not finished past its deadline; None while it may still end."""
        expiry = expiry_of(job)
        if submitted_at is None or now - submitted_at <= expiry + MARGIN:
            return None
        return APIError(
            f"task {task_id} did not finish within its execution_expires_after of {expiry} s (plus {MARGIN:g} s); "
            "it stays journaled: a later render picks it up if the service still finishes it "
            "(raise execution_expires_after, or check the task in the AceData console)"
        )

    def timed_out(self, now: float) -> bool:
        """Whether the render's ``--timeout`` has passed."""
        return self.timeout is not None and now - self.started >= self.timeout

    def render_ends(self) -> float | None:
        """When the render's timeout ends (monotonic), if it has one."""
        return None if self.timeout is None else self.started + self.timeout

    def new_word(self, word: str) -> str:
        """The event detail for status `word` the first time this render sees it; then ""."""
        if not word or word in self._shown:
            return ""
        self._shown.add(word)
        return f"the service reports a status never seen before: {word!r} (still waiting)"


def unjournaled(task_id: str, shot: str, exc: OSError) -> APIError:
    """A task created on the service whose id could not be written down (a full disk)."""
    error = APIError(
        f"task {task_id} was created on the service, but the journal could not record it ({exc}); "
        f"the shot stays journaled as uncertain: free the disk, check task {task_id} in the AceData "
        f"console, then rerun with --force {shot} if it did not finish"
    )
    error.maybe_submitted = True
    return error

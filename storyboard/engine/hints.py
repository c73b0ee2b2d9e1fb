"""What to tell the user when a shot failed: one line per shot, with what to change.

Owns: choosing a hint from the error's *type* and the service's *code* (never from message
text: the protocol layer turns the service's documented answers into types), and the failure
summary of one video. Must not import the scheduler's callers (render, CLI).
"""

from __future__ import annotations

from collections.abc import Mapping

from storyboard.engine.plan import Plan
from storyboard.engine.scheduler import ShotOutcome
from storyboard.engine.states import READY, UNUSABLE
from storyboard.errors import APIError, BadRequestError, GenerationFailed, ImageFetchFailed

__all__ = ["failure_summary", "hint"]

_MODERATION_CODES = ("sensitive", "moderation")
_EXPIRY_CODES = ("expire", "timeout")


def hint(error: Exception | None, shot: str) -> str:
    """What to do about a shot that failed with `error`."""
    if isinstance(error, ImageFetchFailed):
        return "the service could not download an image url: make sure every url: is public, or use path:"
    if isinstance(error, GenerationFailed):
        code = error.code.lower()
        if any(word in code for word in _MODERATION_CODES):
            return "rephrase the prompt or replace the images, then render again"
        if any(word in code for word in _EXPIRY_CODES):
            return "the service gave up on the task; render again (raise execution_expires_after if it keeps happening)"
        return "render again; if it fails the same way, change the shot"
    if isinstance(error, BadRequestError):
        return "fix the shot's settings as the message says"
    if isinstance(error, APIError) and error.maybe_submitted:
        return f"check the AceData console, then rerun with --force {shot} if no task is running for it"
    return "render again to retry (finished shots are cached)"


def failure_summary(plan: Plan, outcomes: Mapping[str, ShotOutcome]) -> str:
    """One line per failed or blocked shot: what happened and what to change."""
    lines = []
    for job in plan.jobs:
        o = outcomes[job.id]
        if o.state == "failed":
            lines.append(f'shot "{job.id}" failed: {o.error} — {hint(o.error, job.id)}')
        elif o.state == "blocked":
            ups = [d for d in job.depends_on if outcomes[d].state in UNUSABLE]
            lines.append(f'shot "{job.id}" not generated: it needs "{", ".join(ups)}", which did not finish')
    done = sum(o.state in READY for o in outcomes.values())
    lines.append(f"{done} of {len(plan.jobs)} shots are generated and cached; nothing paid for is lost")
    return "\n".join(lines)

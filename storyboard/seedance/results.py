"""Turning SeeDance task records and result bodies into typed ``TaskResult`` values.

Owns: the meaning of the two result shapes docs/protocol.md describes (AceData's flat
``data`` object, and the Ark-style ``data`` list / ``content.video_url``), the status words
and what counts as finished, succeeded or failed (docs/protocol.md §1.5, §2, §6.3; the §
numbers below refer to it). Pure functions: no I/O. Must not import the client, the emulator,
the models or anything above them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from storyboard.errors import GenerationFailed, ImageFetchFailed

__all__ = ["TaskResult", "TaskStatus", "one_line", "parse_record", "parse_response"]

TaskStatus = Literal["pending", "processing", "succeeded", "failed"]

# Words seen across AceData's SDK, NEXIOR and Ark (§2 "Client-side terminal detection", §6.3).
_DONE_WORDS = frozenset({"succeed", "succeeded", "success", "completed", "complete", "finished"})
_FAILED_WORDS = frozenset({"failed", "failure", "error", "cancelled", "canceled", "rejected", "expired"})
_FETCH_FAILED = "fetch failed"
_RUNNING_WORDS = frozenset({"pending", "queued", "submitted", "processing", "running"})


@dataclass(frozen=True)
class TaskResult:
    """What one SeeDance task looks like right now.

    ``error`` is set exactly when ``status == "failed"``; ``video_url`` is set whenever
    ``status == "succeeded"``. ``raw`` is the body it was parsed from (not shown in repr).
    """

    task_id: str
    status: TaskStatus
    video_url: str | None = None
    last_frame_url: str | None = None
    error: GenerationFailed | None = None
    tokens: int | None = None
    model: str | None = None
    duration: float | None = None
    resolution: str | None = None
    ratio: str | None = None
    seed: int | None = None
    """The seed the service says it used (§6.3; None when it did not say)."""
    elapsed: float | None = None
    trace_id: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    message: str | None = None
    """The service's words on a task still running despite ``success: false`` (see ``parse_record``)."""
    raw_status: str = ""
    """A status word this module does not know, as the service sent it (the task then counts as
    ``processing``, and the engine shows the word once); "" for every known word."""

    @property
    def done(self) -> bool:
        """True once the task will not change any more."""
        return self.status in ("succeeded", "failed")


def parse_record(record: dict[str, Any]) -> TaskResult:
    """Parse one ``/seedance/tasks`` record (``retrieve`` answer or ``retrieve_batch`` item).

    A record without a ``response`` (or with ``response: null``) has not produced a result yet:
    it is pending. ``success: false`` without a structured error (an ``error`` object with a
    ``code``), without ``finished_at`` and without a failure word or video URL is taken as a
    passing hiccup, as AceData's SDK does (§2, §14): still processing, its message kept in
    ``message``; once the record is finished it is a failure.
    """
    task_id = str(record.get("id") or record.get("task_id") or "")
    elapsed = _number(record.get("elapsed"))
    response = record.get("response")
    if not isinstance(response, dict) or not response:
        return TaskResult(
            task_id=task_id,
            status="pending",
            elapsed=elapsed,
            trace_id=_text(record.get("trace_id")),
            raw=record,
        )
    result = parse_response(response)
    hiccup = _hiccup(record, response) if result.status == "failed" else None
    # The record id is the one we poll with; the response may only carry the upstream id.
    return TaskResult(
        task_id=task_id or result.task_id,
        status="processing" if hiccup is not None else result.status,
        video_url=result.video_url,
        last_frame_url=result.last_frame_url,
        error=None if hiccup is not None else result.error,
        message=hiccup,
        raw_status=result.raw_status,
        tokens=result.tokens,
        model=result.model,
        duration=result.duration,
        resolution=result.resolution,
        ratio=result.ratio,
        seed=result.seed,
        elapsed=elapsed if elapsed is not None else result.elapsed,
        trace_id=result.trace_id or _text(record.get("trace_id")),
        raw=record,
    )


def parse_response(body: dict[str, Any]) -> TaskResult:
    """Parse a sync answer, a callback payload or a record's ``response``.

    Task id lookup order (docs/protocol.md §1.5): top-level ``task_id``, then ``data.task_id``,
    then ``id``.
    """
    trace_id = _text(body.get("trace_id"))
    item = _result_item(body)
    task_id = _text(body.get("task_id")) or _text(item.get("task_id")) or _text(body.get("id"))
    content = _object(item.get("content"))
    video_url = _text(item.get("video_url")) or _text(content.get("video_url")) or None
    last_frame_url = _text(item.get("last_frame_url")) or _text(content.get("last_frame_url")) or None
    usage = _object(item.get("usage"))
    common: dict[str, Any] = dict(
        task_id=task_id,
        tokens=_integer(usage.get("completion_tokens", usage.get("total_tokens"))),
        model=_text(item.get("model")) or None,
        duration=_number(item.get("duration")),
        resolution=_text(item.get("resolution")) or None,
        ratio=_text(item.get("ratio")) or None,
        seed=_integer(item.get("seed")),
        elapsed=_number(body.get("elapsed")),
        trace_id=trace_id,
        raw=body,
    )

    if body.get("success") is False or _is_error(body.get("error")):
        failure = _failure(body.get("error"), trace_id, "the service reported a failure")
        return TaskResult(status="failed", error=failure, **common)

    word = _text(item.get("status")).lower()
    if word in _FAILED_WORDS:
        default = f"the task ended with status '{word}'"
        failure = _failure(item.get("error"), trace_id, default, fallback_code=word)
        return TaskResult(status="failed", error=failure, **common)
    if word in _RUNNING_WORDS or (not word and not video_url):
        return TaskResult(status="processing", **common)
    if word in _DONE_WORDS or (not word and video_url):
        if not video_url:
            failure = GenerationFailed(
                f"the task reported '{word}' but returned no video URL",
                code="no_video_url",
                trace_id=trace_id,
            )
            return TaskResult(status="failed", error=failure, **common)
        return TaskResult(status="succeeded", video_url=video_url, last_frame_url=last_frame_url, **common)
    # An unknown word may be a new intermediate state; the engine's deadline bounds the wait.
    return TaskResult(status="processing", raw_status=one_line(_text(item.get("status")), 80), **common)


def _result_item(body: dict[str, Any]) -> dict[str, Any]:
    """The object holding status and URLs: ``data`` (dict or first of a list), or ``body``."""
    data = body.get("data")
    if isinstance(data, list):
        data = data[0] if data and isinstance(data[0], dict) else None
    if isinstance(data, dict):
        return data
    # A bare Ark task object carries status and content at the top level.
    return body if "status" in body or "content" in body else {}


def _hiccup(record: dict[str, Any], response: dict[str, Any]) -> str | None:
    """The message of a ``success: false`` that is not final yet; None when it is final."""
    error = response.get("error")
    if response.get("success") is not False or (isinstance(error, dict) and error.get("code")):
        return None
    if record.get("finished_at") is not None or response.get("finished_at") is not None:
        return None
    item = _result_item(response)
    content = _object(item.get("content"))
    word = _text(item.get("status")).lower()
    if word in _FAILED_WORDS or word in _DONE_WORDS or item.get("video_url") or content.get("video_url"):
        return None
    if isinstance(error, dict):
        error = error.get("message")
    return one_line(error) if isinstance(error, str) else ""


def _is_error(error: object) -> bool:
    return isinstance(error, dict) and bool(error.get("code") or error.get("message"))


def _failure(error: object, trace_id: str, default: str, *, fallback_code: str = "") -> GenerationFailed:
    """A ``GenerationFailed`` carrying the service's own code and message when it gave them."""
    if isinstance(error, dict):
        code = _text(error.get("code")) or fallback_code
        message = one_line(_text(error.get("message"))) or default
    elif isinstance(error, str) and error.strip():
        code, message = fallback_code, one_line(error)
    else:
        code, message = fallback_code, default
    # the service's documented answer when it cannot download an image it was given (§4.1)
    cls = ImageFetchFailed if message.lower() == _FETCH_FAILED else GenerationFailed
    return cls(message, code=code, trace_id=trace_id)


def one_line(text: str, limit: int = 300) -> str:
    """A service message squeezed onto one line and cut short (bodies can be huge)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _object(value: object) -> dict[str, Any]:
    """A JSON object as it is; anything else as an empty one."""
    return value if isinstance(value, dict) else {}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _integer(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value

"""Error answers of the SeeDance API mapped onto the exception tree of ``storyboard.errors``.

Owns: which class an HTTP status and error code become (docs/protocol.md §4), the one-line message
(never containing the token) and the trace id taken from the body or the ``x-trace-id`` header.
Pure: no I/O. Must not import the client or anything above it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TypeVar, cast

import httpx

from storyboard.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InsufficientBalanceError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    ServerError,
)
from storyboard.seedance.results import one_line

__all__ = ["error_from_response", "scrub"]

_AUTH_CODES = frozenset({"invalid_token", "token_expired", "no_token", "token_mismatched"})


def error_from_response(
    status: int,
    body: object,
    headers: httpx.Headers | dict[str, str],
    *,
    token: str | None = None,
) -> APIStatusError:
    """Map an HTTP error answer onto the exception tree.

    The body is ``{"success": false, "error": {"code", "message"}, "trace_id"}``; ``error``
    may also be a bare string or missing, and the ``x-trace-id`` header stands in for a
    missing ``trace_id``. The message is one short line and never contains ``token``.
    """
    data = body if isinstance(body, dict) else {}
    error = data.get("error")
    code, message = "", ""
    if isinstance(error, dict):
        code, message = _text(error.get("code")), _text(error.get("message"))
    elif isinstance(error, str):
        message = error
    if not message and isinstance(body, str):
        message = body
    if token:
        message = message.replace(token, "***")
    message = one_line(message) or _reason(status)
    trace_id = scrub(_text(data.get("trace_id")) or _text(headers.get("x-trace-id", "")), token)
    cls = _error_class(status, code)
    return cls(message, status=status, code=scrub(code, token), trace_id=trace_id)


JSON = TypeVar("JSON")
SCRUB_MIN_LENGTH = 8
"""Shorter tokens (test stand-ins like ``t``) are not scrubbed: replacing them would mangle the
protocol's own words (``succeeded``, ``task_id``); real AceData tokens are far longer."""


def scrub(value: JSON, token: str | None) -> JSON:
    """``value`` (a decoded JSON body, or a string) with ``token`` replaced by ``***`` in every
    string value (keys are the protocol's, not the service's words): whatever the service echoes
    must never be printed or stored."""
    if not token or len(token) < SCRUB_MIN_LENGTH:
        return value
    if isinstance(value, str):
        return cast(JSON, value.replace(token, "***"))
    if isinstance(value, dict):
        return cast(JSON, {k: scrub(v, token) for k, v in value.items()})
    if isinstance(value, list):
        return cast(JSON, [scrub(v, token) for v in value])
    return value


def _error_class(status: int, code: str) -> type[APIStatusError]:
    if code in _AUTH_CODES or status == 401:
        return AuthenticationError
    if code == "used_up":
        return InsufficientBalanceError
    if code == "request_too_large" or status == 413:
        return RequestTooLargeError
    if code == "too_many_requests" or status == 429:
        return RateLimitError
    if code in ("not_found", "no_api") or status == 404:
        return NotFoundError
    if code in ("disabled", "forbidden") or status == 403:
        return PermissionDeniedError
    if status == 400:
        return BadRequestError
    if status >= 500:
        return ServerError
    return APIStatusError


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""

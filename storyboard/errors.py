"""The exception tree of storyboard, and the one-line `Issue` every input problem becomes.

Owns: every exception the package raises on purpose, and the `Issue` record
(``file:line:col: key.path: message``). Must not import anything from the package
(it is the bottom layer) nor any third-party module.

::

    StoryboardError
    ├── ConfigError (also ValueError)      bad storyboard / vars / flags; carries .issues; exit 2
    ├── APIError                           anything the SeeDance service (or the way to it) did
    │   ├── APIConnectionError             could not reach the service
    │   │   └── APITimeoutError            reached it, no answer in time
    │   ├── APIStatusError                 the service answered an HTTP error
    │   │   ├── BadRequestError            400 (bad_request, ...)
    │   │   │   └── RequestTooLargeError   413 request_too_large
    │   │   ├── AuthenticationError        401 / invalid_token, token_expired, no_token, token_mismatched
    │   │   ├── InsufficientBalanceError   403 used_up
    │   │   ├── PermissionDeniedError      403 other (disabled, moderation, forbidden)
    │   │   ├── NotFoundError              404 not_found / no_api
    │   │   ├── RateLimitError             429 too_many_requests
    │   │   └── ServerError                5xx api_error / internal_error
    │   ├── GenerationFailed               the task finished without a usable video
    │   │   └── ImageFetchFailed           the service could not fetch an image URL of the request
    │   └── DownloadError                  a result file could not be fetched completely
    ├── CacheError                         the cache directory is unusable (not: a corrupt entry)
    ├── RenderError                        one or more shots failed; carries per-shot failures
    │   └── RenderInterrupted              stopped (Ctrl-C, lost service); tasks may still run
    └── AssembleError                      clips could not be joined into the output
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AssembleError",
    "AuthenticationError",
    "BadRequestError",
    "CacheError",
    "ConfigError",
    "DownloadError",
    "GenerationFailed",
    "ImageFetchFailed",
    "InsufficientBalanceError",
    "Issue",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RenderError",
    "RenderInterrupted",
    "RequestTooLargeError",
    "ServerError",
    "StoryboardError",
]


@dataclass(frozen=True)
class Issue:
    """One problem in a user's input, located as precisely as we can.

    ``line`` and ``col`` are 1-based; 0 means "unknown" (e.g. a problem with a whole file).
    """

    file: str
    line: int
    col: int
    path: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}:{self.col}"
        prefix = "warning: " if self.severity == "warning" else ""
        if self.path:
            return f"{where}: {prefix}{self.path}: {self.message}"
        return f"{where}: {prefix}{self.message}"


class StoryboardError(Exception):
    """Base of every error storyboard raises on purpose."""


class ConfigError(StoryboardError, ValueError):
    """The user's input is wrong; ``issues`` holds every problem found (errors only)."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


class APIError(StoryboardError):
    """Something went wrong talking to the SeeDance service.

    Every API error carries what the service said: HTTP status (0 when there was no
    response), the service's error code, its message and the trace id to quote to support.
    The message never contains the API token. ``maybe_submitted`` is true when a create
    request was sent but its answer was lost, so the task may exist (and be billed) anyway.
    """

    maybe_submitted: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str = "",
        trace_id: str = "",
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.trace_id = trace_id
        super().__init__(self.__str__())

    def __str__(self) -> str:
        head = f"{self.code}: {self.message}" if self.code else self.message
        if self.status:
            head = f"HTTP {self.status} {head}"
        if self.trace_id:
            head += f" (trace id {self.trace_id})"
        return head


class APIConnectionError(APIError):
    """The service could not be reached (DNS, refused, reset, dropped)."""


class APITimeoutError(APIConnectionError):
    """The service did not answer within the timeout."""


class APIStatusError(APIError):
    """The service answered with an HTTP error status."""


class BadRequestError(APIStatusError):
    """400: the service rejected the request body."""


class RequestTooLargeError(BadRequestError):
    """413: the request body is too large (inline images are base64 in the body)."""


class AuthenticationError(APIStatusError):
    """401 (or a token code): the API token is missing, wrong or expired."""


class InsufficientBalanceError(APIStatusError):
    """403 used_up: the account balance does not cover the request."""


class PermissionDeniedError(APIStatusError):
    """403 other than used_up: application disabled, content blocked, forbidden."""


class NotFoundError(APIStatusError):
    """404: unknown task id or API path."""


class RateLimitError(APIStatusError):
    """429: too many requests."""


class ServerError(APIStatusError):
    """5xx: the service or its upstream failed."""


class GenerationFailed(APIError):
    """The task reached a terminal state without a usable video (moderation, expiry, ...)."""


class ImageFetchFailed(GenerationFailed):
    """The task failed because the service could not download an image URL it was given."""


class DownloadError(APIError):
    """A result file could not be downloaded completely after retries."""


class CacheError(StoryboardError):
    """The cache directory cannot be used at all (a corrupt entry is a miss, not this)."""


class RenderError(StoryboardError):
    """A render finished with failed shots; ``failures`` maps shot id to its error."""

    def __init__(self, failures: dict[str, Exception], message: str = "") -> None:
        self.failures = dict(failures)
        super().__init__(message or f"{len(self.failures)} shot(s) failed")


class RenderInterrupted(RenderError):
    """The render stopped before its tasks finished; ``running`` maps shot id to task id.

    Those tasks are in the journal, so the next render polls them instead of paying again.
    """

    def __init__(self, running: dict[str, str], message: str) -> None:
        self.running = dict(running)
        super().__init__({}, message)


class AssembleError(StoryboardError):
    """The clips could not be joined into the output video."""

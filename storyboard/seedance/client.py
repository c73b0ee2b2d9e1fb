"""A small synchronous client for AceData's SeeDance API, speaking only the wire protocol.

Owns: the HTTP calls (``POST /seedance/videos``, ``POST /seedance/tasks``, result downloads),
headers and timeouts, raising the exception tree of ``storyboard.errors`` (``errormap`` decides the class),
and the retry policy (which failures are retried, backoff, ``Retry-After``). Request bodies
come in as plain dicts and results go out as ``TaskResult``; storyboard models, the loader,
the planner and the emulator are never imported here.

Retry policy (docs/protocol.md §4.2, §13.5):

* polls and downloads retry connection errors, timeouts, 408/409/429 and 5xx;
* ``create`` retries only what certainly created no task: a connection that never opened,
  408, 429, 500/502/503. A timeout or dropped connection *after* the body was sent, and a
  504 (the gateway gave up waiting on a backend that may be working), raise
  ``APIConnectionError``/``APITimeoutError`` with ``maybe_submitted = True`` and a message
  saying so, so the caller can record it instead of paying twice;
* other 4xx are never retried; delays are ``min(cap, base * 2**n)`` scaled by a random
  factor in [0.5, 1), or the server's ``Retry-After`` when it gives one (up to 60 s).
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from storyboard.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    DownloadError,
)
from storyboard.seedance.config import ServiceConfig
from storyboard.seedance.download import download_file, url_problem
from storyboard.seedance.errormap import error_from_response, scrub
from storyboard.seedance.exchange import post_within
from storyboard.seedance.limits import DOWNLOAD_DEADLINE, MAX_RESULT_BYTES, within_body_limit
from storyboard.seedance.results import TaskResult, parse_record, parse_response
from storyboard.seedance.wire import CreateBody

__all__ = ["BATCH_LIMIT", "SeedanceClient", "error_from_response"]  # the last re-exported from errormap

BATCH_LIMIT = 50  # ids per retrieve_batch call (docs/protocol.md §2, MCP advice)
API_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
RETRY_AFTER_MAX = 60.0

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# 409 may mean "duplication" and 504 "the backend is still working on it": not for create.
_CREATE_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503})
_MAY_BE_SUBMITTED = "the task may have been submitted; check it before submitting again"

APIErrorT = TypeVar("APIErrorT", bound=APIError)

log = logging.getLogger(__name__)


class SeedanceClient:
    """Create SeeDance tasks, poll them and download their results.

    ``http`` is injectable (tests pass one over ``httpx.MockTransport``); a client made here
    is closed by ``close()``, an injected one is left to its owner.
    """

    def __init__(
        self,
        config: ServiceConfig,
        *,
        http: httpx.Client | None = None,
        max_retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        jitter: Callable[[], float] = random.random,
        identity: str | None = None,
        download_deadline: float = DOWNLOAD_DEADLINE,
        max_download_bytes: int = MAX_RESULT_BYTES,
        api_timeout: httpx.Timeout = API_TIMEOUT,
    ) -> None:
        self._config = config
        self._identity = identity
        self._owns_http = http is None
        if http is None:
            # A proxy from the environment must not swallow requests to a loopback emulator.
            local = urlsplit(config.base_url).hostname in _LOOPBACK_HOSTS
            http = httpx.Client(timeout=API_TIMEOUT, trust_env=not local)
        self._http = http
        self._max_retries = max_retries
        self._sleep = sleep
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._jitter = jitter
        self._download_deadline = download_deadline
        self._api_timeout = api_timeout  # its read time bounds a whole answer (``post_within``)
        self._max_download_bytes = max_download_bytes
        self._cancelled = threading.Event()
        # results may come from loopback/private addresses only when the API itself is there
        self._local_api = url_problem(config.base_url, allow_private=False) is not None

    def __repr__(self) -> str:
        return f"SeedanceClient(base_url={self._config.base_url!r})"

    @property
    def identity(self) -> str:
        """Who generates, for cache keys: ``identity`` when given (the embedded emulator calls
        itself "emulator", whatever port it took), else the configured service's."""
        return self._identity or self._config.identity

    def __enter__(self) -> SeedanceClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    # -- tasks ---------------------------------------------------------------------------

    def create(self, body: CreateBody, *, callback_url: str | None = None) -> str:
        """Submit a generation task in async mode and return its task id."""
        payload: dict[str, object] = {**body, "async": True}
        if callback_url is not None:
            payload["callback_url"] = callback_url
        answer = self._post("/seedance/videos", payload, API_TIMEOUT, submits=True)
        if answer.get("success") is False:
            raise error_from_response(200, answer, {}, token=self._config.token)
        task_id = parse_response(answer).task_id
        if not task_id:
            raise _maybe_submitted(
                APIError(
                    f"the service accepted the request but sent no task id; {_MAY_BE_SUBMITTED}",
                    status=200,
                    trace_id=_text(answer.get("trace_id")),
                )
            )
        return task_id

    def create_sync(self, body: CreateBody, *, timeout: float = 1800) -> TaskResult:
        """Submit a task in the documented synchronous mode: the answer is the final result.

        An error answer that names a task id is that task's outcome (it ran and failed), so
        it comes back as a failed ``TaskResult``; an error without one rejected the request
        and raises like any other.
        """
        payload: dict[str, object] = {k: v for k, v in body.items() if k not in ("async", "callback_url")}
        answer = self._post(
            "/seedance/videos",
            payload,
            httpx.Timeout(timeout, connect=10.0),
            submits=True,
            task_outcome=True,
        )
        return parse_response(answer)

    def retrieve(self, task_id: str) -> TaskResult:
        """The current state of one task."""
        record = self._post("/seedance/tasks", {"id": task_id, "action": "retrieve"}, API_TIMEOUT)
        return parse_record(record)

    def retrieve_batch(self, ids: Sequence[str]) -> dict[str, TaskResult]:
        """The current state of many tasks, at most ``BATCH_LIMIT`` ids per request.

        Ids the service does not return are absent from the result.
        """
        unique = list(dict.fromkeys(ids))
        results: dict[str, TaskResult] = {}
        for start in range(0, len(unique), BATCH_LIMIT):
            chunk = unique[start : start + BATCH_LIMIT]
            answer = self._post("/seedance/tasks", {"ids": chunk, "action": "retrieve_batch"}, API_TIMEOUT)
            items = answer.get("items")
            for record in items if isinstance(items, list) else []:
                if isinstance(record, dict):
                    result = parse_record(record)
                    results[result.task_id] = result
        return results

    # -- files ---------------------------------------------------------------------------

    def download(self, url: str, dest: Path) -> int:
        """Download a result file to ``dest`` atomically; returns the bytes written.

        The token goes only to the API's own origin (the emulator serves its clips there);
        result CDNs are public and must never see it.
        The URL, and every redirect from it, must be http(s) and public unless the API itself
        is local (the emulator); size, total time and redirects are bounded (``download_file``),
        and ``cancel_downloads()`` stops it.
        """
        problem = url_problem(url, allow_private=self._local_api)
        if problem:  # before anything parses it further: a malformed URL is this error too
            raise DownloadError(f"cannot download {url.split('?')[0][:200]}: {problem}")
        headers = self._auth_headers() if _origin(url) == _origin(self._config.base_url) else {}
        return download_file(
            self._http,
            url,
            dest,
            headers=headers,
            max_retries=self._max_retries,
            pause=lambda attempt: self._sleep(self._backoff(attempt)),
            max_bytes=self._max_download_bytes,
            deadline=self._download_deadline,
            url_check=lambda target: url_problem(target, allow_private=self._local_api),
            cancelled=self._cancelled.is_set,
        )

    def cancel_downloads(self) -> None:
        """Stop every download of this client at its next chunk (Ctrl-C), and refuse new ones."""
        self._cancelled.set()

    # -- transport -----------------------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        token = self._config.token
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _post(
        self,
        path: str,
        payload: dict[str, Any],
        timeout: httpx.Timeout,
        *,
        submits: bool = False,
        task_outcome: bool = False,
    ) -> dict[str, Any]:
        """POST JSON with retries; return the decoded 2xx body or raise the mapped error.

        With ``task_outcome``, an error body carrying a ``task_id`` is returned, not raised.
        """
        url = self._config.base_url + path
        if submits:
            within_body_limit(payload)
        timeout = self._api_timeout if timeout is API_TIMEOUT else timeout
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            **self._auth_headers(),
        }
        for attempt in range(self._max_retries + 1):
            last = attempt == self._max_retries
            try:
                resp = post_within(self._http, url, payload, headers, timeout)  # whole, in time
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # The connection never opened: nothing was sent, so even create may retry.
                error: APIError = _transport_error(exc, path, sent=False)
                delay = None
            except httpx.InvalidURL as exc:
                raise APIConnectionError(f"cannot call the service at {url}: {exc}") from None
            except httpx.HTTPError as exc:  # also an unreadable answer (DecodingError), redirects
                error = _transport_error(exc, path, sent=True, submits=submits)
                if submits:
                    raise error from exc
                delay = None
            else:
                if resp.is_success:
                    return _json_body(resp, path, self._config.token, submits=submits)
                body = _maybe_json(resp, self._config.token)
                if task_outcome and isinstance(body, dict) and _text(body.get("task_id")):
                    return body
                error = error_from_response(resp.status_code, body, resp.headers, token=self._config.token)
                if submits and resp.status_code == 504:
                    raise _maybe_submitted(
                        APITimeoutError(
                            f"the gateway timed out waiting for {path}; {_MAY_BE_SUBMITTED}",
                            status=504,
                            code=error.code,
                            trace_id=error.trace_id,
                        )
                    )
                if not _retryable_status(resp.status_code, submits=submits):
                    raise error
                delay = _retry_after(resp.headers.get("retry-after"))
            if last:
                raise error
            wait = delay if delay is not None else self._backoff(attempt)
            log.info(
                "POST %s failed (%s); retry %d/%d in %.2f s",
                path,
                error,
                attempt + 1,
                self._max_retries,
                wait,
            )
            self._sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._backoff_cap, self._backoff_base * 2.0**attempt)
        return ceiling * (0.5 + 0.5 * self._jitter())


def _retryable_status(status: int, *, submits: bool) -> bool:
    if submits:
        return status in _CREATE_RETRY_STATUSES
    return status in (408, 409, 429) or status >= 500


def _transport_error(exc: httpx.HTTPError, path: str, *, sent: bool, submits: bool = False) -> APIConnectionError:
    timeout = isinstance(exc, httpx.TimeoutException)
    if not sent:
        what = "timed out connecting" if timeout else "could not connect"
        cls: type[APIConnectionError] = APITimeoutError if timeout else APIConnectionError
        return cls(f"{what} to the service for {path} ({type(exc).__name__})")
    what = "no answer in time" if timeout else f"connection lost ({type(exc).__name__})"
    if isinstance(exc, httpx.DecodingError):
        what = "an unreadable answer (its body does not match its Content-Encoding)"
    elif isinstance(exc, httpx.TooManyRedirects):
        what = "too many redirects"
    message = f"{what} for {path}"
    if not submits:
        return (APITimeoutError if timeout else APIConnectionError)(message)
    message += f"; {_MAY_BE_SUBMITTED}"
    return _maybe_submitted((APITimeoutError if timeout else APIConnectionError)(message))


def _maybe_submitted(error: APIErrorT) -> APIErrorT:
    """Mark a create whose answer was lost: the task may exist and be billed anyway."""
    error.maybe_submitted = True
    return error


def _json_body(resp: httpx.Response, path: str, token: str | None, *, submits: bool = False) -> dict[str, Any]:
    body = _maybe_json(resp, token)
    if not isinstance(body, dict):
        message = f"the service answered {path} with something other than a JSON object"
        # a 2xx to a create that cannot be read (cut off, a gateway's page): the task may exist
        error = APIError(
            f"{message}; {_MAY_BE_SUBMITTED}" if submits else message,
            status=resp.status_code,
            trace_id=scrub(resp.headers.get("x-trace-id", ""), token),
        )
        raise _maybe_submitted(error) if submits else error
    return body


def _maybe_json(resp: httpx.Response, token: str | None) -> object:
    """The decoded body with the token scrubbed from every string: this is where the service's
    words enter, so no message, code, trace id or failure reason downstream can print it."""
    try:
        return scrub(resp.json(), token)
    except ValueError:
        # Proxies answer errors in HTML; only a short plain-text body is worth quoting.
        text = resp.text
        is_short_text = len(text) <= 200 and "<" not in text
        return scrub(text, token) if is_short_text else None


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or HTTP date), if usable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    # A far-future value would stall the render; fall back to our own backoff instead.
    return max(0.0, seconds) if seconds <= RETRY_AFTER_MAX else None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""

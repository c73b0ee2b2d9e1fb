"""SeedanceClient over httpx.MockTransport: requests sent, error mapping, retries, backoff.

The only place mocks are allowed: the transport is swapped, nothing is monkeypatched, and an
injected ``sleep`` records the delays instead of waiting.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from storyboard.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InsufficientBalanceError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    ServerError,
)
from storyboard.seedance.client import BATCH_LIMIT, SeedanceClient
from storyboard.seedance.config import ServiceConfig

TOKEN = "sk-unit-7f3a9c1e5b"
BASE = "https://api.example.test"
Handler = Callable[[httpx.Request], httpx.Response]


class Harness:
    """A client over a scripted transport; records requests and the delays it slept."""

    def __init__(self, handler: Handler, **kwargs: object) -> None:
        self.requests: list[httpx.Request] = []
        self.delays: list[float] = []

        def record(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return handler(request)

        http = httpx.Client(transport=httpx.MockTransport(record))
        options: dict = {"sleep": self.delays.append, "jitter": lambda: 0.5, **kwargs}
        config = ServiceConfig(token=TOKEN, base_url=BASE)
        self.client = SeedanceClient(config, http=http, **options)

    def bodies(self) -> list[dict]:
        return [json.loads(r.content) for r in self.requests]


def scripted(*steps: httpx.Response | Exception) -> Handler:
    """Answer each request with the next step (the last one repeats); exceptions are raised."""
    queue = list(steps)

    def handler(request: httpx.Request) -> httpx.Response:
        step = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(step, Exception):
            raise type(step)(str(step), request=request)
        return step

    return handler


def error(status: int, code: str, message: str, trace: str = "tr-1", **kw: object) -> httpx.Response:
    body = {"success": False, "error": {"code": code, "message": message}, "trace_id": trace}
    return httpx.Response(status, json=body, **kw)


CREATED = httpx.Response(200, json={"task_id": "task-1"})
BODY = {"model": "doubao-seedance-1-0-pro-250528", "content": [{"type": "text", "text": "a cat"}]}


# -- requests ---------------------------------------------------------------------------


def test_create_sends_async_body_and_headers() -> None:
    h = Harness(scripted(CREATED))
    assert h.client.create(BODY, callback_url="https://example.test/hook") == "task-1"
    (req,) = h.requests
    assert (req.method, str(req.url)) == ("POST", f"{BASE}/seedance/videos")
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.headers["content-type"] == "application/json"
    assert req.headers["accept"] == "application/json"
    assert h.bodies() == [{**BODY, "async": True, "callback_url": "https://example.test/hook"}]
    assert "async" not in BODY  # the caller's dict is left alone
    assert req.extensions["timeout"] == {"connect": 10.0, "read": 30.0, "write": 30.0, "pool": 30.0}


@pytest.mark.parametrize(
    "answer",
    [
        {"task_id": "task-1", "trace_id": "x"},
        {"success": True, "data": {"task_id": "task-1"}},
        {"id": "task-1"},
    ],
)
def test_create_finds_the_task_id(answer: dict) -> None:
    assert Harness(scripted(httpx.Response(200, json=answer))).client.create(BODY) == "task-1"


def test_create_without_task_id_says_the_task_may_exist() -> None:
    h = Harness(scripted(httpx.Response(200, json={"success": True, "trace_id": "tr-9"})))
    with pytest.raises(APIError) as info:
        h.client.create(BODY)
    assert str(info.value) == (
        "HTTP 200 the service accepted the request but sent no task id; the task may have been "
        "submitted; check it before submitting again (trace id tr-9)"
    )
    assert info.value.maybe_submitted


def test_create_success_false_with_http_200_is_mapped() -> None:
    h = Harness(scripted(error(200, "used_up", "Your balance is not sufficient.")))
    with pytest.raises(InsufficientBalanceError):
        h.client.create(BODY)


def test_create_sync_omits_async_and_waits_long() -> None:
    answer = {
        "success": True,
        "task_id": "task-2",
        "data": {"task_id": "cgt-1", "status": "succeeded", "video_url": "https://cdn.test/v.mp4"},
    }
    h = Harness(scripted(httpx.Response(200, json=answer)))
    result = h.client.create_sync({**BODY, "async": True, "callback_url": "x"}, timeout=900)
    assert (result.task_id, result.status, result.video_url) == (
        "task-2",
        "succeeded",
        "https://cdn.test/v.mp4",
    )
    assert h.bodies() == [BODY]
    assert h.requests[0].extensions["timeout"]["read"] == 900


def test_create_sync_task_failure_is_a_result_not_retried() -> None:
    failed = {
        "success": False,
        "task_id": "task-3",
        "trace_id": "tr-3",
        "error": {"code": "api_error", "message": "fetch failed"},
    }
    h = Harness(scripted(httpx.Response(500, json=failed), CREATED))
    result = h.client.create_sync(BODY)
    assert (result.task_id, result.status, str(result.error)) == (
        "task-3",
        "failed",
        "api_error: fetch failed (trace id tr-3)",
    )
    assert len(h.requests) == 1


def test_create_sync_rejection_without_task_id_raises() -> None:
    h = Harness(scripted(error(400, "bad_request", "model is invalid.")))
    with pytest.raises(BadRequestError):
        h.client.create_sync(BODY)


def test_retrieve_posts_the_documented_body() -> None:
    record = {"id": "task-1", "created_at": 1.0, "trace_id": "t", "type": "videos", "request": {}}
    h = Harness(scripted(httpx.Response(200, json=record)))
    result = h.client.retrieve("task-1")
    assert (result.task_id, result.status) == ("task-1", "pending")
    assert str(h.requests[0].url) == f"{BASE}/seedance/tasks"
    assert h.bodies() == [{"id": "task-1", "action": "retrieve"}]


def test_retrieve_batch_chunks_at_fifty_and_dedupes() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.content)["ids"]
        # The service leaves out ids it does not know ("ghost").
        running = {"data": {"status": "running"}}
        items = [{"id": i, "response": running} for i in ids if i != "ghost"]
        return httpx.Response(200, json={"items": items, "count": len(items)})

    ids = [f"t{i}" for i in range(120)] + ["t0", "t5", "ghost"]
    h = Harness(handler)
    results = h.client.retrieve_batch(ids)
    assert BATCH_LIMIT == 50
    assert [len(b["ids"]) for b in h.bodies()] == [50, 50, 21]
    assert all(b["action"] == "retrieve_batch" for b in h.bodies())
    assert sorted(results) == sorted(f"t{i}" for i in range(120))
    assert {r.status for r in results.values()} == {"processing"}


def test_retrieve_batch_of_nothing_sends_nothing() -> None:
    h = Harness(scripted(CREATED))
    assert h.client.retrieve_batch([]) == {}
    assert h.requests == []


# -- error mapping ----------------------------------------------------------------------

MATRIX = [
    (
        error(401, "invalid_token", "The specified token is invalid or wrong."),
        AuthenticationError,
        "HTTP 401 invalid_token: The specified token is invalid or wrong. (trace id tr-1)",
    ),
    (
        error(401, "token_expired", "token expired."),
        AuthenticationError,
        "HTTP 401 token_expired: token expired. (trace id tr-1)",
    ),
    (
        error(400, "no_token", "No token specified for the request."),
        AuthenticationError,
        "HTTP 400 no_token: No token specified for the request. (trace id tr-1)",
    ),
    (
        error(400, "token_mismatched", "The specified token is not matched with API."),
        AuthenticationError,
        "HTTP 400 token_mismatched: The specified token is not matched with API. (trace id tr-1)",
    ),
    (
        error(403, "used_up", "Your balance is not sufficient for current request."),
        InsufficientBalanceError,
        "HTTP 403 used_up: Your balance is not sufficient for current request. (trace id tr-1)",
    ),
    (
        error(403, "content_blocked", "The prompt was blocked."),
        PermissionDeniedError,
        "HTTP 403 content_blocked: The prompt was blocked. (trace id tr-1)",
    ),
    (
        error(400, "disabled", "Your application has been disabled."),
        PermissionDeniedError,
        "HTTP 400 disabled: Your application has been disabled. (trace id tr-1)",
    ),
    (
        error(404, "not_found", "The specified task ID was not found."),
        NotFoundError,
        "HTTP 404 not_found: The specified task ID was not found. (trace id tr-1)",
    ),
    (
        error(404, "no_api", "API does not exist, please make sure url is correct."),
        NotFoundError,
        "HTTP 404 no_api: API does not exist, please make sure url is correct. (trace id tr-1)",
    ),
    (
        error(413, "request_too_large", "Request body is too large."),
        RequestTooLargeError,
        "HTTP 413 request_too_large: Request body is too large. (trace id tr-1)",
    ),
    (
        error(429, "too_many_requests", "You have exceeded the rate limit."),
        RateLimitError,
        "HTTP 429 too_many_requests: You have exceeded the rate limit. (trace id tr-1)",
    ),
    (
        error(400, "bad_request", "model is invalid."),
        BadRequestError,
        "HTTP 400 bad_request: model is invalid. (trace id tr-1)",
    ),
    (error(500, "api_error", "fetch failed"), ServerError, "HTTP 500 api_error: fetch failed (trace id tr-1)"),
    (
        error(500, "internal_error", "An internal or upstream error occurred."),
        ServerError,
        "HTTP 500 internal_error: An internal or upstream error occurred. (trace id tr-1)",
    ),
    (
        httpx.Response(
            502, text="<html><body>" + "bad gateway " * 10000 + "</body></html>", headers={"x-trace-id": "hdr-7"}
        ),
        ServerError,
        "HTTP 502 Bad Gateway (trace id hdr-7)",
    ),
    (
        httpx.Response(400, json={"error": "model is invalid."}, headers={"x-trace-id": "hdr-8"}),
        BadRequestError,
        "HTTP 400 model is invalid. (trace id hdr-8)",
    ),
    (httpx.Response(401, json={}), AuthenticationError, "HTTP 401 Unauthorized"),
    (httpx.Response(403, text="Forbidden by policy"), PermissionDeniedError, "HTTP 403 Forbidden by policy"),
    (
        httpx.Response(422, json={"error": {"code": "x", "message": "nope"}, "trace_id": "b"}),
        APIStatusError,
        "HTTP 422 x: nope (trace id b)",
    ),
]


@pytest.mark.parametrize(("answer", "cls", "text"), MATRIX)
def test_error_mapping(answer: httpx.Response, cls: type, text: str) -> None:
    h = Harness(scripted(answer), max_retries=0)
    with pytest.raises(APIStatusError) as info:
        h.client.retrieve("task-1")
    assert type(info.value) is cls
    assert str(info.value) == text
    assert info.value.status == answer.status_code


def test_error_carries_fields_and_body_trace_beats_header() -> None:
    answer = error(404, "not_found", "gone", trace="body-trace", headers={"x-trace-id": "hdr"})
    h = Harness(scripted(answer))
    with pytest.raises(NotFoundError) as info:
        h.client.retrieve("nope")
    e = info.value
    assert (e.status, e.code, e.message, e.trace_id) == (404, "not_found", "gone", "body-trace")


def test_huge_multiline_message_is_one_short_line() -> None:
    h = Harness(scripted(error(400, "bad_request", "line one\nline two " + "y" * 10**6)))
    with pytest.raises(BadRequestError) as info:
        h.client.create(BODY)
    assert "\n" not in str(info.value)
    assert len(info.value.message) == 300
    assert info.value.message.startswith("line one line two yyy")


def test_non_json_success_body_is_an_api_error() -> None:
    h = Harness(scripted(httpx.Response(200, text="<html>maintenance</html>")))
    with pytest.raises(APIError) as info:
        h.client.retrieve("t")
    assert str(info.value) == ("HTTP 200 the service answered /seedance/tasks with something other than a JSON object")


# -- retries ----------------------------------------------------------------------------

RATE = error(429, "too_many_requests", "You have exceeded the rate limit.")


def test_create_429_three_times_then_success_backs_off_exponentially() -> None:
    h = Harness(scripted(RATE, RATE, RATE, CREATED))
    assert h.client.create(BODY) == "task-1"
    assert len(h.requests) == 4
    # base 0.5 doubling, jitter factor 0.5 + 0.5*0.5 = 0.75
    assert h.delays == [0.375, 0.75, 1.5]


def test_backoff_is_capped() -> None:
    h = Harness(scripted(httpx.Response(503)), max_retries=6)
    with pytest.raises(ServerError):
        h.client.retrieve("t")
    assert h.delays == [0.375, 0.75, 1.5, 3.0, 6.0, 6.0]


def test_real_jitter_stays_within_half_to_full_delay() -> None:
    delays: list[float] = []
    http = httpx.Client(transport=httpx.MockTransport(scripted(httpx.Response(503))))
    config = ServiceConfig(token=TOKEN, base_url=BASE)
    client = SeedanceClient(  # default jitter: random.random
        config, http=http, sleep=delays.append, max_retries=5, backoff_base=1.0, backoff_cap=4.0
    )
    with pytest.raises(ServerError):
        client.retrieve("t")
    ceilings = [1.0, 2.0, 4.0, 4.0, 4.0]
    assert len(delays) == 5
    assert all(c / 2 <= d < c for d, c in zip(delays, ceilings, strict=True))


def test_retry_after_seconds_is_honoured() -> None:
    limited = error(429, "too_many_requests", "slow down", headers={"Retry-After": "2"})
    h = Harness(scripted(limited, CREATED))
    assert h.client.create(BODY) == "task-1"
    assert h.delays == [2.0]


def test_retry_after_http_date() -> None:
    past = email.utils.formatdate(time.time() - 100, usegmt=True)
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    far = email.utils.formatdate(time.time() + 3600, usegmt=True)
    answers = [httpx.Response(503, headers={"Retry-After": d}) for d in (past, soon, far)]
    h = Harness(scripted(*answers, CREATED))
    h.client.retrieve_batch(["a"])
    assert h.delays[0] == 0.0
    assert 20.0 < h.delays[1] <= 30.0
    assert h.delays[2] == 1.5  # an hour is too long to stall a render: own backoff instead


def test_unparseable_retry_after_falls_back_to_backoff() -> None:
    h = Harness(scripted(httpx.Response(429, headers={"Retry-After": "soon"}), CREATED))
    h.client.create(BODY)
    assert h.delays == [0.375]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
@pytest.mark.parametrize("call", ["create", "retrieve"])
def test_other_4xx_are_never_retried(status: int, call: str) -> None:
    h = Harness(scripted(httpx.Response(status, json={"error": {"code": "c", "message": "m"}})))
    with pytest.raises(APIStatusError):
        h.client.create(BODY) if call == "create" else h.client.retrieve("t")
    assert len(h.requests) == 1
    assert h.delays == []


def test_exhausted_retries_raise_the_last_error() -> None:
    answers = [error(500, "api_error", f"attempt {i}", trace=f"tr-{i}") for i in range(5)]
    h = Harness(scripted(*answers, CREATED))
    with pytest.raises(ServerError) as info:
        h.client.retrieve("t")
    assert len(h.requests) == 5
    assert str(info.value) == "HTTP 500 api_error: attempt 4 (trace id tr-4)"


@pytest.mark.parametrize("status", [408, 409, 500, 502, 503, 504])
def test_polls_retry_transient_statuses(status: int) -> None:
    h = Harness(scripted(httpx.Response(status), httpx.Response(200, json={"id": "t"})))
    assert h.client.retrieve("t").status == "pending"
    assert len(h.requests) == 2


def test_create_is_not_retried_after_a_read_timeout() -> None:
    h = Harness(scripted(httpx.ReadTimeout("timed out"), CREATED))
    with pytest.raises(APITimeoutError) as info:
        h.client.create(BODY)
    assert len(h.requests) == 1
    assert str(info.value) == (
        "no answer in time for /seedance/videos; the task may have been submitted; check it before submitting again"
    )
    assert info.value.maybe_submitted


def test_create_is_not_retried_after_the_connection_dropped() -> None:
    h = Harness(scripted(httpx.RemoteProtocolError("Server disconnected"), CREATED))
    with pytest.raises(APIConnectionError) as info:
        h.client.create(BODY)
    assert type(info.value) is APIConnectionError
    assert len(h.requests) == 1
    assert str(info.value) == (
        "connection lost (RemoteProtocolError) for /seedance/videos; the task may have been "
        "submitted; check it before submitting again"
    )
    assert info.value.maybe_submitted


def test_create_sync_read_timeout_may_have_submitted() -> None:
    h = Harness(scripted(httpx.ReadTimeout("timed out")))
    with pytest.raises(APITimeoutError) as info:
        h.client.create_sync(BODY)
    assert info.value.maybe_submitted and len(h.requests) == 1


@pytest.mark.parametrize(
    "answer",
    [httpx.ConnectError("refused"), RATE, httpx.Response(503), error(400, "bad_request", "no")],
)
def test_create_errors_that_created_nothing_are_not_marked(
    answer: httpx.Response | Exception,
) -> None:
    h = Harness(scripted(answer), max_retries=1)
    with pytest.raises(APIError) as info:
        h.client.create(BODY)
    assert not info.value.maybe_submitted


def test_poll_errors_are_never_marked_submitted() -> None:
    h = Harness(scripted(httpx.ReadTimeout("t")), max_retries=1)
    with pytest.raises(APITimeoutError) as info:
        h.client.retrieve("t")
    assert not info.value.maybe_submitted
    assert str(info.value) == "no answer in time for /seedance/tasks"


def test_create_is_retried_after_connect_error() -> None:
    h = Harness(scripted(httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), CREATED))
    assert h.client.create(BODY) == "task-1"
    assert len(h.requests) == 3
    assert h.delays == [0.375, 0.75]


@pytest.mark.parametrize("status", [409, 501])
def test_create_does_not_retry_ambiguous_statuses(status: int) -> None:
    h = Harness(scripted(httpx.Response(status), CREATED))
    with pytest.raises(APIStatusError):
        h.client.create(BODY)
    assert len(h.requests) == 1


def test_create_gateway_timeout_may_have_submitted() -> None:
    h = Harness(scripted(httpx.Response(504, headers={"x-trace-id": "gw"}), CREATED))
    with pytest.raises(APITimeoutError) as info:
        h.client.create(BODY)
    assert len(h.requests) == 1
    assert str(info.value) == (
        "HTTP 504 the gateway timed out waiting for /seedance/videos; the task may have been "
        "submitted; check it before submitting again (trace id gw)"
    )
    assert info.value.maybe_submitted


def test_create_retries_server_errors_that_created_nothing() -> None:
    h = Harness(scripted(httpx.Response(500), httpx.Response(502), httpx.Response(503), CREATED))
    assert h.client.create(BODY) == "task-1"
    assert len(h.requests) == 4


def test_polls_retry_timeouts_and_dropped_connections() -> None:
    record = httpx.Response(200, json={"id": "t"})
    h = Harness(scripted(httpx.ReadTimeout("t"), httpx.RemoteProtocolError("x"), record))
    assert h.client.retrieve("t").task_id == "t"
    assert len(h.requests) == 3


def test_unreachable_service_after_retries() -> None:
    h = Harness(scripted(httpx.ConnectError("refused")), max_retries=2)
    with pytest.raises(APIConnectionError) as info:
        h.client.retrieve_batch(["a"])
    assert str(info.value) == "could not connect to the service for /seedance/tasks (ConnectError)"
    assert len(h.requests) == 3


def test_connect_timeout_maps_to_timeout_error() -> None:
    h = Harness(scripted(httpx.ConnectTimeout("slow")), max_retries=0)
    with pytest.raises(APITimeoutError) as info:
        h.client.retrieve("a")
    assert str(info.value) == ("timed out connecting to the service for /seedance/tasks (ConnectTimeout)")


# -- downloads through the client -------------------------------------------------------


def test_token_goes_only_to_the_api_origin(tmp_path: Path) -> None:
    h = Harness(lambda request: httpx.Response(200, content=b"clip-bytes"))
    assert h.client.download(f"{BASE}/_files/a.mp4", tmp_path / "a.mp4") == 10
    assert h.client.download("https://cdn.example.test/a.mp4?sig=1", tmp_path / "b.mp4") == 10
    assert h.client.download(f"{BASE}:8443/a.mp4", tmp_path / "c.mp4") == 10
    own, cdn, other_port = h.requests
    assert own.headers["authorization"] == f"Bearer {TOKEN}"
    assert "authorization" not in cdn.headers
    assert "authorization" not in other_port.headers
    assert (tmp_path / "b.mp4").read_bytes() == b"clip-bytes"


def test_client_without_token_sends_no_authorization() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(400, json={"error": {"code": "no_token", "message": "No token."}})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = SeedanceClient(ServiceConfig(token=None, base_url=BASE), http=http)
    with pytest.raises(AuthenticationError):
        client.create(BODY)
    assert "authorization" not in requests[0].headers

"""ServiceConfig from the environment, its identity, and the token never leaking anywhere."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from storyboard.errors import APIError, ConfigError
from storyboard.seedance.client import SeedanceClient
from storyboard.seedance.config import DEFAULT_BASE_URL, ServiceConfig

TOKEN = "sk-leakcheck-93b1d0c4e2"


def test_from_env_reads_both_variables() -> None:
    env = {
        "ACEDATACLOUD_API_TOKEN": TOKEN,
        "ACEDATACLOUD_API_BASE_URL": "https://x402.acedata.cloud/",
    }
    config = ServiceConfig.from_env(env)
    assert config.token == TOKEN
    assert config.base_url == "https://x402.acedata.cloud"


def test_from_env_defaults_and_blank_token() -> None:
    config = ServiceConfig.from_env({"ACEDATACLOUD_API_TOKEN": "  "})
    assert (config.token, config.base_url) == (None, DEFAULT_BASE_URL)
    assert DEFAULT_BASE_URL == "https://api.acedata.cloud"


def test_from_env_uses_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", TOKEN)
    monkeypatch.delenv("ACEDATACLOUD_API_BASE_URL", raising=False)
    assert ServiceConfig.from_env().token == TOKEN


def test_bad_base_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        ServiceConfig.from_env({"ACEDATACLOUD_API_BASE_URL": "api.acedata.cloud"})
    assert str(info.value) == ("ACEDATACLOUD_API_BASE_URL: must be an http(s) URL, got 'api.acedata.cloud'")


def test_identity_names_the_service_not_the_port_or_token() -> None:
    assert ServiceConfig(TOKEN, "https://API.acedata.cloud/").identity == "api.acedata.cloud"
    assert ServiceConfig(TOKEN, "http://127.0.0.1:41234").identity == "127.0.0.1"
    assert ServiceConfig(None, "http://127.0.0.1:5000").identity == "127.0.0.1"
    assert ServiceConfig(TOKEN, "https://gw.example/v1").identity == "gw.example/v1"
    assert ServiceConfig(TOKEN, "https://x402.acedata.cloud").identity != (
        ServiceConfig(TOKEN, DEFAULT_BASE_URL).identity
    )


def test_config_is_frozen() -> None:
    config = ServiceConfig(TOKEN)
    with pytest.raises(AttributeError):
        config.token = "other"  # type: ignore[misc]


def _every_failure() -> list[httpx.Response | Exception]:
    """One answer per error class; messages echo the token the way a careless proxy might."""

    def err(status: int, code: str) -> httpx.Response:
        body = {"error": {"code": code, "message": f"bad Bearer {TOKEN}"}, "trace_id": "t"}
        return httpx.Response(status, json=body)

    return [
        err(401, "invalid_token"),
        err(403, "used_up"),
        err(403, "forbidden"),
        err(404, "not_found"),
        err(413, "request_too_large"),
        err(429, "too_many_requests"),
        err(400, "bad_request"),
        err(500, "api_error"),
        err(422, "weird"),
        httpx.Response(504),
        httpx.Response(200, text=f"Authorization: Bearer {TOKEN}"),
        httpx.ConnectError(f"refused {TOKEN}"),
        httpx.ReadTimeout(f"timeout {TOKEN}"),
        httpx.RemoteProtocolError(f"dropped {TOKEN}"),
    ]


def test_token_never_appears_in_errors_reprs_or_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = ServiceConfig(token=TOKEN, base_url="https://api.example.test")
    seen: list[str] = [repr(config), str(config)]
    caplog.set_level(logging.DEBUG)
    kinds: set[str] = set()
    for failure in _every_failure():

        def handler(request: httpx.Request, failure: object = failure) -> httpx.Response:
            if isinstance(failure, Exception):
                raise type(failure)(str(failure), request=request)
            assert isinstance(failure, httpx.Response)
            return failure

        http = httpx.Client(transport=httpx.MockTransport(handler))
        client = SeedanceClient(config, http=http, max_retries=1, sleep=lambda s: None)
        seen += [repr(client), str(client)]
        for call in (
            lambda: client.create({"model": "m", "content": []}),  # noqa: B023 - called in this iteration
            lambda: client.retrieve("t"),  # noqa: B023 - called in this iteration
            lambda: client.download("https://api.example.test/f.mp4", tmp_path / "f.mp4"),  # noqa: B023 - called in this iteration
        ):
            try:
                call()
            except APIError as exc:
                kinds.add(type(exc).__name__)
                seen += [str(exc), repr(exc), exc.message, repr(exc.args)]
    seen.append(caplog.text)
    assert kinds == {
        "APIConnectionError",
        "APIError",
        "APIStatusError",
        "APITimeoutError",
        "AuthenticationError",
        "BadRequestError",
        "DownloadError",
        "InsufficientBalanceError",
        "NotFoundError",
        "PermissionDeniedError",
        "RateLimitError",
        "RequestTooLargeError",
        "ServerError",
    }
    leaks = [text for text in seen if TOKEN in text]
    assert leaks == []
    assert "bad Bearer ***" in "\n".join(seen)  # the echoed token was scrubbed, not dropped

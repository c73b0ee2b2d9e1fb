"""Every answer the network can give becomes a typed, one-line error: the client's matrix.

Over ``httpx.MockTransport`` (the transport is swapped, nothing is monkeypatched): redirect
loops, bodies with a false ``Content-Encoding``, malformed URLs, for API calls and downloads.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from storyboard.errors import APIConnectionError, APIError, DownloadError
from storyboard.seedance.client import SeedanceClient
from storyboard.seedance.config import ServiceConfig

BASE = "https://api.example.test"
BODY = {"model": "doubao-seedance-1-0-pro-250528", "content": [{"type": "text", "text": "a fox"}]}
Handler = Callable[[httpx.Request], httpx.Response]


def false_gzip(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=b'{"task_id": "t1"}')


def redirect_loop(request: httpx.Request) -> httpx.Response:
    return httpx.Response(302, headers={"Location": str(request.url)})


def too_many_redirects(request: httpx.Request) -> httpx.Response:
    raise httpx.TooManyRedirects("Exceeded maximum allowed redirects.", request=request)


def client_over(handler: Handler, base: str = BASE) -> SeedanceClient:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return SeedanceClient(ServiceConfig(token="tok", base_url=base), http=http, sleep=lambda _s: None)


def one_line(error: BaseException) -> str:
    text = str(error)
    assert text and "\n" not in text
    return text


@pytest.mark.parametrize("handler", [false_gzip, too_many_redirects], ids=["false-gzip", "redirects"])
def test_a_poll_gets_a_typed_error(handler: Handler) -> None:
    with pytest.raises(APIConnectionError) as info:
        client_over(handler).retrieve("t1")
    assert "/seedance/tasks" in one_line(info.value)


def test_an_unreadable_create_answer_is_typed_and_uncertain() -> None:
    with pytest.raises(APIError) as info:
        client_over(false_gzip).create(BODY)  # type: ignore[arg-type]
    assert info.value.maybe_submitted
    assert "may have been submitted" in one_line(info.value)


@pytest.mark.parametrize(
    ("handler", "words"),
    [(false_gzip, "Content-Encoding"), (redirect_loop, "too many redirects"), (too_many_redirects, "redirects")],
    ids=["false-gzip", "loop", "raised"],
)
def test_a_download_gets_a_typed_error(handler: Handler, words: str, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as info:
        client_over(handler).download("https://cdn.example.test/a.mp4", tmp_path / "a.mp4")
    assert words in one_line(info.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/x", "ftp://cdn.example.test/x", "http:///x", "https://[::1/x"])
def test_a_malformed_result_url_is_a_download_error(url: str, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as info:
        client_over(false_gzip).download(url, tmp_path / "a.mp4")
    one_line(info.value)

"""Resumable, atomic downloads against a real HTTP server on 127.0.0.1 that misbehaves.

The server is the standard library's, in a thread; each test scripts how it cuts, ignores
Range or fails, and the bytes on disk are compared with the real file served.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from storyboard.errors import DownloadError
from storyboard.seedance.client import SeedanceClient
from storyboard.seedance.config import ServiceConfig
from storyboard.seedance.download import download_file

PAYLOAD = (Path(__file__).resolve().parents[2] / "examples" / "media" / "vacation_2017.jpg").read_bytes()
CUT_AT = 300_000


@dataclass
class Script:
    """How the server behaves: ``cuts`` transfers are cut at CUT_AT, then it serves fully."""

    cuts: int = 0
    honour_range: bool = True
    wrong_range_start: int | None = None
    status: int = 200
    send_length: bool = True
    seen: list[str | None] = field(default_factory=list)  # Range header of each GET


class Handler(BaseHTTPRequestHandler):
    script: Script

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        script = self.server.script  # type: ignore[attr-defined]
        wanted = self.headers.get("Range")
        script.seen.append(wanted)
        if script.status != 200:
            self.send_error(script.status)
            return
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", wanted or "")
        if match and script.honour_range:
            start = int(match.group(1))
            if script.wrong_range_start is not None:
                start = script.wrong_range_start
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        if script.send_length:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "video/mp4")
        self.end_headers()
        if script.cuts:
            script.cuts -= 1
            self.wfile.write(body[: max(0, CUT_AT - start)])
            self.wfile.flush()
            self.close_connection = True  # the peer sees EOF before Content-Length bytes
            return
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.script = script  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/clips/shot.mp4?sig=secret", script
    finally:
        httpd.shutdown()
        httpd.server_close()


def fetch(url: str, dest: Path, pauses: list[int], retries: int = 4) -> int:
    with httpx.Client() as http:
        return download_file(http, url, dest, max_retries=retries, pause=pauses.append)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_clean_download(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    dest = tmp_path / "sub" / "shot.mp4"
    pauses: list[int] = []
    assert fetch(url, dest, pauses) == len(PAYLOAD)
    assert digest(dest) == hashlib.sha256(PAYLOAD).hexdigest()
    assert script.seen == [None]
    assert pauses == []
    assert sorted(p.name for p in dest.parent.iterdir()) == ["shot.mp4"]


def test_cut_transfer_is_resumed_with_range(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    script.cuts = 1
    dest = tmp_path / "shot.mp4"
    pauses: list[int] = []
    assert fetch(url, dest, pauses) == len(PAYLOAD)
    assert dest.read_bytes() == PAYLOAD
    assert script.seen == [None, f"bytes={CUT_AT}-"]
    assert pauses == [0]
    assert not (tmp_path / "shot.mp4.part").exists()


def test_two_cuts_resume_from_the_same_offset(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    script.cuts = 2  # the resumed request is cut at once (nothing past CUT_AT is sent)
    dest = tmp_path / "shot.mp4"
    assert fetch(url, dest, []) == len(PAYLOAD)
    assert dest.read_bytes() == PAYLOAD
    assert script.seen == [None, f"bytes={CUT_AT}-", f"bytes={CUT_AT}-"]


def test_server_ignoring_range_restarts(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    script.cuts, script.honour_range = 1, False
    dest = tmp_path / "shot.mp4"
    assert fetch(url, dest, []) == len(PAYLOAD)
    assert dest.read_bytes() == PAYLOAD
    assert script.seen == [None, f"bytes={CUT_AT}-"]


def test_wrong_range_answer_starts_over(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    script.cuts, script.wrong_range_start = 1, 1000
    dest = tmp_path / "shot.mp4"
    # The 206 from byte 1000 is discarded; the next request starts from scratch.
    assert fetch(url, dest, []) == len(PAYLOAD)
    assert dest.read_bytes() == PAYLOAD
    assert script.seen == [None, f"bytes={CUT_AT}-", None]


def test_permanently_short_server_fails_cleanly(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    script.cuts, script.honour_range = 1000, False
    dest = tmp_path / "shot.mp4"
    pauses: list[int] = []
    with pytest.raises(DownloadError) as info:
        fetch(url, dest, pauses, retries=3)
    port = url.split(":")[2].split("/")[0]
    assert str(info.value) == (
        f"could not download http://127.0.0.1:{port}/clips/shot.mp4: RemoteProtocolError at "
        f"byte {CUT_AT} (got {CUT_AT} of {len(PAYLOAD)} bytes after 4 attempt(s))"
    )
    assert "secret" not in str(info.value)  # signed query strings stay out of messages
    assert len(script.seen) == 4
    assert pauses == [0, 1, 2]
    assert list(tmp_path.iterdir()) == []


def test_failed_download_keeps_the_previous_file(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    script.cuts, script.honour_range = 1000, False
    dest = tmp_path / "shot.mp4"
    dest.write_bytes(b"previous clip")
    with pytest.raises(DownloadError):
        fetch(url, dest, [], retries=1)
    assert dest.read_bytes() == b"previous clip"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot.mp4"]


def test_missing_file_is_not_retried(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    script.status = 404
    with pytest.raises(DownloadError) as info:
        fetch(url, tmp_path / "shot.mp4", [])
    assert (info.value.status, len(script.seen)) == (404, 1)
    assert str(info.value).startswith("HTTP 404 could not download http://127.0.0.1:")
    assert str(info.value).endswith("/clips/shot.mp4: Not Found (got 0 bytes after 1 attempt(s))")


def test_server_error_is_retried_then_reported(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    script.status = 503
    with pytest.raises(DownloadError) as info:
        fetch(url, tmp_path / "shot.mp4", [], retries=2)
    assert (info.value.status, len(script.seen)) == (503, 3)


def test_stale_part_file_is_not_resumed(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    (tmp_path / "shot.mp4.part").write_bytes(b"x" * 5000)
    assert fetch(url, tmp_path / "shot.mp4", []) == len(PAYLOAD)
    assert (tmp_path / "shot.mp4").read_bytes() == PAYLOAD
    assert script.seen == [None]


def test_without_content_length_the_stream_end_is_trusted(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    script.send_length = False
    assert fetch(url, tmp_path / "shot.mp4", []) == len(PAYLOAD)
    assert (tmp_path / "shot.mp4").read_bytes() == PAYLOAD


def test_non_http_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as info:
        fetch("file:///etc/passwd", tmp_path / "x", [])
    assert str(info.value) == "cannot download file:///etc/passwd: not an http(s) URL"


def test_client_download_resumes_and_backs_off(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    script.cuts = 2
    delays: list[float] = []
    # a loopback API (as the emulator is) may hand out loopback result URLs; another port: no token
    config = ServiceConfig(token="tok", base_url="http://127.0.0.1:9")
    with SeedanceClient(config, sleep=delays.append, jitter=lambda: 0.0) as client:
        assert client.download(url, tmp_path / "shot.mp4") == len(PAYLOAD)
    assert delays == [0.25, 0.5]
    assert (tmp_path / "shot.mp4").read_bytes() == PAYLOAD


def test_interrupted_download_leaves_no_part_file(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    script.cuts = 1

    def interrupt(attempt: int) -> None:
        raise KeyboardInterrupt

    with httpx.Client() as http, pytest.raises(KeyboardInterrupt):
        download_file(http, url, tmp_path / "shot.mp4", pause=interrupt)
    assert list(tmp_path.iterdir()) == []

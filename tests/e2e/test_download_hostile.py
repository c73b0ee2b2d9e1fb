"""Downloads against hostile servers on 127.0.0.1: endless bodies, slow drips, redirect loops,
lying Content-Encoding, and result URLs that point at other local services.

Each server is the standard library's, in a thread, scripted by the path it is asked for. Every
answer the network can give must end in a ``DownloadError`` with a one-line message, promptly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from storyboard.errors import APITimeoutError, DownloadError
from storyboard.seedance.client import SeedanceClient
from storyboard.seedance.config import ServiceConfig
from storyboard.seedance.download import download_file, url_problem
from storyboard.seedance.limits import MAX_RESULT_BYTES, largest_clip_bytes

CHUNK = b"\0" * 65536


class Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # an API answer that drips (the JSON never completes in time)
        stop: threading.Event = self.server.stop  # type: ignore[attr-defined]
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        while not stop.wait(0.05):
            try:
                self.wfile.write(b" ")
                self.wfile.flush()
            except OSError:
                return

    def do_GET(self) -> None:
        stop: threading.Event = self.server.stop  # type: ignore[attr-defined]
        if self.path.startswith("/endless"):  # no Content-Length, bytes for ever
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Connection", "close")
            self.end_headers()
            while not stop.is_set():
                try:
                    self.wfile.write(CHUNK)
                except OSError:
                    return
        elif self.path.startswith("/drip"):  # a byte now and then
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            while not stop.wait(0.05):
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
        elif self.path.startswith("/stall"):  # headers, then silence
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.flush()
            stop.wait(30)
        elif self.path.startswith("/loop"):
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path.startswith("/gzip"):  # says gzip, is not
            body = b"this is not gzip at all" * 10
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path.startswith("/to-metadata"):  # a redirect into a link-local address
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            body = b"fine"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)


@pytest.fixture
def hostile() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    httpd.daemon_threads = True
    httpd.stop = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.stop.set()  # type: ignore[attr-defined]
        httpd.shutdown()
        httpd.server_close()


def fetch(url: str, dest: Path, **options: object) -> int:
    with httpx.Client() as http:
        return download_file(http, url, dest, max_retries=1, **options)  # type: ignore[arg-type]


def one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_the_byte_cap_is_a_generous_multiple_of_the_largest_clip() -> None:
    # 4k 16:9 for 15 s (2.0) is the largest clip of the table: tens of MB, the cap far above it
    assert 30_000_000 < largest_clip_bytes() < MAX_RESULT_BYTES <= 2_000_000_000


def test_an_endless_body_stops_at_the_byte_cap(hostile: str, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as info:
        fetch(f"{hostile}/endless", tmp_path / "clip.mp4", max_bytes=1_000_000)
    assert "more than 1000000 bytes" in one_line(info.value)
    assert list(tmp_path.iterdir()) == []


def test_a_slow_drip_stops_at_the_deadline(hostile: str, tmp_path: Path) -> None:
    t0 = time.monotonic()
    with pytest.raises(DownloadError) as info:
        fetch(f"{hostile}/drip", tmp_path / "clip.mp4", deadline=0.5)
    assert time.monotonic() - t0 < 3
    assert "did not finish within 0.5 s" in one_line(info.value)
    assert list(tmp_path.iterdir()) == []


def test_a_stalled_server_stops_at_the_deadline(hostile: str, tmp_path: Path) -> None:
    t0 = time.monotonic()
    with pytest.raises(DownloadError) as info:
        fetch(f"{hostile}/stall", tmp_path / "clip.mp4", deadline=0.5)
    assert time.monotonic() - t0 < 3
    assert "did not finish within 0.5 s" in one_line(info.value)


def test_a_cancelled_download_stops_promptly(hostile: str, tmp_path: Path) -> None:
    config = ServiceConfig(token=None, base_url=hostile)
    errors: list[BaseException] = []
    with SeedanceClient(config) as client:

        def run() -> None:
            try:
                client.download(f"{hostile}/endless", tmp_path / "clip.mp4")
            except BaseException as exc:  # noqa: BLE001 - what the thread ended with is the result
                errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(0.2)
        t0 = time.monotonic()
        client.cancel_downloads()  # what the scheduler does on Ctrl-C
        thread.join(5)
        assert not thread.is_alive() and time.monotonic() - t0 < 2
    assert isinstance(errors[0], DownloadError)
    assert "stopped" in one_line(errors[0])
    assert list(tmp_path.iterdir()) == []


def test_a_redirect_loop_is_a_download_error(hostile: str, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as info:
        fetch(f"{hostile}/loop", tmp_path / "clip.mp4")
    assert "too many redirects" in one_line(info.value)


def test_a_false_content_encoding_is_a_download_error(hostile: str, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as info:
        fetch(f"{hostile}/gzip", tmp_path / "clip.mp4")
    assert "Content-Encoding" in one_line(info.value)
    assert list(tmp_path.iterdir()) == []


def test_result_urls_may_not_point_at_local_services_of_a_remote_api(hostile: str, tmp_path: Path) -> None:
    config = ServiceConfig(token="tok", base_url="https://api.example.test")
    with SeedanceClient(config) as client:
        for url in (f"{hostile}/fine", "http://localhost:8080/x", "http://10.0.0.7/x", "http://[::1]/x"):
            with pytest.raises(DownloadError) as info:
                client.download(url, tmp_path / "clip.mp4")
            assert "not a public address" in one_line(info.value)
        with pytest.raises(DownloadError) as info:
            client.download("http://127.0.0.1:99999/x", tmp_path / "clip.mp4")  # was a ValueError
        assert "not a valid URL" in one_line(info.value)
    assert list(tmp_path.iterdir()) == []


def test_a_local_api_may_serve_local_results_but_redirects_stay_checked(hostile: str, tmp_path: Path) -> None:
    config = ServiceConfig(token=None, base_url=hostile)  # the emulator's situation
    with SeedanceClient(config) as client:
        assert client.download(f"{hostile}/fine", tmp_path / "ok.mp4") == 4
    with httpx.Client() as http, pytest.raises(DownloadError) as info:
        # a public CDN (stood in for by the hostile server) redirecting into the metadata service
        def check(url: str) -> str | None:
            return None if url.startswith(hostile) else url_problem(url, allow_private=False)

        download_file(http, f"{hostile}/to-metadata", tmp_path / "x.mp4", url_check=check)
    assert "169.254.169.254" in one_line(info.value) and "not a public address" in str(info.value)


def test_a_slow_drip_api_answer_times_out(hostile: str) -> None:
    config = ServiceConfig(token=None, base_url=hostile)
    body = {"model": "doubao-seedance-1-0-pro-250528", "content": [{"type": "text", "text": "a fox"}]}
    with SeedanceClient(config, max_retries=0, api_timeout=httpx.Timeout(0.5, connect=1.0)) as client:
        t0 = time.monotonic()
        with pytest.raises(APITimeoutError) as polled:
            client.retrieve("t1")
        with pytest.raises(APITimeoutError) as created:
            client.create(body)  # type: ignore[arg-type]
        assert time.monotonic() - t0 < 4
    assert one_line(polled.value) == "no answer in time for /seedance/tasks"
    assert created.value.maybe_submitted and "may have been submitted" in one_line(created.value)

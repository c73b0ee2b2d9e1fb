"""Money against a hostile service over real HTTP (issue 12): a create answered 200 with a body
that is not JSON is *uncertain* — the next render refuses to pay again; ``--timeout`` stops a
render whose task never ends like Ctrl-C does. Creates are counted on a tiny server of our own
on 127.0.0.1 (and on the emulator's request log)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from test_render import creates, use, write_board

from storyboard.cli.main import main
from storyboard.emulator import Emulator

pytestmark = pytest.mark.e2e


@pytest.fixture(params=['{"success": true, "task_id": "t1"', "<html><body>Bad gateway</body></html>"])
def broken_service(request: pytest.FixtureRequest) -> Iterator[tuple[str, list[str]]]:
    answer: str = request.param
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's spelling)
            self.rfile.read(int(self.headers.get("content-length") or 0))
            seen.append(self.path)
            data = answer.encode() if self.path == "/seedance/videos" else b'{"items": [], "count": 0}'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_create_answered_with_junk_is_uncertain_and_never_paid_twice(
    tmp_path: Path,
    broken_service: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, seen = broken_service
    monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", url)
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", "test-token")
    board = write_board(tmp_path, '  - {id: a, prompt: "shot a"}\n')
    assert main(["render", str(board), "--quiet"]) == 1
    first = capsys.readouterr().err
    assert "may have been submitted" in first and "--force a" in first and "render again" not in first
    assert main(["render", str(board), "--quiet"]) == 1
    assert seen.count("/seedance/videos") == 1  # the second render refused to pay again
    assert "an earlier create request for this shot was sent" in capsys.readouterr().err


def test_render_timeout_stops_like_ctrl_c_and_the_next_render_picks_the_task_up(
    tmp_path: Path,
    emulator_factory: Callable[..., Emulator],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emu = emulator_factory(latency=6.0)
    use(emu, monkeypatch)
    board = write_board(tmp_path, '  - {id: a, prompt: "shot a"}\n')
    assert main(["render", str(board), "--quiet", "--timeout", "1"]) == 130
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("timed out after 1 s; still running on the service: a (")
    assert main(["render", str(board), "--quiet"]) == 0
    assert len(creates(emu)) == 1

"""SeedanceClient against the real emulator over a loopback socket: the whole task life cycle
(async create, batch poll, download, last frame), chaining, and injected faults.

The client's retries get a recording ``sleep`` (no real back-off waits); polling between
task states waits for real, bounded by the emulator's small latency.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from storyboard.emulator import Emulator
from storyboard.errors import APIConnectionError, AuthenticationError, NotFoundError
from storyboard.seedance.client import SeedanceClient
from storyboard.seedance.config import ServiceConfig
from storyboard.seedance.results import TaskResult, parse_response

MEDIA = Path(__file__).resolve().parents[2] / "examples" / "media"  # from the project's media set
MODEL = "doubao-seedance-1-0-pro-250528"  # 1.0 table: 480p 16:9 is 864x480
WIDTH, HEIGHT = 864, 480
DURATION = 2
POLL_LIMIT = 60.0  # seconds; only a guard against hanging, never an assertion


def data_uri(name: str) -> str:
    raw = (MEDIA / name).read_bytes()
    return "data:image/jpeg;base64," + base64.b64encode(raw).decode()


def shot(prompt: str, *images: tuple[str, str]) -> dict:
    content: list[dict] = [{"type": "text", "text": prompt}]
    for role, url in images:
        content.append({"type": "image_url", "role": role, "image_url": {"url": url}})
    return {
        "model": MODEL,
        "content": content,
        "resolution": "480p",
        "ratio": "16:9",
        "duration": DURATION,
        "seed": 7,
        "return_last_frame": True,
    }


def client_for(emu: Emulator, token: str = "any-token", delays: list[float] | None = None) -> SeedanceClient:
    sleep = delays.append if delays is not None else (lambda seconds: None)
    return SeedanceClient(ServiceConfig(token=token, base_url=emu.url), sleep=sleep)


def wait_all(client: SeedanceClient, ids: list[str]) -> dict[str, TaskResult]:
    """Poll with retrieve_batch, as the render engine does, until every task is done."""
    deadline = time.monotonic() + POLL_LIMIT
    while True:
        results = client.retrieve_batch(ids)
        if all(results[i].done for i in ids):
            return results
        assert time.monotonic() < deadline, f"tasks still running: {results}"
        time.sleep(0.03)


def decode(path: Path, *, last: bool = False) -> np.ndarray:
    """Frame 0 (or the last frame) of a clip as an RGB array, decoded by the real ffmpeg."""
    select = ["-sseof", "-0.2"] if last else []
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", *select, "-i", str(path)]
    cmd += ["-update", "1", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(HEIGHT, WIDTH, 3)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def served_file(emu: Emulator, url: str) -> bytes:
    return (emu.files_dir / url.rsplit("/", 1)[1]).read_bytes()


def logged(emu: Emulator, path_prefix: str) -> list[dict]:
    """Request-log records under a path, once every request counted so far is logged.

    The emulator logs a request after answering it, so a client can see the answer first.
    """
    deadline = time.monotonic() + POLL_LIMIT
    while len(emu.requests) < emu.stats()["requests"] and time.monotonic() < deadline:
        time.sleep(0.01)
    return [r for r in emu.requests if r["path"].startswith(path_prefix)]


def creates(emu: Emulator) -> list[dict]:
    return logged(emu, "/seedance/videos")


# -- the life cycle ---------------------------------------------------------------------


def test_t2v_first_frame_and_first_last_in_one_batch(emulator: Emulator, tmp_path: Path) -> None:
    photo, later = data_uri("image_0001.jpg"), data_uri("image_0025.jpg")
    bodies = {
        "t2v": shot("a bird on a branch, text only"),
        "first": shot("the bird takes off", ("first_frame", photo)),
        "first_last": shot("the scene moves on", ("first_frame", photo), ("last_frame", later)),
    }
    with client_for(emulator) as client:
        ids = {name: client.create(body) for name, body in bodies.items()}
        results = wait_all(client, list(ids.values()))
        paths = {}
        for name, task_id in ids.items():
            result = results[task_id]
            assert (result.status, result.task_id, result.error) == ("succeeded", task_id, None)
            assert (result.model, result.resolution, result.ratio) == (MODEL, "480p", "16:9")
            assert result.tokens == WIDTH * HEIGHT * (24 * DURATION + 1) // 1024
            assert result.video_url and result.last_frame_url
            clip, frame = tmp_path / f"{name}.mp4", tmp_path / f"{name}.png"
            assert client.download(result.video_url, clip) == clip.stat().st_size
            client.download(result.last_frame_url, frame)
            assert clip.read_bytes() == served_file(emulator, result.video_url)
            assert frame.read_bytes() == served_file(emulator, result.last_frame_url)
            paths[name] = clip, frame

    # One batch request polls all three tasks; nothing was polled one by one.
    stats = emulator.stats()
    assert (stats["creates"], stats["polls"], stats["retrieve_batch_max_ids"]) == (3, 0, 3)
    assert [r["body"]["async"] for r in creates(emulator)] == [True, True, True]
    # The photo given as first frame really is frame 0 (1280x720 scaled into 864x480).
    bird = np.asarray(Image.open(MEDIA / "image_0001.jpg").convert("RGB").resize((WIDTH, HEIGHT)))
    assert psnr(decode(paths["first"][0]), bird) > 25
    assert psnr(decode(paths["t2v"][0]), bird) < 15
    for _clip, frame in paths.values():
        assert Image.open(frame).size == (WIDTH, HEIGHT)


def test_chained_pair_starts_shot_two_on_shot_ones_last_frame(emulator: Emulator, tmp_path: Path) -> None:
    with client_for(emulator) as client:
        photo = data_uri("image_0001.jpg")
        one_id = client.create(shot("shot one: a bird on a branch", ("first_frame", photo)))
        one = wait_all(client, [one_id])[one_id]
        assert one.last_frame_url is not None
        two_id = client.create(shot("shot two: it flies away", ("first_frame", one.last_frame_url)))
        two = wait_all(client, [two_id])[two_id]
        assert two.status == "succeeded" and two.video_url
        client.download(one.last_frame_url, tmp_path / "one-last.png")
        client.download(two.video_url, tmp_path / "two.mp4")
    sent = creates(emulator)[1]["body"]["content"][1]
    url = {"url": one.last_frame_url}
    assert sent == {"type": "image_url", "role": "first_frame", "image_url": url}
    handover = np.asarray(Image.open(tmp_path / "one-last.png").convert("RGB"))
    assert psnr(decode(tmp_path / "two.mp4"), handover) > 30


def test_create_sync_returns_the_final_result(emulator: Emulator) -> None:
    with client_for(emulator) as client:
        result = client.create_sync(shot("synchronous shot"), timeout=120)
    assert result.status == "succeeded"
    assert result.video_url is not None and result.video_url.startswith(emulator.url + "/files/")
    assert "async" not in creates(emulator)[0]["body"]


def test_create_sync_failure_carries_the_services_code(
    emulator_factory: Callable[..., Emulator],
) -> None:
    emu = emulator_factory(faults="fail=doomed")
    with client_for(emu) as client:
        result = client.create_sync(shot("a doomed synchronous shot"), timeout=120)
    assert result.status == "failed" and result.error is not None
    assert result.error.code == "OutputVideoSensitiveContentDetected"
    assert len(creates(emu)) == 1


@pytest.fixture
def callback_sink() -> Iterator[tuple[str, list[dict]]]:
    """A loopback receiver for the emulator's callback POSTs."""
    received: list[dict] = []

    class Sink(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", received
    httpd.shutdown()
    httpd.server_close()


def test_callback_url_is_passed_through_and_its_payload_parses(
    emulator: Emulator, callback_sink: tuple[str, list[dict]]
) -> None:
    hook, received = callback_sink
    with client_for(emulator) as client:
        task_id = client.create(shot("with a callback"), callback_url=hook)
        polled = wait_all(client, [task_id])[task_id]
    deadline = time.monotonic() + POLL_LIMIT
    while not received and time.monotonic() < deadline:
        time.sleep(0.02)
    assert creates(emulator)[0]["body"]["callback_url"] == hook
    pushed = parse_response(received[0])
    assert (pushed.task_id, pushed.status, pushed.video_url) == (
        task_id,
        "succeeded",
        polled.video_url,
    )


def test_unknown_task_id_is_not_found(emulator: Emulator) -> None:
    with client_for(emulator) as client, pytest.raises(NotFoundError) as info:
        client.retrieve("no-such-task")
    assert re.fullmatch(
        r"HTTP 404 not_found: The specified task ID was not found\. \(trace id [0-9a-f-]{36}\)",
        str(info.value),
    )


# -- faults -----------------------------------------------------------------------------


def test_create_rate_limited_twice_then_accepted(emulator_factory: Callable[..., Emulator]) -> None:
    emu = emulator_factory(faults="create429=2")
    delays: list[float] = []
    with client_for(emu, delays=delays) as client:
        task_id = client.create(shot("after two 429s"))
        assert wait_all(client, [task_id])[task_id].status == "succeeded"
    assert [r["status"] for r in creates(emu)] == [429, 429, 200]
    assert len(delays) == 2 and delays[0] < delays[1]
    assert emu.stats()["creates"] == 1


def test_poll_server_error_is_retried(emulator_factory: Callable[..., Emulator]) -> None:
    emu = emulator_factory(faults="poll500=1")
    delays: list[float] = []
    with client_for(emu, delays=delays) as client:
        task_id = client.create(shot("poll through a 500"))
        assert wait_all(client, [task_id])[task_id].status == "succeeded"
    polls = [r["status"] for r in logged(emu, "/seedance/tasks")]
    assert polls[0] == 500 and set(polls[1:]) == {200}
    assert len(delays) == 1


def test_dropped_download_is_resumed_and_verified(emulator_factory: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = emulator_factory(faults="dropdl=1")
    with client_for(emu) as client:
        task_id = client.create(shot("a clip whose download is cut"))
        result = wait_all(client, [task_id])[task_id]
        assert result.video_url is not None
        size = client.download(result.video_url, tmp_path / "clip.mp4")
    expected = served_file(emu, result.video_url)
    assert size == len(expected)
    assert (tmp_path / "clip.mp4").read_bytes() == expected
    gets = [r["status"] for r in logged(emu, "/files/")]
    assert gets == [200, 206]
    assert emu.stats()["downloads_dropped"] == 1
    assert not (tmp_path / "clip.mp4.part").exists()


def test_failed_task_surfaces_the_services_code_and_message(
    emulator_factory: Callable[..., Emulator],
) -> None:
    emu = emulator_factory(faults="fail=forbidden-scene")
    with client_for(emu) as client:
        bad = client.create(shot("a forbidden-scene shot"))
        good = client.create(shot("a harmless shot"))
        results = wait_all(client, [bad, good])
    failed = results[bad]
    assert (failed.status, failed.video_url) == ("failed", None)
    assert failed.error is not None
    assert failed.error.code == "OutputVideoSensitiveContentDetected"
    assert failed.error.message.startswith(
        "The request failed because the output video may contain sensitive information."
    )
    assert str(failed.error).startswith("OutputVideoSensitiveContentDetected: The request failed")
    assert results[good].status == "succeeded"


def test_wrong_token_is_one_clear_line(emulator_factory: Callable[..., Emulator]) -> None:
    emu = emulator_factory(token="right-token")
    with client_for(emu, token="wrong-token") as client, pytest.raises(AuthenticationError) as info:
        client.create(shot("never rendered"))
    text = str(info.value)
    assert re.fullmatch(
        r"HTTP 401 invalid_token: The specified token is invalid or wrong\. "
        r"\(trace id [0-9a-f-]{36}\)",
        text,
    )
    assert "wrong-token" not in text and "right-token" not in text
    assert emu.stats()["creates"] == 0 and len(creates(emu)) == 1  # not retried


def test_dropped_create_is_not_resubmitted(emulator_factory: Callable[..., Emulator]) -> None:
    emu = emulator_factory(faults="dropcreate=1")
    with client_for(emu) as client, pytest.raises(APIConnectionError) as info:
        client.create(shot("the answer to this create is lost"))
    assert str(info.value) == (
        "connection lost (RemoteProtocolError) for /seedance/videos; the task may have been "
        "submitted; check it before submitting again"
    )
    assert info.value.maybe_submitted
    # The emulator read the body and hung up; a silent retry would have created a task.
    assert (emu.stats()["creates_rejected"], emu.stats()["creates"]) == (1, 0)


def test_environment_proxy_does_not_capture_the_loopback_emulator(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens on port 9
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    with client_for(emulator) as client:
        task_id = client.create(shot("no proxy in between"))
    assert emulator.stats()["creates"] == 1 and task_id

"""The emulator speaks the AceData SeeDance protocol: auth, errors, validation, modes, records.

Plain httpx over a real loopback socket (not the project's client, so the two cannot share a bug).
"""

from __future__ import annotations

import inspect
import json
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from storyboard.emulator import Emulator

from support.emulator_support import AUTH, MEDIA, PRO, PRO15, body, create, data_uri, post, retrieve, wait_for

LITE_T2V = "doubao-seedance-1-0-lite-t2v-250428"
LITE_I2V = "doubao-seedance-1-0-lite-i2v-250428"
FAST = "doubao-seedance-1-0-pro-fast-251015"
V20 = "doubao-seedance-2-0-260128"
V20_FAST = "doubao-seedance-2-0-fast-260128"
V25 = "doubao-seedance-2-5-260628"
PHOTO = data_uri(MEDIA / "image_0001.jpg")
PHOTO2 = data_uri(MEDIA / "image_0025.jpg")


def assert_error(answer: httpx.Response, status: int, code: str, message: str) -> None:
    assert answer.status_code == status, answer.text
    payload = answer.json()
    assert payload == {"success": False, "error": {"code": code, "message": message},
                       "trace_id": answer.headers["x-trace-id"]}  # fmt: skip


# -- auth and routing ----------------------------------------------------------------------


def test_missing_token_is_no_token(emulator: Emulator) -> None:
    answer = post(emulator, "/seedance/videos", body(), headers=None)
    assert_error(answer, 400, "no_token", "No token specified for the request.")


def test_wrong_token_is_invalid_token_and_right_one_passes(emulator_factory) -> None:
    emu = emulator_factory(token="s3cret-token")
    wrong = post(emu, "/seedance/tasks", {"id": "x"}, headers={"Authorization": "Bearer nope"})
    assert_error(wrong, 401, "invalid_token", "The specified token is invalid or wrong.")
    basic = post(emu, "/seedance/tasks", {"id": "x"}, headers={"Authorization": "Basic s3cret-token"})
    assert_error(basic, 401, "invalid_token", "The specified token is invalid or wrong.")
    right = post(emu, "/seedance/tasks", {"id": "x"}, headers={"Authorization": "Bearer s3cret-token"})
    assert_error(right, 404, "not_found", "The specified task ID was not found.")
    assert emu.stats()["unauthorized"] == 2


def test_without_token_option_any_bearer_is_accepted(emulator: Emulator) -> None:
    answer = post(emulator, "/seedance/tasks", {"id": "x"}, headers={"Authorization": "Bearer anything"})
    assert answer.status_code == 404


@pytest.mark.parametrize("method,path", [("GET", "/seedance/videos"), ("POST", "/v1/videos"), ("GET", "/")])
def test_unknown_path_is_no_api(emulator: Emulator, method: str, path: str) -> None:
    answer = httpx.request(method, f"{emulator.url}{path}", headers=AUTH)
    assert_error(answer, 404, "no_api", "API does not exist, please make sure url is correct.")


def test_body_over_the_limit_is_413(emulator_factory) -> None:
    emu = emulator_factory(max_body=20_000)
    answer = post(emu, "/seedance/videos", body(images=(("first_frame", PHOTO),)))
    assert_error(answer, 413, "request_too_large", "Request body is too large.")
    assert emu.stats()["creates"] == 0


# -- validation ----------------------------------------------------------------------------

TINY = data_uri(Image.new("RGB", (200, 200), (9, 9, 9)))
NARROW = data_uri(Image.new("RGB", (300, 900), (9, 9, 9)))
NOT_AN_IMAGE = "data:image/png;base64," + "aGVsbG8gd29ybGQ="


def _with(**changes: Any) -> dict[str, Any]:
    payload = body()
    for key, value in changes.items():
        if value is None:
            payload.pop(key, None)
        else:
            payload[key] = value
    return payload


def _images(model: str, *items: tuple[str, str], **fields: Any) -> dict[str, Any]:
    return body(model=model, images=items, **fields)


BAD_BODIES = [
    (_with(model=None), "model is required."),
    (_with(content=None), "content is required."),
    (_with(model="doubao-seedance-9"), "model is invalid."),
    (_with(service_tier="flex"), "unknown field 'service_tier'."),
    (_with(content="a fox"), "content must be a non-empty array."),
    (_with(content=[]), "content must be a non-empty array."),
    (_with(content=[{"type": "text", "text": "x", "role": "first_frame"}]),
     "content[0]: unknown field 'role' for a text item."),
    (_with(content=[{"type": "prompt", "text": "x"}]),
     "content[0].type must be one of text, image_url, audio_url, video_url (got 'prompt')."),
    (_with(content=[{"type": "text", "text": "x" * 1001}]),
     "content[0].text is longer than 1000 characters (1001)."),
    (_with(content=[{"type": "text", "text": "x"}, {"type": "image_url", "image_url": PHOTO}]),
     'content[1].image_url must be an object like {"url": "..."}, not a string.'),
    (_with(content=[{"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": PHOTO}, "role": "hero"}]),
     "content[1].role must be one of first_frame, last_frame, reference_image (got 'hero')."),
    (_images(PRO, ("first_frame", "ftp://host/a.png")),
     "content[1].image_url.url must be an http(s) URL or a base64 data URI."),
    (_images(PRO, ("first_frame", TINY)),
     "content[1].image_url.url: the image must be at least 300x300 and at most 6000x6000 pixels (got 200x200)."),
    (_images(PRO, ("first_frame", NARROW)),
     "content[1].image_url.url: the image aspect ratio (width/height) must be between 0.4 and 2.5 (got 300x900)."),
    (_images(PRO, ("first_frame", NOT_AN_IMAGE)), "content[1].image_url.url: the data URI does not decode to an image."),
    (_images(PRO, ("first_frame", PHOTO.replace("image/jpeg", "image/JPEG"))),
     "content[1].image_url.url: the image format in a data URI must be lowercase ('JPEG')."),
    (_images(PRO, ("first_frame", PHOTO), ("first_frame", PHOTO2)), "only one first_frame image is allowed."),
    (_images(PRO, ("last_frame", PHOTO)), "a last_frame image needs a first_frame image."),
    (_images(LITE_I2V, ("first_frame", PHOTO), ("reference_image", PHOTO2)),
     "first_frame/last_frame images cannot be mixed with reference_image, reference_video or reference_audio."),
    (_images(FAST, ("first_frame", PHOTO), ("last_frame", PHOTO2)), f"{FAST} does not accept a last_frame image."),
    (_images(PRO, ("reference_image", PHOTO)), f"{PRO} does not accept reference_image."),
    (_images(LITE_I2V, *[("reference_image", PHOTO)] * 5), f"{LITE_I2V} accepts at most 4 reference images (got 5)."),
    (_images(LITE_I2V, ("reference_image", PHOTO), resolution="1080p"),
     f"{LITE_I2V} does not support resolution 1080p in the reference-image scenario (480p, 720p)."),
    (_images(LITE_T2V, ("first_frame", PHOTO)), f"{LITE_T2V} does not accept images (text-to-video only)."),
    (body(model=LITE_I2V), f"{LITE_I2V} needs an image (first_frame or reference_image)."),
    (body(model=V20_FAST, resolution="1080p"), f"{V20_FAST} does not support resolution 1080p (480p, 720p)."),
    (body(resolution="2k"), "resolution must be one of 480p, 720p, 1080p, 4k (got '2k')."),
    (body(duration=20), f"duration must be between 2 and 12 for {PRO} (got 20)."),
    (body(duration=-1), f"duration must be between 2 and 12 for {PRO} (got -1)."),
    (body(model=PRO15, duration=3), f"duration must be between 4 and 12 or -1 for {PRO15} (got 3)."),
    (body(duration="5"), "duration must be an integer."),
    (body(frames=30), "frames must be 25+4n between 29 and 289 (got 30)."),
    (body(model=V20, frames=33), f"{V20} does not take frames; use duration."),
    (body(ratio="adaptive"), f"ratio adaptive needs a first_frame image on {PRO}."),
    (body(ratio="2:1"), "ratio must be one of 16:9, 4:3, 1:1, 3:4, 9:16, 21:9, adaptive (got '2:1')."),
    (body(seed="7"), "seed must be an integer."),
    (body(seed=2**32), "seed must be between -1 and 4294967295 (got 4294967296)."),
    (body(watermark="yes"), "watermark must be a boolean (true or false)."),
    (body(execution_expires_after=60), "execution_expires_after must be between 3600 and 259200 (got 60)."),
    (body(callback_url="ftp://x/y"), "callback_url must be an http(s) URL."),
    (body(output_format="mov"), "output_format is only supported by doubao-seedance-2-5-260628."),
    (_images(V25, ("first_frame", PHOTO), ratio="16:9"), "For first-frame or first-last-frame generation, the output "
     "ratio follows the first-frame image: use ratio adaptive."),
    (body(model=V20, content=[{"type": "text", "text": "x"},
                              {"type": "audio_url", "role": "reference_audio", "audio_url": {"url": "https://h/a.mp3"}}]),
     "reference_audio cannot be the only reference: add an image or a video."),
]  # fmt: skip


@pytest.mark.parametrize("payload,message", BAD_BODIES, ids=[m[:40] for _, m in BAD_BODIES])
def test_invalid_create_bodies_are_bad_request(emulator: Emulator, payload: dict, message: str) -> None:
    answer = post(emulator, "/seedance/videos", {"async": True, **payload})
    assert_error(answer, 400, "bad_request", message)
    assert emulator.stats()["creates"] == 0


def test_non_json_body_is_bad_request(emulator: Emulator) -> None:
    answer = httpx.post(f"{emulator.url}/seedance/videos", content=b"{nope", headers=AUTH)
    assert_error(answer, 400, "bad_request", "the request body is not valid JSON.")


def test_documented_optional_fields_are_accepted(emulator: Emulator) -> None:
    payload = body(model=PRO15, ratio="1:1", duration=-1, seed=42, camerafixed=True, watermark=False,
                   generate_audio=False, return_last_frame=False, execution_expires_after=3600,
                   callback_url="http://127.0.0.1:9/unused", priority=0, safety_identifier="user-1")  # fmt: skip
    answer = post(emulator, "/seedance/videos", payload)
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"success", "task_id", "trace_id"}


def test_service_tier_is_accepted_and_ignored_unless_strict(emulator_factory) -> None:
    # §1.2: the seed document still sends `service_tier`; AceData ignores it. `strict` (our own
    # tests' default, see conftest) refuses it, so our client is caught if it ever sends one.
    lenient = emulator_factory(strict=False)
    answer = post(lenient, "/seedance/videos", body(frames=29, service_tier="flex"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["status"] == "succeeded"
    assert lenient.stats()["creates"] == 1
    strict = emulator_factory(strict=True)
    refused = post(strict, "/seedance/videos", body(frames=29, service_tier="flex"))
    assert_error(refused, 400, "bad_request", "unknown field 'service_tier'.")
    assert strict.stats()["creates"] == 0
    assert inspect.signature(Emulator).parameters["strict"].default is False  # CLI, embedded: lenient


@pytest.mark.parametrize("flags,strict", [(["--strict"], True), ([], False)])
def test_emulator_command_strict_flag(monkeypatch: pytest.MonkeyPatch, flags: list[str], strict: bool) -> None:
    import storyboard.emulator
    from storyboard.cli.main import main

    seen: dict[str, Any] = {}

    class Refused:
        def __init__(self, **options: Any) -> None:
            seen.update(options)

        def start(self) -> None:
            raise OSError(98, "in use")

    monkeypatch.setattr(storyboard.emulator, "Emulator", Refused)
    assert main(["emulator", "--port", "0", *flags]) == 2
    assert seen["strict"] is strict


def test_inline_prompt_flags_fill_missing_fields_and_bad_ones_are_ignored(emulator: Emulator) -> None:
    text = "a kitten yawning --rs 480p --rt 1:1 --dur 2 --seed 11 --cf true --wm nope"
    answer = post(emulator, "/seedance/videos", {"model": PRO, "content": [{"type": "text", "text": text}]})
    data = answer.json()["data"]
    assert (data["resolution"], data["ratio"], data["duration"]) == ("480p", "1:1", 2)
    body_wins = {"model": PRO, "content": [{"type": "text", "text": text}], "duration": 3}
    assert post(emulator, "/seedance/videos", body_wins).json()["data"]["duration"] == 3


# -- modes and records ---------------------------------------------------------------------


def test_async_create_then_pending_then_succeeded_record(emulator_factory) -> None:
    emu = emulator_factory(latency=0.6)
    answer = post(emu, "/seedance/videos", {**body(frames=29), "async": True})
    assert answer.status_code == 200
    created = answer.json()
    assert created["success"] is True and created["trace_id"] == answer.headers["x-trace-id"]
    pending = retrieve(emu, created["task_id"])
    # running: `response` and `finished_at` are there and null (AceData's SDK reads a missing
    # `response` as "look in `request`" and takes an input URL for the result)
    assert pending["response"] is None and pending["finished_at"] is None and "elapsed" not in pending
    assert pending["id"] == created["task_id"] and pending["type"] == "videos"
    assert pending["trace_id"] == created["trace_id"]
    assert pending["request"] == {**body(frames=29), "async": True}
    done = wait_for(emu, created["task_id"])
    assert done["elapsed"] >= 0.6 and done["finished_at"] >= done["started_at"] >= done["created_at"]
    response = done["response"]
    assert response["success"] is True and response["task_id"] == created["task_id"]
    data = response["data"]
    assert data["status"] == "succeeded" and data["model"] == PRO
    assert data["task_id"].startswith("cgt-") and len(data["task_id"]) == len("cgt-20251221230356-sxgt7")
    assert (data["resolution"], data["ratio"], data["frames"], data["last_frame_url"]) == ("480p", "16:9", 29, None)
    assert data["usage"]["completion_tokens"] == 864 * 480 * 29 // 1024
    clip = httpx.get(data["video_url"])
    assert clip.status_code == 200 and clip.headers["content-type"] == "video/mp4"
    assert clip.content[4:8] == b"ftyp"
    assert emu.stats()["tasks"] == {"succeeded": 1}


def test_record_echoes_request_with_base64_shortened(emulator: Emulator) -> None:
    task_id = create(emulator, body(images=(("first_frame", PHOTO),), frames=29))
    url = retrieve(emulator, task_id)["request"]["content"][1]["image_url"]["url"]
    size = (MEDIA / "image_0001.jpg").stat().st_size
    assert url.startswith("data:image/jpeg;base64,<sha256:") and url.endswith(f"… {size} bytes>")
    wait_for(emulator, task_id)


def test_retrieve_batch_returns_known_records(emulator: Emulator) -> None:
    ids = [create(emulator, body(f"shot {i}", frames=29)) for i in range(2)]
    for task_id in ids:
        wait_for(emulator, task_id)
    answer = post(emulator, "/seedance/tasks", {"ids": [*ids, "no-such-task"], "action": "retrieve_batch"})
    assert answer.status_code == 200
    batch = answer.json()
    assert batch["count"] == 2 and [item["id"] for item in batch["items"]] == ids
    assert all(item["response"]["data"]["status"] == "succeeded" for item in batch["items"])
    stats = emulator.stats()
    assert (stats["retrieve_batch"], stats["retrieve_batch_max_ids"], stats["creates"]) == (1, 3, 2)


@pytest.mark.parametrize("payload,message", [
    ({"action": "retrieve"}, "id is required (a task id string)."),
    ({"action": "retrieve_batch", "ids": "a,b"}, "ids is required (an array of task id strings)."),
    ({"id": "x", "action": "delete"}, "action must be retrieve or retrieve_batch."),
    (["x"], "the request body must be a JSON object."),
])  # fmt: skip
def test_bad_task_queries(emulator: Emulator, payload: Any, message: str) -> None:
    assert_error(post(emulator, "/seedance/tasks", payload), 400, "bad_request", message)


def test_unknown_task_is_not_found(emulator: Emulator) -> None:
    answer = post(emulator, "/seedance/tasks", {"id": "9462ca25-468b-45a5-9e75-6f516dedcc80"})
    assert_error(answer, 404, "not_found", "The specified task ID was not found.")


def test_sync_mode_blocks_and_returns_the_full_result(emulator: Emulator) -> None:
    answer = post(emulator, "/seedance/videos", body(frames=29, return_last_frame=True))
    assert answer.status_code == 200
    result = answer.json()
    assert set(result) == {"success", "task_id", "trace_id", "data"}
    assert result["data"]["status"] == "succeeded"
    assert httpx.get(result["data"]["last_frame_url"]).headers["content-type"] == "image/png"
    assert retrieve(emulator, result["task_id"])["response"] == result


class _Catcher(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    arrived = threading.Event()

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        type(self).arrived.set()

    def log_message(self, *args: Any) -> None:
        pass


def test_callback_mode_answers_at_once_and_posts_the_result(emulator_factory) -> None:
    emu = emulator_factory(latency=0.3)
    catcher = HTTPServer(("127.0.0.1", 0), _Catcher)
    threading.Thread(target=catcher.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{catcher.server_address[1]}/hook"
        answer = post(emu, "/seedance/videos", body(frames=29, callback_url=url))
        assert answer.status_code == 200 and set(answer.json()) == {"success", "task_id", "trace_id"}
        assert _Catcher.arrived.wait(30)
        record = retrieve(emu, answer.json()["task_id"])
        assert _Catcher.received == [record["response"]]
        assert emu.stats()["callbacks"] == 1
    finally:
        catcher.shutdown()
        catcher.server_close()


def test_unreachable_callback_is_counted_and_the_task_still_succeeds(emulator: Emulator) -> None:
    with socket.socket() as spare:  # a port nobody listens on
        spare.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{spare.getsockname()[1]}/hook"
    task_id = post(emulator, "/seedance/videos", body(frames=29, callback_url=url)).json()["task_id"]
    assert wait_for(emulator, task_id)["response"]["success"] is True
    deadline = time.monotonic() + 10
    while emulator.stats()["callbacks_failed"] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (emulator.stats()["callbacks"], emulator.stats()["callbacks_failed"]) == (0, 1)


def test_remote_image_url_fails_like_fetch_failed(emulator: Emulator) -> None:
    remote = body(images=(("first_frame", "https://cdn.example.com/cat.png"),), frames=29)
    record = wait_for(emulator, create(emulator, remote))
    assert record["response"]["success"] is False
    assert record["response"]["error"] == {"code": "api_error", "message": "fetch failed"}
    sync = post(emulator, "/seedance/videos", remote)
    assert sync.status_code == 500
    assert sync.json()["error"] == {"code": "api_error", "message": "fetch failed"}


def test_tasks_over_the_model_concurrency_wait_pending(emulator_factory) -> None:
    emu = emulator_factory(latency=1.5)  # long enough that none ends before the first look
    ids = [create(emu, body(f"shot {i}", model=LITE_T2V, frames=29)) for i in range(6)]  # lite runs 5 at once
    batch = post(emu, "/seedance/tasks", {"ids": ids, "action": "retrieve_batch"}).json()["items"]
    assert ["started_at" in item for item in batch] == [True] * 5 + [False]
    assert emu.stats()["tasks"] == {"processing": 5, "pending": 1}
    records = [wait_for(emu, task_id) for task_id in ids]
    assert records[5]["started_at"] >= min(r["finished_at"] for r in records[:5])


def test_creates_over_the_model_rpm_are_429(emulator_factory) -> None:
    emu = emulator_factory(faults="fail=cheap")  # failed tasks skip the render: 300 creates stay fast
    with httpx.Client(headers=AUTH) as client:
        answers = [client.post(f"{emu.url}/seedance/videos", json={**body("cheap", model=LITE_T2V), "async": True})
                   for _ in range(301)]  # fmt: skip
        other = client.post(f"{emu.url}/seedance/videos", json={**body("cheap"), "async": True})
    assert [a.status_code for a in answers] == [200] * 300 + [429]  # lite: 300 a minute
    assert answers[-1].json()["error"]["code"] == "too_many_requests"
    assert other.status_code == 200  # counted per model
    assert emu.stats()["creates_rate_limited"] == 1


def test_rate_option_scales_the_rpm_window(emulator_factory) -> None:
    emu = emulator_factory(rate=(2, 0.5), faults="fail=cheap")
    codes = [post(emu, "/seedance/videos", {**body("cheap"), "async": True}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    time.sleep(0.6)
    assert post(emu, "/seedance/videos", {**body("cheap"), "async": True}).status_code == 200


def test_request_log_file_has_one_json_line_per_request(emulator_factory, tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    emu = emulator_factory(request_log=log, token="tok-do-not-log-4711")
    headers = {"Authorization": "Bearer tok-do-not-log-4711"}
    task_id = post(emu, "/seedance/videos", {**body(images=(("first_frame", PHOTO),), frames=29), "async": True},
                   headers=headers).json()["task_id"]  # fmt: skip
    post(emu, "/seedance/tasks", {"id": task_id}, headers=headers)
    httpx.get(f"{emu.url}/_emulator/stats", headers=headers)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["method"], r["path"], r["status"]) for r in lines] == [
        ("POST", "/seedance/videos", 200), ("POST", "/seedance/tasks", 200), ("GET", "/_emulator/stats", 200)]  # fmt: skip
    assert set(lines[0]) == {"ts", "method", "path", "status", "body"}
    assert lines[0]["body"]["content"][1]["image_url"]["url"].startswith("data:image/jpeg;base64,<sha256:")
    assert lines[1]["body"] == {"id": task_id}
    assert lines == emu.requests
    assert "tok-do-not-log-4711" not in log.read_text() and len(log.read_text()) < 2000


def test_stats_endpoint_counts_requests_by_kind(emulator: Emulator) -> None:
    data = wait_for(emulator, create(emulator, body(frames=29)))["response"]["data"]
    httpx.get(data["video_url"])
    stats = httpx.get(f"{emulator.url}/_emulator/stats").json()
    assert stats == emulator.stats() | {"requests": stats["requests"]}
    assert (stats["creates"], stats["downloads"], stats["tasks"]) == (1, 1, {"succeeded": 1})
    assert stats["polls"] >= 1


def test_files_support_range_requests(emulator: Emulator) -> None:
    url = wait_for(emulator, create(emulator, body(frames=29)))["response"]["data"]["video_url"]
    whole = httpx.get(url).content
    size = len(whole)
    part = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{size}" and part.headers["content-length"] == "100"
    tail = httpx.get(url, headers={"Range": f"bytes={size - 10}-"})
    assert tail.status_code == 206 and tail.content == whole[-10:]
    suffix = httpx.get(url, headers={"Range": "bytes=-7"})
    assert suffix.content == whole[-7:]
    beyond = httpx.get(url, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{size}"
    several = httpx.get(url, headers={"Range": "bytes=0-1,5-6"})
    assert several.status_code == 200 and several.content == whole  # unsupported forms are ignored
    head = httpx.head(url)
    assert head.status_code == 200 and head.headers["content-length"] == str(size) and head.content == b""
    missing = httpx.get(f"{emulator.url}/files/nope.mp4")
    assert_error(missing, 404, "not_found", "The specified file was not found.")


def test_emulator_object_lifecycle(tmp_path: Path) -> None:
    emu = Emulator(latency=0.05, workdir=tmp_path, token="hidden-token-99")
    assert "hidden-token-99" not in repr(emu)
    with emu:
        assert emu.url.startswith("http://127.0.0.1:") and emu.port > 0
        auth = {"Authorization": "Bearer hidden-token-99"}  # the control endpoints need it too
        assert httpx.get(f"{emu.url}/_emulator/stats", headers=auth).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{emu.url}/_emulator/stats")


def test_serve_forever_blocks_until_stopped(tmp_path: Path) -> None:
    emu = Emulator(workdir=tmp_path)
    thread = threading.Thread(target=emu.serve_forever, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not emu.url and time.monotonic() < deadline:
        time.sleep(0.01)
    assert httpx.get(f"{emu.url}/_emulator/stats").status_code == 200
    emu.stop()
    thread.join(10)
    assert not thread.is_alive()


def test_emulator_imports_only_the_capability_table_and_no_moviepy() -> None:
    probe = (
        "import json, sys, storyboard.emulator; "
        "print(json.dumps([m for m in sys.modules if m.startswith(('storyboard', 'moviepy'))]))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    package = {m for m in json.loads(loaded) if not m.startswith("storyboard.emulator")}
    # storyboard.seedance is the capability table's package; its __init__ imports nothing
    assert package == {"storyboard", "storyboard.seedance", "storyboard.seedance.capabilities"}

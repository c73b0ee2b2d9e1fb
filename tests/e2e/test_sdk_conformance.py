"""AceData's official Python SDK (``acedatacloud``) as a second, independent client of the emulator.

The SDK is run the way its users run it, pointed at the emulator's URL with a token, and what
it returns is checked against what the emulator did: its request log (``emu.requests``), its
counters (``emu.stats()``) and its task records. Neither side is our client, so a bug our client
and emulator share cannot hide here (docs/protocol.md §14 describes the SDK).

The SDK has no batch retrieve and no download: batch retrieve goes through the SDK's own
transport (its auth and error mapping), downloads through plain httpx, as the SDK leaves them
to the caller.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import acedatacloud
import httpx
import pytest
from acedatacloud._runtime.tasks import TimeoutError as TaskTimeout
from acedatacloud._runtime.tasks import failure_reason, task_status
from PIL import Image

from storyboard.emulator import Emulator
from storyboard.seedance.capabilities import MODELS

PRO = "doubao-seedance-1-0-pro-250528"
V25 = "doubao-seedance-2-5-260628"
TOKEN = "sdk-token"
POLL = 0.05  # seconds between the SDK's polls (its default is 3)
# What the SDK adds to every create unless told otherwise (§14).
SDK_DEFAULTS = {"ratio": "16:9", "generate_audio": False, "return_last_frame": False,
                "execution_expires_after": 172800, "priority": 0}  # fmt: skip


def text(prompt: str = "a red fox runs through snow") -> list[dict[str, Any]]:
    return [{"type": "text", "text": prompt}]


def frames(*urls: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"type": "image_url", "role": role, "image_url": {"url": url}} for role, url in urls]


def short(model: str) -> dict[str, Any]:
    """The shortest clip the model makes, at 480p."""
    caps = MODELS[model]
    return {"resolution": "480p", **({"frames": 29} if caps.frames else {"duration": caps.duration_min})}


def hosted_image(emu: Emulator, name: str, color: tuple[int, int, int]) -> str:
    """An image served by the emulator itself (an http URL it can "fetch"), 640x360."""
    Image.new("RGB", (640, 360), color).save(emu.files_dir / name)
    return f"{emu.url}/files/{name}"


def logged(emu: Emulator, path: str) -> list[dict[str, Any]]:
    return [r for r in emu.requests if r["path"] == path]


def record(emu: Emulator, task_id: str) -> dict[str, Any]:
    found = emu.tasks.get(task_id)
    assert found is not None, task_id
    return found


def assert_result_is_the_emulators(emu: Emulator, handle: Any, state: dict[str, Any]) -> dict[str, Any]:
    """The SDK's finished state is the emulator's record, and its URLs are the record's results."""
    rec = record(emu, handle.id)
    assert rec.get("response") is not None and rec.get("finished_at") is not None
    assert state == rec
    data = rec["response"]["data"]
    assert handle.done and task_status(state) == "succeeded"
    assert handle.urls() == [u for u in (data["video_url"], data["last_frame_url"]) if u]
    for poll in logged(emu, "/seedance/tasks"):
        assert poll["body"] == {"id": handle.id, "action": "retrieve"} and poll["status"] == 200
    return data


@pytest.fixture
def emu(emulator_factory: Callable[..., Emulator]) -> Emulator:
    """Lenient like the service (not our tests' strict default), latency 0.05 s."""
    return emulator_factory(strict=False)


@pytest.fixture
def sdk_factory() -> Iterator[Callable[..., acedatacloud.AceDataCloud]]:
    clients: list[acedatacloud.AceDataCloud] = []

    def make(emu: Emulator, token: str = TOKEN, retries: int = 0) -> acedatacloud.AceDataCloud:
        clients.append(acedatacloud.AceDataCloud(token, base_url=emu.url, timeout=60, max_retries=retries))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def sdk(emu: Emulator, sdk_factory: Callable[..., acedatacloud.AceDataCloud]) -> acedatacloud.AceDataCloud:
    return sdk_factory(emu)


# -- generation scenarios ------------------------------------------------------------------


def test_text_to_video(emu: Emulator, sdk: acedatacloud.AceDataCloud) -> None:
    handle = sdk.seedance.generate(model=PRO, content=text(), resolution="480p", frames=29)
    (create,) = logged(emu, "/seedance/videos")
    assert create["status"] == 200
    assert create["body"] == {"model": PRO, "content": text(), "resolution": "480p", "frames": 29,
                              **SDK_DEFAULTS, "async": True}  # fmt: skip
    assert handle.id == record(emu, handle.id)["id"] and not handle.done
    state = handle.wait(poll_interval=POLL, max_wait=30)
    data = assert_result_is_the_emulators(emu, handle, state)
    assert (data["model"], data["resolution"], data["ratio"], data["frames"]) == (PRO, "480p", "16:9", 29)
    assert (emu.files_dir / f"{handle.id}.mp4").is_file()
    stats = emu.stats()
    assert (stats["creates"], stats["polls"], stats["tasks"]) == (
        1,
        len(logged(emu, "/seedance/tasks")),
        {"succeeded": 1},
    )


def test_first_frame_image_url_is_not_taken_for_the_result(emu: Emulator, sdk: acedatacloud.AceDataCloud) -> None:
    # A running record without `response` made the SDK look in `request` and "finish" at once
    # with the input image as the video; a running record carries `response: null`.
    first = hosted_image(emu, "first.png", (200, 40, 40))
    handle = sdk.seedance.generate(model=PRO, content=text() + frames(("first_frame", first)), **short(PRO))
    state = handle.wait(poll_interval=POLL, max_wait=30)
    assert first not in handle.urls()
    data = assert_result_is_the_emulators(emu, handle, state)
    assert data["video_url"].endswith(f"/files/{handle.id}.mp4")
    assert logged(emu, "/seedance/videos")[0]["body"]["content"][1]["image_url"]["url"] == first


def test_first_and_last_frame(emu: Emulator, sdk: acedatacloud.AceDataCloud) -> None:
    first, last = hosted_image(emu, "a.png", (20, 20, 200)), hosted_image(emu, "b.png", (20, 200, 20))
    content = text() + frames(("first_frame", first), ("last_frame", last))
    handle = sdk.seedance.generate(model=PRO, content=content, return_last_frame=True, **short(PRO))
    data = assert_result_is_the_emulators(emu, handle, handle.wait(poll_interval=POLL, max_wait=30))
    assert handle.urls() == [data["video_url"], data["last_frame_url"]]
    assert not {first, last} & set(handle.urls())
    assert logged(emu, "/seedance/videos")[0]["body"]["content"] == content


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_model_of_the_capability_table(emu: Emulator, sdk: acedatacloud.AceDataCloud, model: str) -> None:
    caps = MODELS[model]
    content = text() if caps.text_to_video else text() + frames(("first_frame", hosted_image(emu, "f.png", (9, 9, 9))))
    handle = sdk.seedance.generate(model=model, content=content, return_last_frame=True, **short(model))
    data = assert_result_is_the_emulators(emu, handle, handle.wait(poll_interval=POLL, max_wait=60))
    assert (data["model"], data["resolution"]) == (model, "480p")
    assert (data["last_frame_url"] is not None) is caps.returns_last_frame  # 2.x and lite strip it (§7)
    assert logged(emu, "/seedance/videos")[0]["body"]["model"] == model


def test_retrieve_while_running_and_batch_retrieve(emulator_factory: Callable[..., Emulator],
                                                   sdk_factory: Callable[..., acedatacloud.AceDataCloud]) -> None:  # fmt: skip
    emu = emulator_factory(strict=False, latency=0.6)
    sdk = sdk_factory(emu)
    handles = [sdk.seedance.generate(model=PRO, content=text(f"shot {i}"), **short(PRO)) for i in range(2)]
    running = sdk.tasks.get(handles[0].id, service="seedance")
    assert running["id"] == handles[0].id and running["response"] is None and running["finished_at"] is None
    assert task_status(running) == "" and not handles[0].is_completed()
    states = [h.wait(poll_interval=POLL, max_wait=30) for h in handles]
    ids = [h.id for h in handles]
    # the SDK has no public batch call: its transport (auth, error mapping) sends ours (§2)
    batch = sdk.tasks._transport.request("POST", "/seedance/tasks",
                                         json={"ids": [*ids, "no-such-task"], "action": "retrieve_batch"})  # fmt: skip
    assert batch == {"items": states, "count": 2} and [record(emu, i) for i in ids] == states
    assert all(task_status(item) == "succeeded" for item in batch["items"])
    assert logged(emu, "/seedance/tasks")[-1]["body"] == {"ids": [*ids, "no-such-task"], "action": "retrieve_batch"}
    stats = emu.stats()
    assert (stats["retrieve_batch"], stats["retrieve_batch_max_ids"], stats["creates"]) == (1, 3, 2)


def test_wait_generate_wait_and_tasks_wait(emu: Emulator, sdk: acedatacloud.AceDataCloud) -> None:
    handle = sdk.seedance.generate(model=PRO, content=text(), wait=True, poll_interval=POLL, max_wait=30, **short(PRO))
    assert handle.done
    state = handle.result()
    assert state is not None
    assert_result_is_the_emulators(emu, handle, state)
    again = sdk.tasks.wait(handle.id, service="seedance", poll_interval=POLL, max_wait=5)
    assert again == state and logged(emu, "/seedance/tasks")[-1]["body"] == {"id": handle.id, "action": "retrieve"}


def test_wait_gives_up_after_max_wait_on_a_running_task(emulator_factory: Callable[..., Emulator],
                                                        sdk_factory: Callable[..., acedatacloud.AceDataCloud]) -> None:  # fmt: skip
    emu = emulator_factory(strict=False, latency=2.0)
    handle = sdk_factory(emu).seedance.generate(model=PRO, content=text(), **short(PRO))
    with pytest.raises(TaskTimeout):
        handle.wait(poll_interval=POLL, max_wait=0.3)
    assert not handle.done and emu.stats()["polls"] >= 2
    assert record(emu, handle.id)["response"] is None


def test_failed_task_is_reported_with_the_emulators_error(emulator_factory: Callable[..., Emulator],
                                                          sdk_factory: Callable[..., acedatacloud.AceDataCloud]) -> None:  # fmt: skip
    emu = emulator_factory(strict=False, faults="fail=forbidden")
    handle = sdk_factory(emu).seedance.generate(model=PRO, content=text("a forbidden scene"), **short(PRO))
    state = handle.wait(poll_interval=POLL, max_wait=30)
    error = record(emu, handle.id)["response"]["error"]
    assert state == record(emu, handle.id) and task_status(state) == "failed" and handle.urls() == []
    assert error["code"] == "OutputVideoSensitiveContentDetected" and failure_reason(state) == error["message"]
    assert emu.stats()["tasks"] == {"failed": 1}


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]]
    got: threading.Event

    def do_POST(self) -> None:
        self.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.got.set()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_callback(emu: Emulator, sdk: acedatacloud.AceDataCloud) -> None:
    handler = type("Receiver", (_Receiver,), {"bodies": [], "got": threading.Event()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        callback = f"http://127.0.0.1:{server.server_address[1]}/hook"
        handle = sdk.seedance.generate(model=PRO, content=text(), callback_url=callback, **short(PRO))
        # a running record once made the SDK "finish" with the callback URL as the video
        state = handle.wait(poll_interval=POLL, max_wait=30)
        assert callback not in handle.urls()
        assert_result_is_the_emulators(emu, handle, state)
        assert handler.got.wait(10)
    finally:
        server.shutdown()
        server.server_close()
    assert handler.bodies == [state["response"]]
    body = logged(emu, "/seedance/videos")[0]["body"]
    assert (body["callback_url"], body["async"]) == (callback, True)
    assert emu.stats()["callbacks"] == 1


def test_sync_mode(emu: Emulator, sdk: acedatacloud.AceDataCloud) -> None:
    handle = sdk.seedance.generate(model=PRO, content=text(), async_=False, return_last_frame=True, **short(PRO))
    assert handle.done  # the answer carried the result: no polling
    assert handle.result() == {"response": record(emu, handle.id)["response"]}
    data = record(emu, handle.id)["response"]["data"]
    assert handle.urls() == [data["video_url"], data["last_frame_url"]]
    assert logged(emu, "/seedance/videos")[0]["body"]["async"] is False
    assert logged(emu, "/seedance/tasks") == [] and emu.stats()["polls"] == 0


def test_async_client(emu: Emulator) -> None:
    async def run() -> list[tuple[Any, dict[str, Any]]]:
        async with acedatacloud.AsyncAceDataCloud(TOKEN, base_url=emu.url, timeout=60, max_retries=0) as client:
            handles = await asyncio.gather(
                *(client.seedance.generate(model=PRO, content=text(f"shot {i}"), **short(PRO)) for i in range(2))
            )
            states = await asyncio.gather(*(h.wait(poll_interval=POLL, max_wait=30) for h in handles))
            return list(zip(handles, states, strict=True))

    done = asyncio.run(run())
    assert len({h.id for h, _ in done}) == 2
    for handle, state in done:
        rec = record(emu, handle.id)
        assert state == rec and task_status(state) == "succeeded"
        assert handle.urls() == [rec["response"]["data"]["video_url"]]
    assert emu.stats()["creates"] == 2 and {r["body"]["async"] for r in logged(emu, "/seedance/videos")} == {True}


def test_download_with_range(emu: Emulator, sdk: acedatacloud.AceDataCloud) -> None:
    handle = sdk.seedance.generate(model=PRO, content=text(), wait=True, poll_interval=POLL, **short(PRO))
    (url,) = handle.urls()
    whole = (emu.files_dir / Path(url).name).read_bytes()
    head = httpx.get(url, headers={"Range": "bytes=0-99"})
    assert head.status_code == 206 and head.headers["content-range"] == f"bytes 0-99/{len(whole)}"
    rest = httpx.get(url, headers={"Range": "bytes=100-"})
    assert rest.status_code == 206 and head.content + rest.content == whole and whole[4:8] == b"ftyp"
    assert emu.stats()["downloads"] == 2
    assert [r["status"] for r in emu.requests if r["path"].startswith("/files/")] == [206, 206]


# -- errors --------------------------------------------------------------------------------


def test_400_is_a_validation_error(emu: Emulator, sdk: acedatacloud.AceDataCloud) -> None:
    with pytest.raises(acedatacloud.ValidationError) as caught:
        sdk.seedance.generate(model=PRO, content=text(), resolution="480p", duration=20)
    exc = caught.value
    assert (exc.status_code, exc.code) == (400, "bad_request")
    assert exc.message == f"duration must be between 2 and 12 for {PRO} (got 20)."
    assert exc.body["error"] == {"code": exc.code, "message": exc.message} and exc.trace_id == exc.body["trace_id"]
    assert [r["status"] for r in logged(emu, "/seedance/videos")] == [400]
    assert (emu.stats()["creates"], emu.stats()["creates_invalid"]) == (0, 1)


def test_service_tier_sent_by_hand_is_ignored_and_refused_when_strict(
    emulator_factory: Callable[..., Emulator], sdk_factory: Callable[..., acedatacloud.AceDataCloud]
) -> None:
    lenient = emulator_factory(strict=False)
    handle = sdk_factory(lenient).seedance.generate(model=PRO, content=text(), service_tier="flex", **short(PRO))
    assert_result_is_the_emulators(lenient, handle, handle.wait(poll_interval=POLL, max_wait=30))
    assert logged(lenient, "/seedance/videos")[0]["body"]["service_tier"] == "flex"
    strict = emulator_factory(strict=True)
    with pytest.raises(acedatacloud.ValidationError, match="unknown field 'service_tier'"):
        sdk_factory(strict).seedance.generate(model=PRO, content=text(), service_tier="flex", **short(PRO))
    assert strict.stats()["creates"] == 0


def test_401_is_an_authentication_error(emulator_factory: Callable[..., Emulator],
                                        sdk_factory: Callable[..., acedatacloud.AceDataCloud]) -> None:  # fmt: skip
    emu = emulator_factory(strict=False, token="the-right-one")
    with pytest.raises(acedatacloud.AuthenticationError) as caught:
        sdk_factory(emu, token="a-wrong-one").seedance.generate(model=PRO, content=text(), **short(PRO))
    assert (caught.value.status_code, caught.value.code) == (401, "invalid_token")
    assert "a-wrong-one" not in str(caught.value.body)
    assert (emu.stats()["unauthorized"], emu.stats()["creates"]) == (1, 0)
    handle = sdk_factory(emu, token="the-right-one").seedance.generate(model=PRO, content=text(), **short(PRO))
    assert handle.id and emu.stats()["creates"] == 1  # the SDK's bearer header is the one checked


def test_404_is_a_plain_api_error(emu: Emulator, sdk: acedatacloud.AceDataCloud) -> None:
    with pytest.raises(acedatacloud.APIError) as caught:
        sdk.tasks.get("9462ca25-468b-45a5-9e75-6f516dedcc80", service="seedance")
    assert type(caught.value) is acedatacloud.APIError  # no subclass for 404 in the SDK (§14)
    assert (caught.value.status_code, caught.value.code) == (404, "not_found")
    assert caught.value.message == "The specified task ID was not found."
    with pytest.raises(acedatacloud.APIError) as wrong_service:  # tasks.get defaults to suno
        sdk.tasks.get("9462ca25-468b-45a5-9e75-6f516dedcc80")
    assert (wrong_service.value.status_code, wrong_service.value.code) == (404, "no_api")
    assert [(r["path"], r["status"]) for r in emu.requests] == [("/seedance/tasks", 404), ("/suno/tasks", 404)]


@pytest.mark.parametrize("options", [{"faults": "create429=1"}, {"rate": (1, 60.0)}], ids=["fault", "rpm"])
def test_429_is_a_rate_limit_error(emulator_factory: Callable[..., Emulator],
                                   sdk_factory: Callable[..., acedatacloud.AceDataCloud], options: dict[str, Any]) -> None:  # fmt: skip
    emu = emulator_factory(strict=False, **options)
    sdk = sdk_factory(emu)
    if "rate" in options:  # the one create a minute the limit allows
        sdk.seedance.generate(model=PRO, content=text(), **short(PRO))
    with pytest.raises(acedatacloud.RateLimitError) as caught:
        sdk.seedance.generate(model=PRO, content=text("again"), **short(PRO))
    assert (caught.value.status_code, caught.value.code) == (429, "too_many_requests")
    assert [r["status"] for r in logged(emu, "/seedance/videos")][-1] == 429
    stats = emu.stats()
    refused = stats["creates_rejected"] + stats["creates_rate_limited"]
    assert (refused, stats["creates"]) == (1, 1 if "rate" in options else 0)


def test_sdk_retries_a_429_create_and_the_second_one_is_created(
    emulator_factory: Callable[..., Emulator], sdk_factory: Callable[..., acedatacloud.AceDataCloud]
) -> None:
    emu = emulator_factory(strict=False, faults="create429=1")
    handle = sdk_factory(emu, retries=1).seedance.generate(model=PRO, content=text(), **short(PRO))
    assert [r["status"] for r in logged(emu, "/seedance/videos")] == [429, 200]  # the SDK retries creates (§4.2)
    assert record(emu, handle.id)["request"]["model"] == PRO and emu.stats()["creates"] == 1

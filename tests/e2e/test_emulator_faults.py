"""Fault injection: the ``--faults`` spec and the faults a running emulator produces."""

from __future__ import annotations

import httpx
import pytest

from storyboard.emulator import Emulator, FaultSpec, parse_faults

from support.emulator_support import AUTH, body, create, post, wait_for


def test_parse_faults_reads_counts_and_fail_texts() -> None:
    spec = parse_faults(" create429=2, poll500=1,dropdl=1 ,fail=shot-text,fail=nsfw,create429=1")
    assert spec == FaultSpec(create429=3, poll500=1, dropdl=1, fail=("shot-text", "nsfw"))
    assert str(spec) == "create429=3,poll500=1,dropdl=1,fail=shot-text,fail=nsfw"
    assert parse_faults("") == FaultSpec()


@pytest.mark.parametrize("spec,message", [
    ("foo=1", 'unknown fault "foo" (known: create429, create500, dropcreate, poll429, poll500, dropdl, fail)'),
    ("create429", 'fault "create429" needs a value, e.g. create429=1'),
    ("poll500=two", 'fault "poll500" needs a whole number, got "two"'),
    ("dropdl=-1", 'fault "dropdl" needs a count >= 0, got -1'),
    ("fail=", 'fault "fail" needs a value, e.g. fail=1'),
])  # fmt: skip
def test_parse_faults_rejects_bad_specs_in_one_line(spec: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_faults(spec)
    assert str(caught.value) == message


def test_emulator_rejects_a_bad_spec_at_construction() -> None:
    with pytest.raises(ValueError, match='unknown fault "nope"'):
        Emulator(faults="nope=1")


def test_create429_n_times_then_success(emulator_factory) -> None:
    emu = emulator_factory(faults="create429=2")
    answers = [post(emu, "/seedance/videos", {**body(frames=29), "async": True}) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].json()["error"] == {"code": "too_many_requests", "message": "You have exceeded the rate limit."}
    stats = emu.stats()
    assert (stats["creates"], stats["creates_rejected"], stats["faults_left"]["create429"]) == (1, 2, 0)


def test_create500_then_success(emulator_factory) -> None:
    emu = emulator_factory(faults="create500=1")
    first = post(emu, "/seedance/videos", {**body(frames=29), "async": True})
    assert first.status_code == 500
    assert first.json()["error"] == {"code": "api_error", "message": "Internal server error."}
    assert post(emu, "/seedance/videos", {**body(frames=29), "async": True}).status_code == 200


def test_dropcreate_closes_without_answer_and_creates_nothing(emulator_factory) -> None:
    emu = emulator_factory(faults="dropcreate=1")
    with pytest.raises(httpx.RemoteProtocolError):
        post(emu, "/seedance/videos", {**body(frames=29), "async": True})
    assert emu.stats()["tasks"] == {}
    assert post(emu, "/seedance/videos", {**body(frames=29), "async": True}).status_code == 200
    assert emu.requests[0]["status"] == 0


def test_poll_faults_hit_retrieve_and_batch(emulator_factory) -> None:
    emu = emulator_factory(faults="poll500=1,poll429=1")
    task_id = create(emu, body(frames=29))
    limited = post(emu, "/seedance/tasks", {"id": task_id, "action": "retrieve"})
    assert limited.status_code == 429
    failed = post(emu, "/seedance/tasks", {"ids": [task_id], "action": "retrieve_batch"})
    assert failed.status_code == 500 and failed.json()["error"]["code"] == "api_error"
    assert wait_for(emu, task_id)["response"]["success"] is True
    assert emu.stats()["polls_rejected"] == 2


def test_dropdl_cuts_the_body_and_a_range_request_resumes(emulator_factory) -> None:
    emu = emulator_factory(faults="dropdl=1")
    url = wait_for(emu, create(emu, body(frames=29)))["response"]["data"]["video_url"]
    size = int(httpx.head(url).headers["content-length"])
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError):
        with httpx.stream("GET", url) as answer:
            assert answer.headers["content-length"] == str(size)
            for chunk in answer.iter_raw():
                received += chunk
    assert 0 < len(received) < size
    rest = httpx.get(url, headers={"Range": f"bytes={len(received)}-"})
    assert rest.status_code == 206
    assert bytes(received) + rest.content == httpx.get(url).content
    assert (emu.stats()["downloads"], emu.stats()["downloads_dropped"]) == (3, 1)


def test_fail_text_ends_matching_tasks_failed(emulator_factory) -> None:
    emu = emulator_factory(faults="fail=forbidden-shot")
    doomed = wait_for(emu, create(emu, body("a forbidden-shot of the vault", frames=29)))
    fine = wait_for(emu, create(emu, body("an open field", frames=29)))
    response = doomed["response"]
    assert response["success"] is False and response["task_id"] == doomed["id"]
    assert response["error"]["code"] == "OutputVideoSensitiveContentDetected"
    assert response["error"]["message"].startswith(
        "The request failed because the output video may contain sensitive information."
    )
    assert fine["response"]["success"] is True
    assert emu.stats()["tasks"] == {"failed": 1, "succeeded": 1}
    sync = post(emu, "/seedance/videos", body("forbidden-shot again", frames=29))
    assert sync.status_code == 400 and sync.json()["error"]["code"] == "OutputVideoSensitiveContentDetected"


def test_faults_can_be_replaced_at_runtime(emulator: Emulator) -> None:
    answer = httpx.post(f"{emulator.url}/_emulator/faults", json={"spec": "poll429=1"})
    assert answer.status_code == 200 and answer.json()["faults_left"]["poll429"] == 1
    assert post(emulator, "/seedance/tasks", {"id": "x"}).status_code == 429
    assert post(emulator, "/seedance/tasks", {"id": "x"}).status_code == 404
    bad = httpx.post(f"{emulator.url}/_emulator/faults", json={"spec": "poll=1"})
    assert bad.status_code == 400 and bad.json()["error"]["message"].startswith('unknown fault "poll"')
    emulator.set_faults(FaultSpec(create500=1))
    assert post(emulator, "/seedance/videos", body(frames=29), headers=AUTH).status_code == 500
    assert emulator.stats()["faults_left"]["create500"] == 0

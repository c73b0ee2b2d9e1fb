"""Parsing of SeeDance task records and result bodies, in both shapes docs/protocol.md shows (§1.5, §6.3)."""

from __future__ import annotations

import pytest

from storyboard.errors import GenerationFailed
from storyboard.seedance.results import TaskResult, parse_record, parse_response

VIDEO = "https://platform.cdn.acedata.cloud/seedance/d1c2e49e.mp4"
FRAME = "https://platform.cdn.acedata.cloud/seedance/d1c2e49e.png"


def record(response: dict | None = None, **extra: object) -> dict:
    rec: dict = {
        "id": "9462ca25-468b-45a5-9e75-6f516dedcc80",
        "created_at": 1766329436.091,
        "trace_id": "rec-trace",
        "type": "videos",
        "request": {"model": "doubao-seedance-1-0-pro-250528"},
        **extra,
    }
    if response is not None:
        rec["response"] = response
    return rec


def flat(data: dict, **top: object) -> dict:
    return {
        "success": True,
        "task_id": "9462ca25-468b-45a5-9e75-6f516dedcc80",
        "trace_id": "resp-trace",
        "data": {"task_id": "cgt-20251221230356-sxgt7", **data},
        **top,
    }


def test_record_without_response_is_pending() -> None:
    result = parse_record(record())
    assert result == TaskResult(task_id="9462ca25-468b-45a5-9e75-6f516dedcc80", status="pending", trace_id="rec-trace")
    assert not result.done


def test_record_with_empty_response_is_pending() -> None:
    assert parse_record(record({})).status == "pending"


@pytest.mark.parametrize("word", ["processing", "pending", "queued", "running", "PROCESSING"])
def test_in_progress_words_are_processing(word: str) -> None:
    result = parse_record(record(flat({"status": word})))
    assert result.status == "processing"
    assert result.video_url is None and result.error is None and not result.done


def test_succeeded_record_carries_urls_and_metadata() -> None:
    body = flat(
        {
            "status": "succeeded",
            "video_url": VIDEO,
            "last_frame_url": FRAME,
            "model": "doubao-seedance-1-0-pro-250528",
            "duration": 5,
            "resolution": "720p",
            "ratio": "16:9",
        }
    )
    result = parse_record(record(body, finished_at=1766329518.051, elapsed=81.9))
    assert result == TaskResult(
        task_id="9462ca25-468b-45a5-9e75-6f516dedcc80",
        status="succeeded",
        video_url=VIDEO,
        last_frame_url=FRAME,
        model="doubao-seedance-1-0-pro-250528",
        duration=5.0,
        resolution="720p",
        ratio="16:9",
        elapsed=81.9,
        trace_id="resp-trace",
    )
    assert result.done
    assert result.raw["finished_at"] == 1766329518.051


def test_last_frame_null_when_not_requested() -> None:
    body = flat({"status": "succeeded", "video_url": VIDEO, "last_frame_url": None})
    result = parse_response(body)
    assert result.status == "succeeded"
    assert result.last_frame_url is None


@pytest.mark.parametrize("word", ["succeeded", "success", "completed", "finished"])
def test_done_word_without_video_url_is_a_failure(word: str) -> None:
    result = parse_response(flat({"status": word, "video_url": ""}))
    assert result.status == "failed"
    assert result.video_url is None
    assert isinstance(result.error, GenerationFailed)
    assert str(result.error) == (
        f"no_video_url: the task reported '{word}' but returned no video URL (trace id resp-trace)"
    )


def test_success_false_carries_the_services_code_and_message() -> None:
    body = {
        "success": False,
        "task_id": "t-1",
        "error": {"code": "api_error", "message": "fetch failed"},
        "trace_id": "2cf86e86",
    }
    result = parse_record(record(body, finished_at=1.0))
    assert result.status == "failed"
    assert result.error is not None
    failure = result.error
    assert (failure.status, failure.code, failure.message, failure.trace_id) == (
        0,
        "api_error",
        "fetch failed",
        "2cf86e86",
    )
    assert str(result.error) == "api_error: fetch failed (trace id 2cf86e86)"


def test_success_false_with_bare_string_error() -> None:
    result = parse_response({"success": False, "error": "timeout when generating video"})
    assert result.status == "failed"
    assert str(result.error) == "timeout when generating video"


def test_success_false_without_error_still_fails() -> None:
    result = parse_response({"success": False, "task_id": "t-2"})
    assert (result.status, result.task_id, str(result.error)) == (
        "failed",
        "t-2",
        "the service reported a failure",
    )


def test_multiline_service_message_becomes_one_short_line() -> None:
    message = "upstream said:\n" + "x" * 5000
    result = parse_response({"success": False, "error": {"code": "api_error", "message": message}})
    assert result.error is not None
    assert "\n" not in str(result.error)
    assert len(result.error.message) == 300
    assert result.error.message.startswith("upstream said: xxx")


@pytest.mark.parametrize("word", ["failed", "expired", "cancelled"])
def test_ark_failure_statuses_without_error_object(word: str) -> None:
    result = parse_response({"data": [{"id": "cgt-1", "status": word, "error": None}]})
    assert result.status == "failed"
    assert str(result.error) == f"{word}: the task ended with status '{word}'"


def test_ark_failed_task_keeps_its_error() -> None:
    body = {
        "id": "cgt-20260514101521-nk5ct",
        "model": "dreamina-seedance-2-0-260128",
        "status": "failed",
        "error": {
            "code": "OutputAudioSensitiveContentDetected",
            "message": "The request failed because the output audio may contain sensitive information.",
        },
    }
    result = parse_response(body)
    assert result.task_id == "cgt-20260514101521-nk5ct"
    assert result.error is not None
    assert result.error.code == "OutputAudioSensitiveContentDetected"
    assert result.error.message.startswith("The request failed because the output audio")


def test_ark_list_shape_with_content_urls_and_usage() -> None:
    body = {
        "data": [
            {
                "id": "cgt-2025",
                "seed": 10,
                "model": "doubao-seedance-1-0-pro-250528",
                "ratio": "16:9",
                "usage": {"total_tokens": 108900, "completion_tokens": 108900},
                "status": "succeeded",
                "content": {"video_url": VIDEO, "last_frame_url": FRAME},
                "duration": 5,
                "resolution": "720p",
            }
        ],
        "success": True,
        "task_id": "93f11baf",
        "trace_id": "a9063166",
    }
    result = parse_response(body)
    assert (result.task_id, result.status, result.video_url, result.last_frame_url) == (
        "93f11baf",
        "succeeded",
        VIDEO,
        FRAME,
    )
    assert (result.tokens, result.ratio, result.duration) == (108900, "16:9", 5.0)


def test_ark_running_and_queued_object_shape() -> None:
    for word in ("queued", "running"):
        assert parse_response({"data": {"status": word, "content": {}}}).status == "processing"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"task_id": "top", "data": {"task_id": "inner"}, "id": "last"}, "top"),
        ({"data": {"task_id": "inner"}, "id": "last"}, "inner"),
        ({"id": "last"}, "last"),
        ({"data": [{"task_id": "inner-list"}]}, "inner-list"),
        ({}, ""),
    ],
)
def test_task_id_lookup_order(body: dict, expected: str) -> None:
    assert parse_response(body).task_id == expected


def test_async_create_answer_is_processing() -> None:
    result = parse_response({"task_id": "f7096c6c-9430-4392-8201-d259632d7afd"})
    assert (result.task_id, result.status) == ("f7096c6c-9430-4392-8201-d259632d7afd", "processing")


def test_video_url_without_status_counts_as_succeeded() -> None:
    assert parse_response({"task_id": "a", "data": {"video_url": VIDEO}}).status == "succeeded"


def test_unknown_status_word_keeps_polling() -> None:
    assert parse_response(flat({"status": "moderating"})).status == "processing"


def test_record_id_wins_over_response_ids() -> None:
    body = {"success": True, "data": {"task_id": "cgt-x", "status": "running"}}
    assert parse_record(record(body)).task_id == "9462ca25-468b-45a5-9e75-6f516dedcc80"


def test_raw_is_kept_but_not_shown_or_compared() -> None:
    a = parse_response({"task_id": "a", "data": {"status": "running"}, "extra": "x" * 1000})
    b = parse_response({"task_id": "a", "data": {"status": "running"}})
    assert a == b
    assert "x" * 100 not in repr(a)
    assert a.raw["extra"] == "x" * 1000


def test_seed_the_service_reports_is_read_from_both_shapes() -> None:
    done = {"status": "succeeded", "video_url": VIDEO, "seed": 4001}
    assert parse_record(record(flat(done))).seed == 4001  # AceData's flat data (§1.5)
    assert parse_response({"data": [{"id": "cgt-1", **done}]}).seed == 4001  # data as a list
    ark = {"id": "cgt-1", "status": "succeeded", "seed": 7, "content": {"video_url": VIDEO}}
    assert parse_response(ark).seed == 7  # a bare Ark task object (§6.3)
    assert parse_response(flat({"status": "succeeded", "video_url": VIDEO})).seed is None
    assert parse_response(flat({**done, "seed": "7"})).seed is None  # not an integer: not a seed


# -- `success: false` while a task runs (§2, §14) ----------------------------------------


def test_running_record_with_null_response_and_finished_at_is_pending() -> None:
    running = {**record(), "started_at": 1766329437.0, "finished_at": None, "response": None}  # the emulator's shape
    result = parse_record(running)
    assert (result.status, result.error, result.video_url) == ("pending", None, None)


def test_bare_string_error_without_finished_at_is_a_hiccup_not_a_failure() -> None:
    # AceData's SDK keeps waiting on this (some services send it for a transient hiccup); so do we.
    body = {"success": False, "task_id": "t-1", "trace_id": "tr", "error": "temporary: upstream busy"}
    for rec in (record(body), record(body, finished_at=None)):
        result = parse_record(rec)
        assert (result.status, result.error, result.done) == ("processing", None, False)
        assert result.message == "temporary: upstream busy"  # the service's words are kept
        assert result.raw["response"]["error"] == "temporary: upstream busy"


def test_unstructured_failure_without_finished_at_keeps_polling() -> None:
    for body in ({"success": False}, {"success": False, "error": {"message": "hold on"}}):
        result = parse_record(record(body))
        assert (result.status, result.error) == ("processing", None)
    assert parse_record(record({"success": False, "error": {"message": "hold on"}})).message == "hold on"


def test_bare_string_error_once_finished_is_a_failure() -> None:
    body = {"success": False, "task_id": "t-1", "trace_id": "tr", "error": "timeout when generating video"}
    result = parse_record(record(body, finished_at=1766329518.0))
    assert result.status == "failed" and result.message is None
    assert str(result.error) == "timeout when generating video (trace id tr)"


def test_structured_error_without_finished_at_is_final() -> None:
    body = {"success": False, "trace_id": "tr", "error": {"code": "api_error", "message": "fetch failed"}}
    result = parse_record(record(body))
    assert result.status == "failed" and result.error is not None and result.error.code == "api_error"


def test_bare_string_error_with_a_failure_word_or_a_video_is_final() -> None:
    failed = {"success": False, "error": "boom", "data": {"status": "failed"}}
    assert parse_record(record(failed)).status == "failed"
    with_video = {"success": False, "error": "boom", "data": {"video_url": VIDEO}}
    assert parse_record(record(with_video)).status == "failed"

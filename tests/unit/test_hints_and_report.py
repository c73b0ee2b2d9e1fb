"""What a failed shot tells the user (a hint chosen by error type and service code, never by
message text, and one video's failure summary), how the service's documented "fetch failed"
becomes its own error, and the per-video report written and its assembly record read back."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

import pytest

from storyboard.engine import report
from storyboard.engine.hints import failure_summary, hint
from storyboard.engine.plan import Plan, make_plan
from storyboard.engine.scheduler import ShotOutcome
from storyboard.engine.settle import UNCERTAIN_CREATE
from storyboard.errors import (
    APIConnectionError,
    APIError,
    BadRequestError,
    DownloadError,
    GenerationFailed,
    ImageFetchFailed,
    RequestTooLargeError,
    ServerError,
)
from storyboard.seedance.results import parse_record, parse_response
from storyboard.spec.load import load_text
from storyboard.store.cache import Cache, CachedClip, ClipOrigin

I2V = "doubao-seedance-1-0-pro-250528"
IMAGE_URL = "the service could not download an image url: make sure every url: is public, or use path:"
MODERATION = "rephrase the prompt or replace the images, then render again"
EXPIRY = "the service gave up on the task; render again (raise execution_expires_after if it keeps happening)"
OTHER_FAILURE = "render again; if it fails the same way, change the shot"
BAD_REQUEST = "fix the shot's settings as the message says"
RETRY = "render again to retry (finished shots are cached)"


def plan_of(tmp_path: Path, shots: str) -> Plan:
    text = f"version: 1\nname: t\ndefaults: {{model: {I2V}, resolution: 480p, duration: 3}}\nshots:\n"
    loaded = load_text(text + textwrap.indent(textwrap.dedent(shots), "  "), label="t.yaml", base_dir=tmp_path)
    return make_plan(loaded, service="fake")


def maybe_submitted(error: APIError) -> APIError:
    error.maybe_submitted = True
    return error


# -- hint -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ImageFetchFailed("fetch failed", code="api_error"), IMAGE_URL),
        (ImageFetchFailed("fetch failed", code="OutputVideoSensitiveContentDetected"), IMAGE_URL),  # type first
        (GenerationFailed("refused", code="OutputVideoSensitiveContentDetected"), MODERATION),
        (GenerationFailed("refused", code="InputImageSensitiveContentDetected"), MODERATION),
        (GenerationFailed("refused", code="content_moderation"), MODERATION),
        (GenerationFailed("gave up", code="expired"), EXPIRY),
        (GenerationFailed("gave up", code="TaskExpired"), EXPIRY),
        (GenerationFailed("gave up", code="timeout"), EXPIRY),
        (GenerationFailed("internal error", code="InternalServiceError"), OTHER_FAILURE),
        (GenerationFailed("the output was sensitive and timed out", code=""), OTHER_FAILURE),  # never the text
        (BadRequestError("duration must be 5 or 10", status=400, code="bad_request"), BAD_REQUEST),
        (RequestTooLargeError("body too large", status=413, code="request_too_large"), BAD_REQUEST),
        (
            maybe_submitted(APIConnectionError("connection lost (ReadError)")),
            "check the AceData console, then rerun with --force hero if no task is running for it",
        ),
        (
            maybe_submitted(APIError(UNCERTAIN_CREATE)),
            "check the AceData console, then rerun with --force hero if no task is running for it",
        ),
        (APIConnectionError("connection refused"), RETRY),
        (ServerError("upstream failed", status=502, code="api_error"), RETRY),
        (DownloadError("download failed after 3 attempts"), RETRY),
        (OSError(28, "No space left on device"), RETRY),
        (None, RETRY),
    ],
)
def test_the_hint_follows_the_error_type_and_code(error: Exception | None, expected: str) -> None:
    assert hint(error, "hero") == expected


def test_the_documented_fetch_failed_task_failure_is_an_image_fetch_failure() -> None:
    record = {
        "id": "9462ca25",
        "trace_id": "rec-trace",
        "response": {
            "success": False,
            "task_id": "9462ca25",
            "error": {"code": "api_error", "message": "fetch failed"},
            "trace_id": "2cf86e86",
        },
    }
    result = parse_record(record)
    assert (result.task_id, result.status) == ("9462ca25", "failed")
    assert type(result.error) is ImageFetchFailed
    assert (result.error.code, result.error.message, result.error.trace_id) == ("api_error", "fetch failed", "2cf86e86")
    assert hint(result.error, "hero") == IMAGE_URL


def test_a_failed_status_with_fetch_failed_is_an_image_fetch_failure_too() -> None:
    body = {"data": {"task_id": "t1", "status": "failed", "error": {"code": "api_error", "message": "Fetch Failed"}}}
    result = parse_response(body)
    assert type(result.error) is ImageFetchFailed
    assert str(result.error) == "api_error: Fetch Failed"


def test_other_task_failures_stay_generation_failures_with_their_hint() -> None:
    error = {"code": "OutputVideoSensitiveContentDetected", "message": "the output was refused"}
    refused = parse_response({"data": {"task_id": "t1", "status": "failed", "error": error}})
    expired = parse_response({"data": {"task_id": "t2", "status": "expired"}})
    assert type(refused.error) is GenerationFailed and type(expired.error) is GenerationFailed
    assert (hint(refused.error, "a"), hint(expired.error, "a")) == (MODERATION, EXPIRY)
    assert str(expired.error) == "expired: the task ended with status 'expired'"


# -- failure_summary ------------------------------------------------------------------------------

SHOTS = """\
- {id: a, prompt: shot a}
- {id: b, prompt: shot b, chain: true}
- {id: c, prompt: shot c, chain: true}
- {id: d, prompt: shot d}
- {id: e, prompt: shot e, images: [{from: a, role: first_frame}, {from: d, role: last_frame}]}
- {id: f, prompt: shot f}
- {id: g, prompt: shot g, images: [{from: a, role: first_frame}, {from: f, role: last_frame}]}
"""


def outcomes(plan: Plan, states: dict[str, str], errors: dict[str, Exception]) -> dict[str, ShotOutcome]:
    return {job.id: ShotOutcome(job, state=states[job.id], error=errors.get(job.id)) for job in plan.jobs}  # type: ignore[arg-type]


def test_the_failure_summary_names_each_failed_and_blocked_shot_with_what_to_do(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, SHOTS)
    states = {
        "a": "failed",
        "b": "blocked",
        "c": "blocked",
        "d": "cached",
        "e": "blocked",
        "f": "failed",
        "g": "blocked",
    }
    errors: dict[str, Exception] = {
        "a": GenerationFailed("the output was refused", code="OutputVideoSensitiveContentDetected", trace_id="tr1"),
        "f": maybe_submitted(APIError(UNCERTAIN_CREATE)),
    }
    assert failure_summary(plan, outcomes(plan, states, errors)) == "\n".join(
        [
            'shot "a" failed: OutputVideoSensitiveContentDetected: the output was refused (trace id tr1) — '
            "rephrase the prompt or replace the images, then render again",
            'shot "b" not generated: it needs "a", which did not finish',
            'shot "c" not generated: it needs "b", which did not finish',
            'shot "e" not generated: it needs "a", which did not finish',  # d is cached: not named
            'shot "f" failed: an earlier create request for this shot was sent but got no answer, so the service '
            "may be generating it already — check the AceData console, then rerun with --force f if no task is "
            "running for it",
            'shot "g" not generated: it needs "a, f", which did not finish',
            "1 of 7 shots are generated and cached; nothing paid for is lost",
        ]
    )


def test_the_failure_summary_counts_cached_and_done_shots_as_kept(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, "- {id: a, prompt: shot a}\n- {id: b, prompt: shot b}\n- {id: c, prompt: shot c}\n")
    error = ImageFetchFailed("fetch failed", code="api_error")
    summary = failure_summary(plan, outcomes(plan, {"a": "done", "b": "failed", "c": "cached"}, {"b": error}))
    assert summary == (
        f'shot "b" failed: api_error: fetch failed — {IMAGE_URL}\n'
        "2 of 3 shots are generated and cached; nothing paid for is lost"
    )


# -- the report -----------------------------------------------------------------------------------


def cached(cache: Cache, key: str, tokens: int | None) -> CachedClip:
    clip = cache.staging_dir() / f"{key}.mp4"
    clip.write_bytes(f"clip {key}".encode())
    origin = ClipOrigin(shot="x", task_id="t", model=I2V, tokens=tokens, service="fake", request_digest={}, created=1.0)
    return cache.put(key, clip, None, origin)


def sample_report(tmp_path: Path) -> tuple[Plan, report.VideoReport]:
    plan = plan_of(tmp_path, "- {id: a, prompt: shot a}\n- {id: b, prompt: shot b}\n- {id: c, prompt: shot c}\n")
    cache = Cache(tmp_path / "cache")
    a, b, c = plan.jobs
    outs = {
        "a": ShotOutcome(a, "done", "t1", cached(cache, a.cache_key, 1000), source="generated"),
        "b": ShotOutcome(b, "done", "t2", cached(cache, b.cache_key, None), source="generated"),
        "c": ShotOutcome(c, "cached", "t0", cached(cache, c.cache_key, 900), source="cache"),
    }
    outs["a"].submitted_at, outs["a"].finished_at = 10.0, 52.25
    outs["b"].submitted_at, outs["b"].finished_at = 10.0, 40.0
    owned = {"a", "c"}  # b was generated this run for an earlier variant: shared here
    shots = tuple(report.shot_report(job, outs[job.id], owned=job.id in owned) for job in plan.jobs)
    video = report.VideoReport(
        storyboard=str(tmp_path / "t.yaml"),
        output=str(tmp_path / "out" / "t.mp4"),
        service="fake",
        shots=shots,
        totals=report.totals(plan, shots, polls=7),
        assembly=report.AssemblyRecord(key="k" * 64, output_sha256="0" * 64, details={"method": "concat", "clips": 3}),
        timings=report.Timings(generation_seconds=42.25, assembly_seconds=1.5),
    )
    return plan, video


def test_shot_reports_and_totals(tmp_path: Path) -> None:
    plan, video = sample_report(tmp_path)
    a, b, c = video.shots
    assert [(s.id, s.task_id, s.source, s.paid, s.tokens, s.generation_seconds) for s in video.shots] == [
        ("a", "t1", "generated", True, 1000, 42.25),
        ("b", "t2", "shared", False, None, 30.0),
        ("c", "t0", "cache", False, 900, None),
    ]
    assert (a.width, a.height, a.frames, a.seconds, a.estimated_tokens) == (864, 480, 73, 3.0, 29565)
    assert video.totals == report.Totals(
        shots=3,
        takes=3,
        generated=1,
        cached=2,
        tokens_generated=1000,
        estimated_cost_generated=plan.jobs[0].estimated_cost,
        currency="CNY",
        poll_requests=7,
    )
    assert plan.jobs[0].estimated_cost == 0.4435


def test_totals_fall_back_on_the_estimate_when_the_service_gave_no_tokens(tmp_path: Path) -> None:
    plan, video = sample_report(tmp_path)
    shots = tuple(
        s if s.id != "b" else dataclasses.replace(s, takes=(dataclasses.replace(s.takes[0], source="generated"),))
        for s in video.shots
    )
    assert report.totals(plan, shots, polls=0).tokens_generated == 1000 + 29565


def test_the_report_is_written_and_its_assembly_record_read_back(tmp_path: Path) -> None:
    _plan, video = sample_report(tmp_path)
    path = report.report_path(tmp_path / "out" / "t.mp4")
    assert path == tmp_path / "out" / "t.report.json"
    video.write(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data.keys() == {"storyboard", "output", "service", "shots", "totals", "assembly", "timings"}
    assert data["assembly"] == {"method": "concat", "clips": 3, "output_sha256": "0" * 64, "key": "k" * 64}
    assert data["timings"] == {"generation_seconds": 42.25, "assembly_seconds": 1.5}
    assert [s["source"] for s in data["shots"]] == ["generated", "shared", "cache"]
    assert data["totals"]["poll_requests"] == 7
    assert report.read_assembly(path) == video.assembly
    assert list(path.parent.iterdir()) == [path]  # written atomically: no temporary left behind


def test_a_skipped_assembly_reads_back_as_the_record_it_skipped_on(tmp_path: Path) -> None:
    _plan, video = sample_report(tmp_path)
    skipped = report.skipped(video.assembly)
    assert skipped.skipped == "output is up to date (same clips and settings)"
    path = tmp_path / "t.report.json"
    dataclasses.replace(video, assembly=skipped).write(path)
    assert json.loads(path.read_text())["assembly"]["skipped"] == "output is up to date (same clips and settings)"
    assert report.read_assembly(path) == video.assembly


@pytest.mark.parametrize(
    "content",
    [
        None,
        "",
        "{",
        "[]",
        '{"shots": []}',
        '{"assembly": "concat"}',
        '{"assembly": ["k", "0"]}',
        '{"assembly": {"method": "concat"}}',
        '{"assembly": {"key": "k", "method": "concat"}}',
        '{"assembly": {"key": 7, "output_sha256": "0"}}',
        '{"assembly": {"key": "k", "output_sha256": null}}',
    ],
    ids=[
        "missing",
        "empty",
        "truncated",
        "list",
        "no-assembly",
        "assembly-text",
        "assembly-list",
        "no-key",
        "no-digest",
        "key-not-text",
        "digest-null",
    ],
)
def test_an_absent_unreadable_or_old_report_has_no_assembly_record(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "t.report.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert report.read_assembly(path) is None

"""Money and deadlines against a hostile world (issue 12): an unreadable create answer, a journal
that cannot be written or read, a task that never ends, an unknown status word, a render bound
by ``timeout``. Creates are counted on the fake service (or the mock transport)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from test_scheduler import T2V, Run, plan_of

from storyboard.engine.hints import hint
from storyboard.errors import APIError, RenderInterrupted
from storyboard.seedance.client import SeedanceClient
from storyboard.seedance.config import ServiceConfig
from storyboard.seedance.results import TaskResult, parse_record
from storyboard.store.journal import Journal

from support.fake_service import FakeClock, FakeService

BODY = {"model": T2V, "content": [{"type": "text", "text": "x"}]}


@pytest.mark.parametrize(
    "answer",
    ['{"success": true, "task_id": "t1"', "<html><body>502 gateway says hi</body></html>", "[1, 2]"],
)
def test_an_unreadable_create_answer_is_uncertain_not_a_plain_failure(answer: str) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, text=answer, headers={"content-type": "application/json"})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = SeedanceClient(ServiceConfig(token="tok", base_url="https://api.test"), http=http, sleep=lambda _s: None)
    with pytest.raises(APIError) as caught:
        client.create(BODY)  # type: ignore[arg-type]
    assert caught.value.maybe_submitted
    assert "may have been submitted" in str(caught.value)
    assert len(sent) == 1  # one create, never retried
    assert "--force a" in hint(caught.value, "a") and "render again" not in hint(caught.value, "a")


class FullDisk(Journal):
    """A journal whose next write of a task id fails as a full disk does."""

    def record(self, key: str, shot: str, task_id: str | None, *, uncertain: bool = False):  # type: ignore[no-untyped-def]
        if task_id is not None:
            raise OSError(28, "No space left on device")
        return super().record(key, shot, task_id, uncertain=uncertain)


def test_a_journal_write_that_fails_after_a_create_leaves_the_shot_uncertain_and_names_the_task(
    tmp_path: Path,
) -> None:
    plan = plan_of(tmp_path, "- {id: a, prompt: shot a}\n- {id: b, prompt: shot b}\n", model=T2V)
    run = Run(tmp_path, plan)
    run.scheduler.journal = FullDisk(tmp_path / "cache" / "journal")
    outcomes = run.run()
    assert run.states()["a"] == "failed"
    error = outcomes["a"].error
    assert isinstance(error, APIError) and error.maybe_submitted
    assert "t1" in str(error) and "No space left on device" in str(error)
    entry = Journal(tmp_path / "cache" / "journal").get(plan.jobs[0].cache_key)
    assert entry is not None and entry.state == "uncertain"  # the entry written before sending stays
    again = Run(tmp_path, plan, service=run.service)
    again.run()
    assert len(run.service.creates) == 2  # a and b once each: a is refused, never paid again
    assert again.states()["a"] == "failed"


@pytest.mark.parametrize("garbage", [b'{"key": "k", "shot": "a", "sta', b"\x00\x00\x00", b"[]", b""])
def test_an_unreadable_journal_entry_is_uncertain_never_absent(tmp_path: Path, garbage: bytes) -> None:
    plan = plan_of(tmp_path, "- {id: a, prompt: shot a}\n", model=T2V)
    journal = Journal(tmp_path / "cache" / "journal")
    (journal.root / f"{plan.jobs[0].cache_key}.json").write_bytes(garbage)
    entry = journal.lookup(plan.jobs[0].cache_key)
    assert entry is not None and entry.state == "uncertain" and entry.task_id is None and entry.unreadable
    run = Run(tmp_path, plan)
    run.run()
    assert run.service.creates == []  # not silently submitted again
    assert run.states() == {"a": "failed"}
    assert "journal entry" in str(run.scheduler.outcomes["a"].error)
    forced = Run(tmp_path, plan, service=run.service, force={"a"})
    forced.run()
    assert forced.states() == {"a": "done"} and len(run.service.creates) == 1


def test_a_task_stuck_in_processing_fails_after_its_deadline_and_stays_journaled(tmp_path: Path) -> None:
    shots = "- {id: a, prompt: shot a, execution_expires_after: 3600}\n- {id: b, prompt: shot b}\n"
    plan = plan_of(tmp_path, shots, model=T2V)
    service = FakeService(FakeClock(), latency=lambda body: 400_000.0 if "shot a" in json.dumps(body) else 30.0)
    run = Run(tmp_path, plan, service=service)
    outcomes = run.run()  # returns: never polls for ever
    assert run.states() == {"a": "failed", "b": "done"}
    error = str(outcomes["a"].error)
    assert "t1" in error and "3600" in error and "journaled" in error
    waited = max(t for t, ids in service.polls if "t1" in ids) - service.creates[0][0]
    assert 3600 <= waited <= 3600 + 900
    entry = run.journal.get(plan.jobs[0].cache_key)
    assert entry is not None and entry.task_id == "t1"  # maybe paid for: a later render picks it up
    assert len(service.creates) == 2


def test_the_default_deadline_is_the_documented_one(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, "- {id: a, prompt: shot a}\n", model=T2V)
    service = FakeService(FakeClock(), latency=400_000.0)
    run = Run(tmp_path, plan, service=service)
    run.run()
    assert run.states() == {"a": "failed"} and "172800" in str(run.scheduler.outcomes["a"].error)


def test_an_unknown_status_word_is_processing_and_shown_once_with_its_raw_value(tmp_path: Path) -> None:
    record = {"id": "t1", "response": {"success": True, "task_id": "t1", "data": {"status": "awaiting_moderation_v9"}}}
    result = parse_record(record)
    assert result.status == "processing" and result.raw_status == "awaiting_moderation_v9"
    assert parse_record({**record, "response": {"data": {"status": "running"}}}).raw_status == ""

    plan = plan_of(tmp_path, "- {id: a, prompt: shot a}\n", model=T2V)
    service = FakeService(FakeClock(), latency=100.0)
    service.status_word = "awaiting_moderation_v9"
    run = Run(tmp_path, plan, service=service)
    run.run()
    shown = [e.detail for e in run.events if "awaiting_moderation_v9" in e.detail]
    assert shown == ["the service reports a status never seen before: 'awaiting_moderation_v9' (still waiting)"]
    assert run.states() == {"a": "done"}


def test_a_render_timeout_stops_like_ctrl_c_and_names_the_tasks_still_running(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, "- {id: a, prompt: shot a}\n- {id: b, prompt: shot b}\n", model=T2V)
    service = FakeService(FakeClock(), latency=lambda body: 500.0 if "shot a" in json.dumps(body) else 20.0)
    run = Run(tmp_path, plan, service=service, timeout=120.0)
    with pytest.raises(RenderInterrupted) as caught:
        run.run()
    assert caught.value.running == {"a": "t1"}
    assert str(caught.value).startswith("timed out after 120 s; still running on the service: a (t1)")
    assert service.clock.now - 1000.0 <= 120.0 + 1e-6
    assert run.journal.get(plan.jobs[0].cache_key) is not None
    assert run.states()["b"] == "done"
    again = Run(tmp_path, plan, service=service)
    again.run()
    assert len(service.creates) == 2 and again.states() == {"a": "done", "b": "cached"}


def test_task_results_carry_no_raw_status_for_known_words() -> None:
    assert TaskResult(task_id="t", status="processing").raw_status == ""

"""Two renders on one cache directory: a shot the other render is making is waited for and taken
from the cache, a dead render's journaled task is adopted, each request is created once — counted
on the fake service, which both renders talk to."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import pytest
from test_scheduler import CHAIN, Run, plan_of

from storyboard.engine.claims import CLAIM_RETRY, OTHER_RENDER
from storyboard.engine.scheduler import Event
from storyboard.errors import DownloadError, RenderInterrupted
from storyboard.seedance.wire import CreateBody
from storyboard.store.locks import Locks

from support.fake_service import FakeClock, FakeService
from support.lock_holder import Holder


class TickingClock(FakeClock):
    """Virtual time shared by two renders on two threads; a sleep also yields a little real time,
    so that a render waiting for the other does not starve it."""

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        time.sleep(0.0005)


class SharedService(FakeService):
    """The fake service, answering creates from two renders' threads."""

    def create(self, body: CreateBody) -> str:
        with self._lock:
            return super().create(body)


def keys_held(cache: Path) -> list[str]:
    """The cache keys this process holds claims on (its writers' staging locks aside)."""
    return [name for name in Locks.shared(cache / "locks").held() if not name.startswith("staging-")]


def digests(run: Run) -> dict[str, str]:
    return {
        shot: hashlib.sha256(o.entry.clip.read_bytes()).hexdigest()
        for shot, o in run.scheduler.outcomes.items()
        if o.entry is not None
    }


@pytest.mark.parametrize("force", [None, True], ids=["plain", "both-forced"])
def test_a_shot_another_render_is_making_is_waited_for_then_taken_from_the_cache(
    tmp_path: Path, force: bool | None
) -> None:
    plan = plan_of(tmp_path, CHAIN + "- {id: d, prompt: shot d}\n")
    service = SharedService(TickingClock(), latency=30.0)
    first = Run(tmp_path, plan, service=service, force=force)
    second = Run(tmp_path, plan, service=service, force=force)
    submitted: set[str] = set()
    both_started = threading.Event()

    def first_event(event: Event) -> None:
        first.events.append(event)
        if event.state == "submitted":
            submitted.add(event.shot)
            if submitted >= {"a", "d"}:
                both_started.set()

    first.scheduler.on_event = first_event
    failure: list[BaseException] = []

    def run_first() -> None:
        try:
            first.run()
        except BaseException as exc:  # re-raised on the test's thread
            failure.append(exc)
            both_started.set()

    thread = threading.Thread(target=run_first)
    thread.start()
    assert both_started.wait(30)
    second.run()
    thread.join(60)
    assert not failure and not thread.is_alive()
    assert sorted(service.prompts()) == ["shot a", "shot b", "shot c", "shot d"]  # each created once
    assert set(first.states().values()) | set(second.states().values()) <= {"done", "cached"}
    waited = [e for e in second.events if e.detail == OTHER_RENDER]
    assert {e.shot for e in waited} >= {"a", "d"} and all(e.state == "queued" for e in waited)
    assert second.states()["a"] == second.states()["d"] == "cached"
    assert digests(first) == digests(second) and len(digests(first)) == 4
    assert keys_held(tmp_path / "cache") == []


def test_a_dead_renders_journaled_task_is_adopted_not_created_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_of(tmp_path, "- {id: a, prompt: shot a}\n- {id: b, prompt: shot b}\n")
    service = FakeService(FakeClock(), latency=30.0)
    run = Run(tmp_path, plan, service=service)
    key = plan.jobs[0].cache_key
    # the other render: it created "a", journaled the task and holds the key — then it is killed
    task = service.create(plan.jobs[0].request)
    run.journal.record(key, "a", task)
    holder = Holder(str(tmp_path / "cache" / "locks"), key)
    assert holder.held
    tries: list[float] = []
    try_claim = Locks.try_claim

    def counted(self: Locks, name: str) -> object:
        if name == key:
            tries.append(run.clock.monotonic())
        return try_claim(self, name)

    monkeypatch.setattr(Locks, "try_claim", counted)

    def on_event(event: Event) -> None:
        run.events.append(event)
        if event.shot == "b" and event.state == "done":
            holder.kill()  # SIGKILL while "a" waits for it: the kernel drops its lock

    run.scheduler.on_event = on_event
    try:
        outcomes = run.run()
    finally:
        holder.close()
    assert len(service.creates) == 2  # "a" once (by the dead render), "b" once
    assert (outcomes["a"].source, outcomes["a"].task_id, outcomes["a"].state) == ("resumed", task, "done")
    a_states = [(e.state, e.detail) for e in run.events if e.shot == "a"]
    assert a_states[0] == ("queued", OTHER_RENDER)
    assert [s for s, _ in a_states[1:]] == ["resumed", "downloading", "done"]  # finished meanwhile
    assert run.first("done")["b"] < run.first("resumed")["a"]  # the wait held up no other shot
    waited = run.first("resumed")["a"] - run.first("queued")["a"]
    assert len(tries) <= waited / CLAIM_RETRY + 3  # tried every CLAIM_RETRY, not on every tick
    assert run.journal.get(key) is None
    claim = Locks(tmp_path / "cache" / "locks").try_claim(key)  # nothing left held
    assert claim is not None


def test_claims_are_released_when_a_download_fails_and_when_the_render_is_interrupted(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, "- {id: a, prompt: shot a}\n- {id: b, prompt: shot b}\n")
    service = FakeService(FakeClock(), latency=30.0)
    service.download_errors.append(DownloadError("cut off"))
    failed = Run(tmp_path, plan, service=service)
    failed.run()
    assert sorted(failed.states().values()) == ["done", "failed"]
    assert keys_held(tmp_path / "cache") == []  # the failed one's task stays journaled, for whoever claims it next

    service = FakeService(FakeClock(), latency=100.0)
    service.clock.interrupt_at = service.clock.now + 10.0
    interrupted = Run(tmp_path / "other", plan, service=service)
    with pytest.raises(RenderInterrupted):
        interrupted.run()
    assert keys_held(tmp_path / "other" / "cache") == []

"""The scheduler against the in-memory fake service, in virtual time: chains, fan-out, limits,
polling, failures, crashes and resumes — each counted on the fake, not trusted."""

from __future__ import annotations

import base64
import itertools
import textwrap
from pathlib import Path

import pytest

from storyboard.engine.lastframe import LastFrames
from storyboard.engine.plan import Plan, make_plan
from storyboard.engine.scheduler import Event, PollPolicy, Scheduler, ShotOutcome
from storyboard.errors import APIError, BadRequestError, DownloadError, GenerationFailed, RenderInterrupted
from storyboard.seedance.wire import CreateBody
from storyboard.spec.load import load_text
from storyboard.store.cache import Cache
from storyboard.store.journal import Journal

from support.fake_service import PNG, FakeClock, FakeService, no_verify, prompt_of

T2V = "doubao-seedance-1-0-lite-t2v-250428"
I2V = "doubao-seedance-1-0-pro-250528"


def plan_of(tmp_path: Path, shots: str, *, model: str = I2V) -> Plan:
    text = f"version: 1\nname: t\ndefaults: {{model: {model}, resolution: 480p, duration: 3}}\nshots:\n"
    loaded = load_text(text + textwrap.indent(textwrap.dedent(shots), "  "), label="t.yaml", base_dir=tmp_path)
    return make_plan(loaded, service="fake")


class Run:
    """A scheduler over `plan` with a fake service, cache and journal under `tmp_path`."""

    def __init__(self, tmp_path: Path, plan: Plan, service: FakeService | None = None, **options: object) -> None:
        self.clock = service.clock if service else FakeClock()
        self.service = service or FakeService(self.clock)
        self.cache = Cache(tmp_path / "cache")
        self.journal = Journal(tmp_path / "cache" / "journal")
        self.events: list[Event] = []
        self.extracted: list[Path] = []
        options.setdefault("max_in_flight", 10)
        options.setdefault("verify", no_verify)
        self.scheduler = Scheduler(
            plan,
            service=self.service,
            cache=self.cache,
            journal=self.journal,
            clock=self.clock,
            on_event=self.events.append,
            last_frames=LastFrames(self.cache, extract=self._extract),
            **options,  # type: ignore[arg-type]
        )

    def _extract(self, clip: Path, dest: Path) -> Path:
        self.extracted.append(clip)
        dest.write_bytes(PNG)
        return dest

    def run(self) -> dict[str, ShotOutcome]:
        return self.scheduler.run()

    def states(self) -> dict[str, str]:
        return {shot: o.state for shot, o in self.scheduler.outcomes.items()}

    def first(self, state: str) -> dict[str, float]:
        """When each shot first reached `state` (virtual seconds since the start)."""
        seen: dict[str, float] = {}
        for e in self.events:
            if e.state == state:
                seen.setdefault(e.shot, e.elapsed)
        return seen


def image_url(body: CreateBody, slot: int) -> str:
    item = body["content"][slot]
    assert item["type"] == "image_url"
    return item["image_url"]["url"]


CHAIN = """\
- {id: a, prompt: shot a}
- {id: b, prompt: shot b, chain: true}
- {id: c, prompt: shot c, chain: true}
"""


def test_a_chain_runs_in_order_and_each_shot_starts_on_the_fresh_last_frame(tmp_path: Path) -> None:
    run = Run(tmp_path, plan_of(tmp_path, CHAIN))
    outcomes = run.run()
    assert run.states() == {"a": "done", "b": "done", "c": "done"}
    assert run.service.prompts() == ["shot a", "shot b", "shot c"]
    bodies = [body for _, body in run.service.creates]
    assert image_url(bodies[1], 1) == "https://fake.test/t1.png"
    assert image_url(bodies[2], 1) == "https://fake.test/t2.png"
    assert bodies[0].get("return_last_frame") is True and "return_last_frame" not in bodies[2]
    submitted, done = run.first("submitted"), run.first("done")
    assert done["a"] <= submitted["b"] and done["b"] <= submitted["c"]
    assert run.extracted == []  # the service sent every frame
    assert all(o.entry is not None and o.entry.meta.task_id == o.task_id for o in outcomes.values())
    assert run.journal.get(outcomes["a"].job.cache_key) is None  # cached: nothing left to resume


def test_a_chain_from_a_cached_shot_takes_its_stored_frame_inline(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, CHAIN)
    first = Run(tmp_path, plan_of(tmp_path, "- {id: a, prompt: shot a}\n"))
    first.service.last_frames = False  # cached without a frame: nothing chained from it then
    first.run()
    again = Run(tmp_path, plan)
    again.run()
    assert again.service.prompts() == ["shot b", "shot c"]  # a is cached
    assert len(again.extracted) == 1  # a's frame taken from its clip once, then stored
    assert image_url(again.service.creates[0][1], 1) == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert again.cache.get(plan.jobs[0].cache_key).last_frame is not None  # type: ignore[union-attr]


def test_fan_out_runs_the_dependants_together_after_their_upstream(tmp_path: Path) -> None:
    shots = "- {id: root, prompt: root}\n" + "".join(
        f"- {{id: d{i}, prompt: dependant {i}, images: [{{from: root, role: first_frame}}]}}\n" for i in range(3)
    )
    run = Run(tmp_path, plan_of(tmp_path, shots))
    run.run()
    submitted, done = run.first("submitted"), run.first("done")
    (start,) = {submitted[f"d{i}"] for i in range(3)}  # all three at the same moment,
    assert 0 < start - done["root"] <= 0.05 + 1e-9  # within one idle tick of the scheduler
    assert run.service.most_running == 3


def test_at_most_jobs_tasks_run_on_the_service(tmp_path: Path) -> None:
    shots = "".join(f"- {{prompt: shot {i}}}\n" for i in range(7))
    run = Run(tmp_path, plan_of(tmp_path, shots, model=T2V), max_in_flight=2)
    run.run()
    assert run.service.most_running == 2
    assert len(run.service.creates) == 7
    assert set(run.states().values()) == {"done"}


def test_creates_stay_within_the_rate_window(tmp_path: Path) -> None:
    shots = "".join(f"- {{prompt: shot {i}}}\n" for i in range(9))
    run = Run(tmp_path, plan_of(tmp_path, shots, model=T2V), max_in_flight=20, rate=(4, 60.0))
    run.run()
    times = [t for t, _ in run.service.creates]
    busiest = max(sum(1 for t in times if start <= t < start + 60.0) for start in times)
    assert busiest == 4  # as many as allowed, never more
    assert times[4] - times[0] >= 60.0 and times[8] - times[4] >= 60.0


def test_running_tasks_are_polled_together_at_the_age_based_interval(tmp_path: Path) -> None:
    shots = "".join(f"- {{prompt: shot {i}}}\n" for i in range(3))
    service = FakeService(FakeClock(), latency=200.0)
    policy = PollPolicy(minimum=3.0, maximum=15.0, factor=0.15)
    run = Run(tmp_path, plan_of(tmp_path, shots, model=T2V), service=service, poll=policy)
    run.run()
    polls = service.polls
    assert all(ids == ("t1", "t2", "t3") for _, ids in polls[:-1])  # one batch request per round
    created = service.creates[0][0]
    for (when, _), (then, _) in itertools.pairwise(polls):
        assert then - when == pytest.approx(policy.interval(when - created), abs=1e-6)
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(polls)]
    assert gaps[0] == 3.0 and gaps[-1] == 15.0  # young tasks at the minimum, old at the cap
    assert run.scheduler.polls == len(polls)


def test_a_failed_shot_blocks_its_dependants_and_the_rest_finish(tmp_path: Path) -> None:
    def fail(body: CreateBody) -> GenerationFailed | None:
        bad = prompt_of(body) == "shot b"
        return GenerationFailed("the prompt was refused", code="OutputVideoSensitiveContentDetected") if bad else None

    shots = CHAIN + "- {id: d, prompt: shot d}\n"
    run = Run(tmp_path, plan_of(tmp_path, shots), service=FakeService(FakeClock(), fail=fail))
    outcomes = run.run()
    assert run.states() == {"a": "done", "b": "failed", "c": "blocked", "d": "done"}
    assert run.service.prompts() == ["shot a", "shot d", "shot b"]
    assert isinstance(outcomes["b"].error, GenerationFailed)
    assert run.journal.get(outcomes["b"].job.cache_key) is None  # terminal: nothing to resume


def test_a_crash_after_submitting_resumes_the_journaled_tasks_without_creating_again(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, "- {id: a, prompt: shot a}\n- {id: b, prompt: shot b}\n")
    service = FakeService(FakeClock(), latency=100.0)
    service.clock.interrupt_at = service.clock.now + 10.0  # Ctrl-C ten seconds in
    crashed = Run(tmp_path, plan, service=service)
    with pytest.raises(RenderInterrupted) as caught:
        crashed.run()
    assert caught.value.running == {"a": "t1", "b": "t2"}
    assert "still running on the service: a (t1), b (t2)" in str(caught.value)
    resumed = Run(tmp_path, plan, service=service)  # a new process, the same service
    resumed.run()
    assert len(service.creates) == 2  # nothing paid twice
    assert resumed.first("resumed").keys() == {"a", "b"}
    assert resumed.states() == {"a": "done", "b": "done"}
    assert [o.source for o in resumed.scheduler.outcomes.values()] == ["resumed", "resumed"]


def test_a_resumed_task_the_service_forgot_is_submitted_again(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, "- {id: a, prompt: shot a}\n")
    service = FakeService(FakeClock(), latency=100.0)
    service.clock.interrupt_at = service.clock.now + 5.0
    with pytest.raises(RenderInterrupted):
        Run(tmp_path, plan, service=service).run()
    service.forget("t1")
    again = Run(tmp_path, plan, service=service)
    again.run()
    assert service.single_retrieves == ["t1"]
    assert [e.detail for e in again.events if e.state == "queued"] == [
        "journaled task unknown to the service; submitting again"
    ]
    assert again.states() == {"a": "done"} and len(service.creates) == 2


def test_a_create_without_an_answer_is_uncertain_and_never_sent_again_unless_forced(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, "- {id: a, prompt: shot a}\n- {id: b, prompt: shot b, chain: true}\n")
    service = FakeService(FakeClock(), lose_answers=1)
    first = Run(tmp_path, plan, service=service)
    outcomes = first.run()
    assert first.states() == {"a": "failed", "b": "blocked"}
    assert isinstance(outcomes["a"].error, APIError) and outcomes["a"].error.maybe_submitted
    entry = first.journal.get(plan.jobs[0].cache_key)
    assert entry is not None and entry.state == "uncertain"

    again = Run(tmp_path, plan, service=service)
    again.run()
    assert len(service.creates) == 1  # refused: the first one may be running
    assert str(again.scheduler.outcomes["a"].error).startswith("an earlier create request for this shot was sent")

    forced = Run(tmp_path, plan, service=service, force={"a"})
    forced.run()
    assert forced.states() == {"a": "done", "b": "done"}
    assert service.prompts() == ["shot a", "shot a", "shot b"]


def test_a_second_run_of_the_same_plan_is_all_cache(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, CHAIN)
    Run(tmp_path, plan).run()
    again = Run(tmp_path, plan)
    again.run()
    assert again.service.creates == [] and again.service.polls == []
    assert again.states() == {"a": "cached", "b": "cached", "c": "cached"}


def test_polling_that_keeps_failing_stops_with_the_tasks_journaled(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, "- {id: a, prompt: shot a}\n")
    service = FakeService(FakeClock(), latency=100.0)
    service.poll_errors.extend(APIError("HTTP 502 bad gateway") for _ in range(6))
    with pytest.raises(RenderInterrupted, match="^lost contact with the service; still running on the service: a"):
        Run(tmp_path, plan, service=service).run()
    assert Journal(tmp_path / "cache" / "journal").get(plan.jobs[0].cache_key) is not None


def test_a_create_is_journaled_before_it_is_sent_so_ctrl_c_on_the_way_never_pays_twice(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, "- {id: a, prompt: shot a}\n")
    service = FakeService(FakeClock())
    journal_at_send: list[object] = []

    def interrupted_create(body: CreateBody) -> str:
        journal_at_send.append(Journal(tmp_path / "cache" / "journal").get(plan.jobs[0].cache_key))
        service.creates.append((service.clock.monotonic(), body))
        raise KeyboardInterrupt  # Ctrl-C while the request is on its way

    service.create = interrupted_create  # type: ignore[method-assign]
    with pytest.raises(RenderInterrupted) as caught:
        Run(tmp_path, plan, service=service).run()
    assert str(caught.value) == (
        "interrupted while the create request of shot a was on its way; it is journaled as uncertain: "
        "check the AceData console, then rerun with --force a if no task runs for it"
    )
    entry = journal_at_send[0]
    assert entry is not None and entry.state == "uncertain"  # type: ignore[attr-defined]
    del service.create  # the real fake again
    again = Run(tmp_path, plan, service=service)
    again.run()
    assert again.states() == {"a": "failed"} and len(service.creates) == 1


def test_a_create_the_service_refused_leaves_no_journal_entry(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, "- {id: a, prompt: shot a}\n")
    service = FakeService(FakeClock())
    service.create_errors.append(BadRequestError("the ratio is not supported", status=400, code="bad_request"))
    run = Run(tmp_path, plan, service=service)
    run.run()
    assert run.states() == {"a": "failed"}
    assert run.journal.get(plan.jobs[0].cache_key) is None  # nothing was created: nothing to refuse later


def test_a_shot_chained_from_one_whose_download_failed_ends_blocked_not_waiting(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, "- {id: a, prompt: shot a}\n- {id: b, prompt: shot b, chain: true}\n")
    service = FakeService(FakeClock())
    service.download_errors.append(DownloadError("cannot download t1.mp4: connection reset"))
    run = Run(tmp_path, plan, service=service)
    run.run()
    assert run.states() == {"a": "failed", "b": "blocked"}
    assert [e.detail for e in run.events if e.shot == "b"] == ["an upstream shot failed"]

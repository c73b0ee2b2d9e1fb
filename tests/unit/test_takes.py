"""Takes against the in-memory fake service: distinct recorded seeds, one job (and one create) per
take, take 1 unchanged, chains that follow the pick, `pick`'s checks, and the lockfile's takes
and picks surviving a round trip — each counted on the fake or read back, not trusted."""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from storyboard.engine import report
from storyboard.engine.finish import VideoResult
from storyboard.engine.lockfile import updated_lockfile
from storyboard.engine.picks import changed_jobs, stale_picks, with_pick
from storyboard.engine.plan import Plan, make_plan
from storyboard.engine.render import BatchRun, RenderOptions
from storyboard.engine.scheduler import PollPolicy, ShotOutcome
from storyboard.engine.variants import Batch, load_batch
from storyboard.errors import ConfigError, GenerationFailed
from storyboard.seedance.wire import CreateBody
from storyboard.spec.load import Loaded, load_text
from storyboard.spec.variables import variable_sets
from storyboard.store.cache import Cache
from storyboard.store.journal import Journal
from storyboard.store.lockfile import Lockfile, parse_lockfile

from support.fake_service import FakeClock, FakeService, no_verify

MODEL = "doubao-seedance-1-0-pro-250528"  # takes images: shots chain
BOARD = """\
- {id: a, prompt: "shot a", takes: 3}
- {id: b, prompt: "shot b", chain: true}
- {id: c, prompt: "shot c"}
"""


def plan_of(tmp_path: Path, shots: str, *, picks: Mapping[str, int] | None = None, takes: int | None = None,
            defaults: str = "") -> Plan:  # fmt: skip
    text = f"version: 1\nname: t\ndefaults: {{model: {MODEL}, resolution: 480p, duration: 3{defaults}}}\nshots:\n"
    loaded = load_text(text + textwrap.indent(shots, "  "), label="t.yaml", base_dir=tmp_path)
    return make_plan(loaded, service="fake", picks=picks, takes=takes)


def batch_of(tmp_path: Path, shots: str = BOARD, picks: Mapping[str, int] | None = None) -> Batch:
    board = tmp_path / "board.yaml"
    board.write_text(f"version: 1\nname: t\ndefaults: {{model: {MODEL}, resolution: 480p, duration: 3}}\n"
                     f"shots:\n{textwrap.indent(shots, '  ')}", encoding="utf-8")  # fmt: skip
    return load_batch(str(board), variable_sets([], None), service="fake", picks=picks)


def seeds(plan: Plan) -> dict[str, object]:
    return {j.id: j.request.get("seed") for j in plan.jobs}


# -- planning ----------------------------------------------------------------------------------


def test_a_shot_with_three_takes_is_three_jobs_with_distinct_seeds(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, BOARD)
    assert [(j.id, j.shot, j.take, j.takes, j.picked) for j in plan.jobs] == [
        ("a", "a", 1, 3, True), ("a#2", "a", 2, 3, False), ("a#3", "a", 3, 3, False),
        ("b", "b", 1, 1, True), ("c", "c", 1, 1, True),
    ]  # fmt: skip
    takes = [j for j in plan.jobs if j.shot == "a"]
    assert len({j.cache_key for j in takes}) == 3
    assert takes[0].request.get("seed") is None  # take 1 is the shot as it was: the service picks
    assert len({j.request.get("seed") for j in takes}) == 3
    assert all(0 <= int(j.request.get("seed", 0)) <= 4294967295 for j in takes)
    assert seeds(plan_of(tmp_path, BOARD)) == seeds(plan)  # derived, not random: a re-render is cached
    assert plan.estimated_tokens == 5 * plan.jobs[0].estimated_tokens  # the estimate counts every take
    assert [j.id for j in plan.picked] == ["a", "b", "c"]


def test_take_one_is_the_shot_without_takes(tmp_path: Path) -> None:
    plain = plan_of(tmp_path, '- {id: a, prompt: "shot a", seed: 7}\n')
    one = plan_of(tmp_path, '- {id: a, prompt: "shot a", seed: 7, takes: 1}\n')
    three = plan_of(tmp_path, '- {id: a, prompt: "shot a", seed: 7, takes: 3}\n')
    assert one.jobs == plain.jobs
    assert three.jobs[0].request == plain.jobs[0].request
    assert three.jobs[0].cache_key == plain.jobs[0].cache_key  # adding takes keeps the clip already made
    assert seeds(three) == {"a": 7, "a#2": 8, "a#3": 9}


def test_seeds_wrap_at_the_top_of_the_range(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, '- {id: a, prompt: "shot a", seed: 4294967295, takes: 2}\n')
    assert seeds(plan) == {"a": 4294967295, "a#2": 0}


def test_takes_come_from_the_shot_then_defaults_and_the_flag_overrides_both(tmp_path: Path) -> None:
    shots = '- {id: a, prompt: "shot a", takes: 2}\n- {id: b, prompt: "shot b"}\n'
    assert [j.id for j in plan_of(tmp_path, shots, defaults=", takes: 3").jobs] == [
        "a", "a#2", "b", "b#2", "b#3",
    ]  # fmt: skip
    assert [j.id for j in plan_of(tmp_path, shots, defaults=", takes: 3", takes=1).jobs] == ["a", "b"]


def test_a_chained_shot_starts_from_the_picked_take_only(tmp_path: Path) -> None:
    first, second = plan_of(tmp_path, BOARD), plan_of(tmp_path, BOARD, picks={"a": 2})
    assert first.job("b").depends_on == ("a",)
    assert second.job("b").depends_on == ("a#2",)
    assert [j.id for j in second.picked] == ["a#2", "b", "c"]
    # the takes and the unrelated shot keep their keys; only the shot chained from the pick changes
    assert [j.id for j in changed_jobs(first, second)] == ["b"]
    assert {j.id: j.cache_key for j in first.jobs if j.id != "b"} == {
        j.id: j.cache_key for j in second.jobs if j.id != "b"
    }
    # every take of a chained-from shot asks for its last frame: any of them may be picked
    assert all(j.request.get("return_last_frame") for j in second.jobs if j.shot == "a")


def test_a_pick_beyond_the_takes_uses_take_one_and_warns(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, BOARD, picks={"a": 3}, takes=2)
    assert [j.id for j in plan.picked] == ["a", "b", "c"]
    lock = Lockfile("board.yaml", "fake", (), (), (("a", 3),))
    assert [str(i) for i in stale_picks(plan, lock, "board.lock.yaml")] == [
        'board.lock.yaml: warning: picks.a: picks take 3, but shot "a" has 2 takes now: the video uses take 1 '
        "(the pick is kept)"
    ]


# -- generating ----------------------------------------------------------------------------------


class Finished:
    """A finisher that records which clip of each shot the video was given, without MoviePy."""

    def __init__(self) -> None:
        self.used: dict[str, str] = {}
        self.reports: tuple[report.ShotReport, ...] = ()

    def __call__(self, loaded: Loaded, plan: Plan, outcomes: Mapping[str, ShotOutcome], *, owned: set[str],
                 music_file: Path | None, output: Path, preview: bool, polls: int,
                 generation_seconds: float) -> VideoResult:  # fmt: skip
        self.used = {j.shot: j.id for j in plan.picked}
        self.reports = tuple(
            report.shot_report(j, outcomes[j.id], owned=True, takes=tuple(
                report.take_report(t, outcomes[t.id], owned=True) for t in plan.jobs if t.shot == j.shot))
            for j in plan.picked
        )  # fmt: skip
        video = report.VideoReport(
            str(loaded.file), str(output), plan.service, self.reports, report.totals(plan, self.reports, polls),
            report.AssemblyRecord(key="k", output_sha256="0" * 64, details={}), report.Timings(0.0, 0.0),
        )  # fmt: skip
        return VideoResult(output, report.report_path(output), video)


def run(tmp_path: Path, batch: Batch, service: FakeService) -> tuple[Finished, BatchRun]:
    finished = Finished()
    batch_run = BatchRun(
        batch, service=service, cache=Cache(tmp_path / "cache"), journal=Journal(tmp_path / "journal"),
        options=RenderOptions(poll=PollPolicy(minimum=1.0, maximum=1.0, factor=0.0)), clock=service.clock,
        finish=finished, verify=no_verify,
    )  # fmt: skip
    return finished, batch_run


def created_seeds(service: FakeService) -> list[object]:
    return [body.get("seed") for _, body in service.creates]


def test_three_takes_are_three_creates_and_a_pick_recreates_only_the_chained_shot(tmp_path: Path) -> None:
    service = FakeService(FakeClock(), latency=10.0)
    finished, batch_run = run(tmp_path, batch_of(tmp_path), service)
    result = batch_run.run()
    assert result.videos[0].status == "done"
    assert len(service.creates) == 5  # a, a#2, a#3, b, c
    a_seeds = [b.get("seed") for _, b in service.creates if b["content"][0] == {"type": "text", "text": "shot a"}]
    assert len(a_seeds) == 3 and len(set(a_seeds)) == 3
    assert finished.used == {"a": "a", "b": "b", "c": "c"}
    shot_a = finished.reports[0]
    assert [(t.take, t.picked, t.job, t.state, t.source) for t in shot_a.takes] == [
        (1, True, "a", "ready", "generated"), (2, False, "a#2", "ready", "generated"),
        (3, False, "a#3", "ready", "generated"),
    ]  # fmt: skip
    assert [t.requested_seed for t in shot_a.takes] == a_seeds
    assert shot_a.clip_sha256 == shot_a.takes[0].clip_sha256 and shot_a.take == 1
    assert result.videos[0].result is not None
    totals = result.videos[0].result.report.totals
    assert (totals.shots, totals.takes, totals.generated, totals.cached) == (3, 5, 5, 0)

    # pick take 2: the video uses its clip; only b (chained from a) is created again
    service.creates.clear()
    finished, batch_run = run(tmp_path, batch_of(tmp_path, picks={"a": 2}), service)
    assert batch_run.run().videos[0].status == "done"
    assert finished.used == {"a": "a#2", "b": "b", "c": "c"}
    assert len(service.creates) == 1 and service.creates[0][1]["content"][0]["text"] == "shot b"  # type: ignore[typeddict-item]
    shot_a = finished.reports[0]
    assert (shot_a.take, shot_a.id, shot_a.clip_sha256) == (2, "a#2", shot_a.takes[1].clip_sha256)
    assert shot_a.takes[1].picked and not shot_a.takes[0].picked


def test_a_failed_candidate_take_does_not_fail_the_video_but_a_failed_pick_does(tmp_path: Path) -> None:
    batch = batch_of(tmp_path, '- {id: a, prompt: "shot a", seed: 5, takes: 2}\n')

    def fail_seed(seed: int) -> object:
        def fail(body: CreateBody) -> GenerationFailed | None:
            return GenerationFailed("no", code="api_error") if body.get("seed") == seed else None

        return fail

    service = FakeService(FakeClock(), latency=5.0, fail=fail_seed(6))  # type: ignore[arg-type]
    finished, batch_run = run(tmp_path / "one", batch, service)
    result = batch_run.run()
    assert result.videos[0].status == "done"
    assert [(t.job, t.state, t.error) for t in finished.reports[0].takes] == [
        ("a", "ready", None), ("a#2", "failed", "api_error: no"),
    ]  # fmt: skip
    service = FakeService(FakeClock(), latency=5.0, fail=fail_seed(5))  # type: ignore[arg-type]
    _finished, batch_run = run(tmp_path / "two", batch, service)
    assert batch_run.run().videos[0].status == "failed"


# -- picking and the lockfile ------------------------------------------------------------------


def locked(tmp_path: Path, batch: Batch) -> Lockfile:
    """The lockfile after a render of `batch` that made every clip (fake entries)."""
    cache = Cache(tmp_path / "lockcache")
    from storyboard.store.cache import ClipOrigin

    entries = {}
    for job in batch.plan.jobs:
        clip = cache.staging_dir() / f"{job.cache_key}.mp4"
        clip.write_bytes(job.id.encode())
        origin = ClipOrigin(shot=job.id, task_id=f"t-{job.id}", model=MODEL, tokens=1, seed=job.take * 100,
                            service="fake", request_digest={}, created=1.0)  # fmt: skip
        entries[job.id] = cache.put(job.cache_key, clip, None, origin)
    return updated_lockfile(batch, None, entries, {})


def test_the_lockfile_records_each_take_and_the_pick_and_reads_them_back(tmp_path: Path) -> None:
    batch = batch_of(tmp_path, '- {id: a, prompt: "shot a", seed: 7, takes: 2}\n- {id: b, prompt: "shot b"}\n')
    lock = with_pick(batch, locked(tmp_path, batch), "a", 2)
    text = lock.dumps("board.lock.yaml")
    assert "\npicks:\n\n  a: 2\n\nshots:\n" in text
    assert '\n  "a#2":\n' in text
    assert "    take: 2\n    requested_seed: 8\n" in text
    assert "\n  b:\n" in text and text.count("take:") == 2  # b has no takes: its block is as before
    again = parse_lockfile(text, "board.lock.yaml")
    assert again == lock and again.pick_map == {"a": 2}
    assert again.shot("a#2") is not None and again.shot("a#2").seed == 200  # type: ignore[union-attr]
    # take 1 is the default: picking it removes the pick, and the file is as it was before any pick
    back = with_pick(batch, again, "a", 1)
    assert back.picks == () and "picks" not in back.dumps("board.lock.yaml")
    # a render keeps the pick (also one --takes put out of reach), and drops a removed shot's
    after = updated_lockfile(batch, dataclasses.replace(lock, picks=(("a", 2), ("gone", 2))), {}, {})
    assert after.picks == (("a", 2),)


@pytest.mark.parametrize(
    "shot,take,message",
    [
        ("x", 2, 'pick: unknown shot "x" (shots: a, b, c)'),
        ("b", 2, 'pick: shot "b" has no takes (give it takes: N, render, then pick one)'),
        ("a", 4, 'pick: take 4 is out of range: shot "a" has takes 1 to 3'),
        ("a", 0, 'pick: take 0 is out of range: shot "a" has takes 1 to 3'),
    ],
)
def test_pick_mistakes_are_one_line(tmp_path: Path, shot: str, take: int, message: str) -> None:
    batch = batch_of(tmp_path)
    with pytest.raises(ConfigError) as caught:
        with_pick(batch, Lockfile("board.yaml", "fake", (), ()), shot, take)
    assert [str(i) for i in caught.value.issues] == [message]


def test_a_pick_of_a_shot_rendered_with_takes_from_the_command_line_says_to_repeat_them(tmp_path: Path) -> None:
    with_takes = batch_of(tmp_path, '- {id: a, prompt: "shot a", seed: 7, takes: 2}\n- {id: b, prompt: "shot b"}\n')
    # the same storyboard without takes in the file, as `render --takes 2` would have used it
    without = batch_of(tmp_path, '- {id: a, prompt: "shot a", seed: 7}\n- {id: b, prompt: "shot b"}\n')
    with pytest.raises(ConfigError) as caught:
        with_pick(without, locked(tmp_path, with_takes), "a", 2)
    assert [str(i) for i in caught.value.issues] == [
        'pick: shot "a" has no takes (it was rendered with 2 takes: pick with --takes 2, as the render was)'
    ]


def test_a_broken_pick_in_the_lockfile_is_located(tmp_path: Path) -> None:
    text = Lockfile("board.yaml", "fake", (), (), (("a", 2),)).dumps("board.lock.yaml").replace("a: 2", "a: zero")
    with pytest.raises(ConfigError) as caught:
        parse_lockfile(text, "board.lock.yaml")
    assert [str(i) for i in caught.value.issues] == ["board.lock.yaml:11:6: picks.a: must be an integer ≥ 1"]

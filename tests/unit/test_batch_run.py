"""A batch through ``BatchRun`` against the in-memory fake service, in virtual time, with a
finisher that records what it was given instead of assembling: shared shots generated once,
each video finished as soon as its own shots are ready, failures confined to their video, and
the batch's counts — each counted on the fake, not trusted."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from storyboard.engine import report
from storyboard.engine.finish import Finisher, VideoResult
from storyboard.engine.plan import Plan
from storyboard.engine.render import BatchResult, BatchRun, RenderOptions, VideoEvent
from storyboard.engine.scheduler import Event, PollPolicy, ShotOutcome
from storyboard.engine.variants import Batch, load_batch
from storyboard.errors import AssembleError, GenerationFailed, StoryboardError
from storyboard.seedance.wire import CreateBody
from storyboard.spec.load import Loaded
from storyboard.spec.variables import VariableSet, variable_sets
from storyboard.store.cache import Cache
from storyboard.store.journal import Journal

from support.fake_service import FakeClock, FakeService, no_verify, prompt_of

T2V = "doubao-seedance-1-0-lite-t2v-250428"
I2V = "doubao-seedance-1-0-pro-250528"
EVERY_SECOND = PollPolicy(minimum=1.0, maximum=1.0, factor=0.0)
ASSEMBLY_SECONDS = 2.5

PROMO = """\
version: 1
name: promo
vars: {{product: x}}
defaults: {{model: {model}, resolution: 480p, duration: 3}}
output: {{path: "out/{{{{ product | slug }}}}.mp4"{music}}}
shots:
  - {{id: intro, prompt: "brand intro"}}
  - {{id: hero, prompt: "the {{{{ product }}}} turns"}}
{extra}  - {{id: endcard, prompt: "end card"}}
"""
DETAIL = '  - {id: detail, prompt: "details of the {{ product }}", chain: true}\n'
PRODUCTS = ("Red", "Blue", "Green")


def promo(
    tmp_path: Path, *, model: str = T2V, extra: str = "", music: str = "", service: str = "fake", rows: int = 3
) -> Batch:
    """The promo storyboard, one variant per product (a CSV of rows), planned for `service`."""
    board = tmp_path / "promo.yaml"
    board.write_text(PROMO.format(model=model, extra=extra, music=music), encoding="utf-8")
    csv = tmp_path / "products.csv"
    csv.write_text("product\n" + "".join(f"{p}\n" for p in PRODUCTS[:rows]), encoding="utf-8")
    return load_batch(str(board), variable_sets([], csv), service=service)


@dataclass(frozen=True)
class Call:
    """What one call of the finisher was given (shots by the video's own ids)."""

    shots: dict[str, tuple[str, str, str]]  # shot -> (state, source, prompt of the task that made its clip)
    clips: dict[str, bytes]
    owned: set[str]
    music_file: Path | None
    output: Path
    polls: int
    generation_seconds: float


class RecordingFinisher:
    """A ``Finisher`` without MoviePy: records each call and returns a report built from the
    engine's own records; raises `errors[video]` for the videos named there."""

    def __init__(self, service: FakeService, errors: Mapping[str, Exception] | None = None) -> None:
        self.service = service
        self.errors = dict(errors or {})
        self.calls: dict[str, Call] = {}
        self._lock = threading.Lock()

    def __call__(
        self,
        loaded: Loaded,
        plan: Plan,
        outcomes: Mapping[str, ShotOutcome],
        *,
        owned: set[str],
        music_file: Path | None,
        output: Path,
        preview: bool,
        polls: int,
        generation_seconds: float,
    ) -> VideoResult:
        assert not preview
        shots, clips = {}, {}
        for job in plan.jobs:
            o = outcomes[job.id]
            assert o.entry is not None and o.task_id is not None
            shots[job.id] = (o.state, o.source, prompt_of(self.service.tasks[o.task_id].body))
            clips[job.id] = o.entry.clip.read_bytes()
        with self._lock:
            assert output.stem not in self.calls, "each video is finished once"
            self.calls[output.stem] = Call(shots, clips, owned, music_file, output, polls, generation_seconds)
        if output.stem in self.errors:
            raise self.errors[output.stem]
        reports = tuple(report.shot_report(job, outcomes[job.id], owned=job.id in owned) for job in plan.jobs)
        video = report.VideoReport(
            storyboard=str(loaded.file),
            output=str(output),
            service=plan.service,
            shots=reports,
            totals=report.totals(plan, reports, polls),
            assembly=report.AssemblyRecord(key="k", output_sha256="0" * 64, details={"method": "fake"}),
            timings=report.Timings(round(generation_seconds, 3), ASSEMBLY_SECONDS),
        )
        return VideoResult(output, report.report_path(output), video)


class Run:
    """A `BatchRun` of `batch` on a fake service, cache and journal under `tmp_path`."""

    def __init__(
        self,
        tmp_path: Path,
        batch: Batch,
        service: FakeService | None = None,
        errors: Mapping[str, Exception] | None = None,
        **options: object,
    ) -> None:
        self.service = service or FakeService(FakeClock())
        self.clock = self.service.clock
        self.cache = Cache(tmp_path / "cache")
        self.finisher = RecordingFinisher(self.service, errors)
        self.timeline: list[tuple[str, str, float]] = []  # shot events and "assembling", in order
        self.running_at_assembly: dict[str, int] = {}
        self.video_events: list[VideoEvent] = []
        options.setdefault("jobs", 10)
        options.setdefault("poll", EVERY_SECOND)
        options.setdefault("assemblers", 2)
        finish: Finisher = self.finisher
        self.batch_run = BatchRun(
            batch,
            service=self.service,
            cache=self.cache,
            journal=Journal(tmp_path / "cache" / "journal"),
            options=RenderOptions(**options),  # type: ignore[arg-type]
            on_event=self._shot,
            on_video=self._video,
            clock=self.clock,
            finish=finish,
            verify=no_verify,
        )

    def _shot(self, event: Event) -> None:
        self.timeline.append((event.shot, event.state, event.elapsed))

    def _video(self, event: VideoEvent) -> None:
        self.video_events.append(event)  # "done" / "failed" arrive from assembly threads
        if event.state == "assembling":  # sent by the scheduler's thread: ordered with shot events
            self.timeline.append((f"video {event.video}", event.state, event.elapsed))
            self.running_at_assembly[event.video] = self.service.running()

    def run(self) -> BatchResult:
        return self.batch_run.run()

    def index(self, name: str, state: str) -> int:
        return next(i for i, (n, s, _) in enumerate(self.timeline) if (n, s) == (name, state))


def counts(result: BatchResult) -> dict[str, tuple[str, int, int, int]]:
    return {v.variant.name: (v.status, v.generated, v.reused, v.tokens) for v in result.videos}


def by_prompt(latencies: dict[str, float], default: float) -> Callable[[CreateBody], float]:
    return lambda body: latencies.get(prompt_of(body), default)


def refuse(prompt: str) -> Callable[[CreateBody], GenerationFailed | None]:
    def fail(body: CreateBody) -> GenerationFailed | None:
        if prompt_of(body) == prompt:
            return GenerationFailed("the prompt was refused", code="OutputVideoSensitiveContentDetected")
        return None

    return fail


def test_shared_shots_are_generated_once_and_each_video_gets_its_own_clips(tmp_path: Path) -> None:
    batch = promo(tmp_path)
    assert [j.id for j in batch.plan.jobs] == ["red/intro", "red/hero", "red/endcard", "blue/hero", "green/hero"]
    run = Run(tmp_path, batch)
    result = run.run()

    assert sorted(run.service.prompts()) == sorted(
        ["brand intro", "the Red turns", "end card", "the Blue turns", "the Green turns"]
    )
    assert len(run.service.creates) == len(batch.plan.jobs) == result.unique_generations == 5
    assert run.finisher.calls.keys() == {"red", "blue", "green"}
    for product in PRODUCTS:
        call = run.finisher.calls[product.lower()]
        assert call.shots == {
            "intro": ("done", "generated", "brand intro"),
            "hero": ("done", "generated", f"the {product} turns"),
            "endcard": ("done", "generated", "end card"),
        }
        assert call.output == tmp_path / "out" / f"{product.lower()}.mp4"
        assert call.music_file is None
    # the clip each finisher got is the one downloaded for that very task
    red, blue = run.finisher.calls["red"], run.finisher.calls["blue"]
    assert blue.clips["intro"] == red.clips["intro"] and blue.clips["endcard"] == red.clips["endcard"]
    assert len({c.clips["hero"] for c in run.finisher.calls.values()}) == 3
    assert sorted(run.service.downloads) == sorted(f"https://fake.test/t{i}.mp4" for i in range(1, 6))
    # the first variant pays for the shared shots, the others reuse them
    assert red.owned == {"intro", "hero", "endcard"} and blue.owned == {"hero"}
    assert counts(result) == {
        "red": ("done", 3, 0, 3000),
        "blue": ("done", 1, 2, 1000),
        "green": ("done", 1, 2, 1000),
    }  # tokens as the fake reported them (1000 a task), not the estimate
    assert [v.error for v in result.videos] == ["", "", ""]
    assert [v.result.output for v in result.videos if v.result] == [
        tmp_path / "out" / f"{p.lower()}.mp4" for p in PRODUCTS
    ]


def test_a_shared_chain_prefix_is_generated_once_and_every_variant_chains_from_its_frame(tmp_path: Path) -> None:
    batch = promo(tmp_path, model=I2V, extra=DETAIL)
    run = Run(tmp_path, batch)
    result = run.run()
    prompts = run.service.prompts()
    assert len(prompts) == len(set(prompts)) == 2 + 2 * 3  # intro, endcard once; hero, detail per product
    for product in PRODUCTS:
        hero = next(t for t in run.service.tasks.values() if prompt_of(t.body) == f"the {product} turns")
        detail = next(t for t in run.service.tasks.values() if prompt_of(t.body) == f"details of the {product}")
        assert detail.body["content"][1]["image_url"]["url"] == f"https://fake.test/{hero.id}.png"
        assert detail.created >= hero.done_at  # it started on its own variant's fresh frame
    assert counts(result) == {
        "red": ("done", 4, 0, 4000),
        "blue": ("done", 2, 2, 2000),
        "green": ("done", 2, 2, 2000),
    }


def test_each_video_is_finished_as_soon_as_its_own_shots_are_ready(tmp_path: Path) -> None:
    latency = by_prompt({"the Red turns": 40.0, "the Blue turns": 120.0, "the Green turns": 300.0}, default=20.0)
    run = Run(tmp_path, promo(tmp_path), service=FakeService(FakeClock(), latency=latency))
    result = run.run()
    assembling = [(name, elapsed) for name, state, elapsed in run.timeline if state == "assembling"]
    assert assembling == [("video red", 40.0), ("video blue", 120.0), ("video green", 300.0)]
    # red is being finished while the other variants' shots still run on the service
    assert run.index("video red", "assembling") < run.index("blue/hero", "done")
    assert run.index("video blue", "assembling") < run.index("green/hero", "done")
    assert run.running_at_assembly == {"red": 2, "blue": 1, "green": 0}
    assert {name: c.generation_seconds for name, c in run.finisher.calls.items()} == {
        "red": 40.0,
        "blue": 120.0,
        "green": 300.0,
    }
    # polled once a second from 0 to 300 s, one batch request each round
    assert result.polls == len(run.service.polls) == 301
    assert {name: c.polls for name, c in run.finisher.calls.items()} == {"red": 41, "blue": 121, "green": 301}
    assert [(v.variant.name, v.seconds) for v in result.videos] == [
        ("red", 40.0 + ASSEMBLY_SECONDS),
        ("blue", 120.0 + ASSEMBLY_SECONDS),
        ("green", 300.0 + ASSEMBLY_SECONDS),
    ]
    assert result.seconds == 300.0
    assert sorted((e.video, e.state, e.detail) for e in run.video_events if e.state != "assembling") == [
        ("blue", "done", str(tmp_path / "out" / "blue.mp4")),
        ("green", "done", str(tmp_path / "out" / "green.mp4")),
        ("red", "done", str(tmp_path / "out" / "red.mp4")),
    ]


def test_a_failed_shot_fails_only_its_video_with_the_summary_and_the_others_are_finished(tmp_path: Path) -> None:
    service = FakeService(FakeClock(), fail=refuse("the Blue turns"))
    run = Run(tmp_path, promo(tmp_path, model=I2V, extra=DETAIL), service=service)
    result = run.run()
    assert [(v.variant.name, v.status) for v in result.videos] == [
        ("red", "done"),
        ("blue", "failed"),
        ("green", "done"),
    ]
    blue = result.failed[0]
    assert blue.error == (
        'shot "hero" failed: OutputVideoSensitiveContentDetected: the prompt was refused — '
        "rephrase the prompt or replace the images, then render again\n"
        'shot "detail" not generated: it needs "hero", which did not finish\n'
        "2 of 4 shots are generated and cached; nothing paid for is lost"
    )
    assert blue.result is None
    assert run.finisher.calls.keys() == {"red", "green"}  # blue's finisher never ran
    assert "details of the Blue" not in service.prompts()
    assert [e for e in run.video_events if e.video == "blue"] == []  # it never started assembling
    assert result.report().videos[1].error == blue.error
    assert blue.seconds == 30.0  # its shots ended when hero failed, at the poll of 30 s
    # the others' details start on the frames of 30 s (within one idle tick: downloads run on
    # threads) and end 30 s later, seen by the next poll
    assert 60.0 <= result.seconds <= 61.0


def test_a_failed_videos_counts_hold_only_the_clips_it_has(tmp_path: Path) -> None:
    """Only successful videos are billed (docs/protocol.md §11.1): a refused shot is neither
    generated nor reused, nor is the shot it blocked, and neither costs a token."""
    service = FakeService(FakeClock(), fail=refuse("the Blue turns"))
    result = Run(tmp_path, promo(tmp_path, model=I2V, extra=DETAIL), service=service).run()
    assert counts(result)["blue"] == ("failed", 0, 2, 0)  # intro and endcard reused; hero and detail made nothing


def test_a_shot_repeated_in_one_storyboard_is_generated_and_counted_once(tmp_path: Path) -> None:
    board = tmp_path / "sting.yaml"
    board.write_text(
        f"version: 1\nname: sting\ndefaults: {{model: {T2V}, resolution: 480p, duration: 3}}\nshots:\n"
        "  - {id: logo, prompt: logo sting}\n  - {id: middle, prompt: the middle}\n"
        "  - {id: again, prompt: logo sting}\n",
        encoding="utf-8",
    )
    batch = load_batch(str(board), [VariableSet({})], service="fake")
    run = Run(tmp_path, batch)
    result = run.run()
    assert run.service.prompts() == ["logo sting", "the middle"]
    call = run.finisher.calls["sting"]
    assert call.clips["again"] == call.clips["logo"]
    # one task for the logo, paid once: its second use is a reuse
    assert counts(result) == {"sting": ("done", 2, 1, 2000)}
    assert call.owned == {"logo", "middle"}


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (AssembleError("ffmpeg exited with status 1"), "ffmpeg exited with status 1"),
        (OSError(28, "No space left on device"), "[Errno 28] No space left on device"),
    ],
    ids=["AssembleError", "OSError"],
)
def test_a_finisher_that_raises_fails_its_video_only(tmp_path: Path, error: Exception, text: str) -> None:
    run = Run(tmp_path, promo(tmp_path), errors={"blue": error})
    result = run.run()
    assert [(v.variant.name, v.status) for v in result.videos] == [
        ("red", "done"),
        ("blue", "failed"),
        ("green", "done"),
    ]
    blue = result.videos[1]
    assert blue.error == f"assembly failed: {text} (the clips are cached; fix and render again)"
    assert (blue.result, blue.generated, blue.reused, blue.tokens) == (None, 1, 2, 1000)
    assert run.finisher.calls.keys() == {"red", "blue", "green"}
    assert [(e.state, e.detail) for e in run.video_events if e.video == "blue"] == [
        ("assembling", ""),
        ("failed", text),
    ]
    assert len(run.service.creates) == 5


def test_a_second_run_reuses_every_clip_and_still_finishes_every_video(tmp_path: Path) -> None:
    batch = promo(tmp_path)
    first = Run(tmp_path, batch)
    first.run()
    service = first.service
    creates, polls = len(service.creates), len(service.polls)
    again = Run(tmp_path, batch, service=service)
    result = again.run()
    assert (len(service.creates), len(service.polls), result.polls) == (creates, polls, 0)
    assert counts(result) == {"red": ("done", 0, 3, 0), "blue": ("done", 0, 3, 0), "green": ("done", 0, 3, 0)}
    assert {shot: s[:2] for shot, s in again.finisher.calls["blue"].shots.items()} == dict.fromkeys(
        ("intro", "hero", "endcard"), ("cached", "cache")
    )
    assert again.finisher.calls["blue"].clips == first.finisher.calls["blue"].clips


def test_a_music_url_is_fetched_once_before_anything_is_submitted(tmp_path: Path) -> None:
    url = "https://music.test/theme.mp3"
    run = Run(tmp_path, promo(tmp_path, music=f", music: {{url: '{url}'}}"))
    assert (run.service.downloads, run.service.creates) == ([url], [])  # before run(): nothing sent yet
    run.run()
    assert run.service.downloads.count(url) == 1
    (music,) = {c.music_file for c in run.finisher.calls.values()}
    assert music is not None and music.parent == run.cache.root / "music" and music.suffix == ".mp3"
    assert music.read_bytes() == f"clip of {url}".encode()


def test_a_plan_made_for_another_service_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    batch = promo(tmp_path, service="emulator", music=", music: {url: 'https://music.test/theme.mp3'}")
    service = FakeService(FakeClock())
    with pytest.raises(StoryboardError) as caught:
        Run(tmp_path, batch, service=service)
    assert str(caught.value) == "the plan's cache keys are for service 'emulator', not 'fake'"
    assert (service.downloads, service.creates, service.polls) == ([], [], [])


def test_the_batch_summary_json_has_every_videos_counts(tmp_path: Path) -> None:
    service = FakeService(FakeClock(), latency=by_prompt({"the Blue turns": 50.0}, default=20.0))
    result = Run(tmp_path, promo(tmp_path, rows=2), service=service).run()
    path = tmp_path / "out" / "promo.batch.json"
    result.report().write(path)
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "videos": [
            {
                "row": 1,
                "label": f"{tmp_path / 'products.csv'} row 1",
                "output": str(tmp_path / "out" / "red.mp4"),
                "status": "done",
                "error": None,
                "shots_generated": 3,
                "shots_reused": 0,
                "tokens": 3000,
                "seconds": 20.0 + ASSEMBLY_SECONDS,
            },
            {
                "row": 2,
                "label": f"{tmp_path / 'products.csv'} row 2",
                "output": str(tmp_path / "out" / "blue.mp4"),
                "status": "done",
                "error": None,
                "shots_generated": 1,
                "shots_reused": 2,
                "tokens": 1000,
                "seconds": 50.0 + ASSEMBLY_SECONDS,
            },
        ],
        "unique_generations": 4,
        "poll_requests": 51,
        "seconds": 50.0,
    }

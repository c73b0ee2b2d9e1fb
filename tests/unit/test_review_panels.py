"""The review's panels built from a batch render's records (the fake service, virtual time):
per video, its shots in order with the state a viewer needs — generated, shared with an earlier
variant, cached, locked, failed, blocked — and the failure in place."""

from __future__ import annotations

from pathlib import Path

from test_batch_run import DETAIL, I2V, Run, promo, refuse

from storyboard.engine.lockfile import after_render
from storyboard.engine.render import BatchResult
from storyboard.engine.review.write import review_of
from storyboard.engine.variants import Batch
from storyboard.store.lockfile import Lockfile

from support.fake_service import FakeClock, FakeService


def states(batch: Batch, result: BatchResult, lock: Lockfile | None = None) -> dict[str, list[tuple[str, str]]]:
    reviews = [review_of(batch, v, result, lock, preview=False) for v in result.videos]
    return {r.name: [(p.id, p.state) for p in r.panels] for r in reviews}


def test_generated_shared_then_cached_then_locked(tmp_path: Path) -> None:
    batch = promo(tmp_path)
    run = Run(tmp_path, batch)
    first = run.run()
    assert states(batch, first) == {
        "red": [("intro", "generated"), ("hero", "generated"), ("endcard", "generated")],
        "blue": [("intro", "shared"), ("hero", "generated"), ("endcard", "shared")],
        "green": [("intro", "shared"), ("hero", "generated"), ("endcard", "shared")],
    }
    red = review_of(batch, first.videos[0], first, None, preview=False)
    assert red.tokens_paid == sum(p.tokens for p in red.panels) and red.error is None
    assert [len(p.takes) for p in red.panels] == [1, 1, 1] and all(p.takes[0].clip.is_file() for p in red.panels)
    assert red.panels[1].prompt == "the Red turns" and red.panels[1].chosen is red.panels[1].takes[0]

    again = Run(tmp_path, batch, service=run.service).run()  # the same cache: nothing generated
    assert len(run.service.creates) == 5
    assert {name: {s for _, s in shots} for name, shots in states(batch, again).items()} == {
        "red": {"cached"}, "blue": {"cached"}, "green": {"cached"},
    }  # fmt: skip
    lock = after_render(batch, None, first)
    assert {name: {s for _, s in shots} for name, shots in states(batch, again, lock).items()} == {
        "red": {"locked"}, "blue": {"locked"}, "green": {"locked"},
    }  # fmt: skip


def test_a_failed_shot_is_shown_with_its_message_and_the_shot_it_blocked(tmp_path: Path) -> None:
    batch = promo(tmp_path, model=I2V, extra=DETAIL)
    result = Run(tmp_path, batch, service=FakeService(FakeClock(), fail=refuse("the Blue turns"))).run()
    blue = review_of(batch, result.videos[1], result, None, preview=False)
    assert [(p.id, p.state, p.error) for p in blue.panels] == [
        ("intro", "shared", None),
        ("hero", "failed", "OutputVideoSensitiveContentDetected: the prompt was refused"),
        ("detail", "blocked", "not generated: it needs hero, which did not finish"),
        ("endcard", "shared", None),
    ]
    assert blue.error is not None and blue.error.startswith('shot "hero" failed: ')
    assert [p.takes for p in blue.panels[1:3]] == [(), ()]
    assert blue.panels[2].continues_previous and not blue.panels[3].continues_previous


def test_takes_are_listed_with_their_seeds_and_every_generated_take_counts_as_paid(tmp_path: Path) -> None:
    takes = '  - {id: detail, prompt: "details of the {{ product }}", takes: 3, seed: 10}\n'
    batch = promo(tmp_path, extra=takes, rows=1)
    result = Run(tmp_path, batch).run()
    red = review_of(batch, result.videos[0], result, None, preview=False)
    assert [p.id for p in red.panels] == ["intro", "hero", "detail", "endcard"]  # one panel per shot
    detail = red.panels[2]
    assert [(t.number, t.seed, t.chosen, t.paid) for t in detail.takes] == [
        (1, 10, True, True), (2, 11, False, True), (3, 12, False, True),
    ]  # fmt: skip
    assert red.tokens_paid == sum(t.tokens for p in red.panels for t in p.takes)  # 6 tasks, not 4
    assert len({t.clip for t in detail.takes}) == 3 and detail.missing_takes == ()

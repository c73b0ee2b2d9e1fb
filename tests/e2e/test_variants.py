"""Templated variants: one storyboard, one video per row; shared shots generated once; budgets.

Counts come from the emulator's request log, not from the engine's own report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from test_render import created_prompts, creates, use

from storyboard.cli.main import main
from storyboard.emulator import Emulator

PROMO = """\
version: 1
name: promo
vars: {product: x, photo: media/p1.png}
defaults: {model: doubao-seedance-1-0-pro-fast-251015, resolution: 480p, duration: 2, seed: 5}
output: {path: "out/{{ product | slug }}.mp4", preset: ultrafast}
shots:
  - {id: intro, prompt: "brand intro"}
  - {id: hero, prompt: "the {{ product }} turns", images: [{path: "{{ photo }}"}]}
  - {id: detail, prompt: "details of the {{ product }}", chain: true}
  - {id: endcard, prompt: "end card, shop now"}
"""
PRODUCTS = ["Red Shoe", "Blue Hat", "Green Bag", "Gold Ring", "Grey Coat", "Pink Scarf"]


def make_batch(folder: Path, rows: int) -> tuple[Path, Path]:
    media = folder / "media"
    media.mkdir(parents=True, exist_ok=True)
    lines = ["product,photo"]
    for i, product in enumerate(PRODUCTS[:rows], start=1):
        Image.new("RGB", (480, 320), (40 * i, 90, 200 - 20 * i)).save(media / f"p{i}.png")
        lines.append(f"{product},media/p{i}.png")
    board = folder / "promo.yaml"
    board.write_text(PROMO, encoding="utf-8")
    csv = folder / "products.csv"
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return board, csv


def test_shared_shots_are_generated_once_and_reruns_only_do_what_is_missing(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(emulator, monkeypatch)
    board, csv = make_batch(tmp_path, 5)
    assert main(["render", str(board), "--vars", str(csv), "--quiet"]) == 0
    prompts = created_prompts(emulator)
    assert len(prompts) == 1 + 10 + 1
    assert prompts.count("brand intro") == 1 and prompts.count("end card, shop now") == 1
    for product in PRODUCTS[:5]:
        assert (tmp_path / "out" / f"{product.lower().replace(' ', '-')}.mp4").stat().st_size > 0
    summary = json.loads((tmp_path / "out" / "promo.batch.json").read_text())
    assert [(v["status"], v["shots_generated"], v["shots_reused"]) for v in summary["videos"]] == [("done", 4, 0)] + [
        ("done", 2, 2)
    ] * 4
    assert summary["unique_generations"] == 12

    assert main(["render", str(board), "--vars", str(csv), "--quiet"]) == 0
    assert len(creates(emulator)) == 12

    board6, csv6 = make_batch(tmp_path, 6)
    assert main(["render", str(board6), "--vars", str(csv6), "--quiet"]) == 0
    assert created_prompts(emulator)[12:] == ["the Pink Scarf turns", "details of the Pink Scarf"]


def test_plan_lists_new_and_shared_shots_per_variant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    board, csv = make_batch(tmp_path, 3)
    assert main(["plan", str(board), "--vars", str(csv), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    shared = [[s["id"] for s in v["shots"] if s["shared"]] for v in plan["variants"]]
    assert shared == [[], ["intro", "endcard"], ["intro", "endcard"]]
    assert plan["unique_generations"] == 1 + 6 + 1
    # every shot here is 864x480 x 49 frames
    assert plan["estimated_tokens_total"] == 8 * (864 * 480 * 49 // 1024)


def test_max_cost_below_the_estimate_refuses_and_sends_nothing(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use(emulator, monkeypatch)
    board, csv = make_batch(tmp_path, 5)
    assert main(["render", str(board), "--vars", str(csv), "--max-cost", "0.5"]) == 2
    assert emulator.requests == []
    assert capsys.readouterr().err.strip() == (
        "--max-cost: the 12 new generations are estimated at 0.9996 CNY, above 0.5; nothing was sent"
    )
    assert main(["render", str(board), "--vars", str(csv), "--max-shots", "10"]) == 2
    assert capsys.readouterr().err.strip() == "--max-shots: 12 shots need generating, more than 10; nothing was sent"
    assert emulator.requests == []


def test_budget_counts_only_what_is_not_cached(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(emulator, monkeypatch)
    board, csv = make_batch(tmp_path, 1)
    assert main(["render", str(board), "--vars", str(csv), "--quiet"]) == 0
    board, csv = make_batch(tmp_path, 2)
    # row 2 needs only its two product shots now: within a two-shot budget
    assert main(["render", str(board), "--vars", str(csv), "--quiet", "--max-shots", "2"]) == 0
    assert len(creates(emulator)) == 6


def test_rows_writing_the_same_output_are_refused_before_anything_is_sent(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use(emulator, monkeypatch)
    board, csv = make_batch(tmp_path, 2)
    csv.write_text("product,photo\nRed Shoe,media/p1.png\nred shoe!,media/p2.png\n")
    assert main(["render", str(board), "--vars", str(csv)]) == 2
    out = tmp_path.resolve() / "out" / "red-shoe.mp4"
    assert capsys.readouterr().err.strip() == f"{csv} row 2: output.path: {out} is also written by {csv} row 1"
    assert emulator.requests == []


def test_a_row_missing_a_variable_names_the_row_and_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    board, csv = make_batch(tmp_path, 2)
    board.write_text(PROMO.replace("vars: {product: x, photo: media/p1.png}\n", ""))
    csv.write_text("product,photo\nRed Shoe,media/p1.png\nBlue Hat\n")
    assert main(["plan", str(board), "--vars", str(csv)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"{board}:7:67: shots[1].images[0].path: undefined variable 'photo' ({csv} row 2)"
    )


def test_a_failed_variant_does_not_stop_the_others(
    tmp_path: Path,
    emulator_factory: Callable[..., Emulator],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emu = emulator_factory(faults="fail=Blue Hat")
    use(emu, monkeypatch)
    board, csv = make_batch(tmp_path, 3)
    assert main(["render", str(board), "--vars", str(csv), "--quiet"]) == 1
    summary = json.loads((tmp_path / "out" / "promo.batch.json").read_text())
    assert [v["status"] for v in summary["videos"]] == ["done", "failed", "done"]
    assert summary["videos"][1]["error"].startswith('shot "hero" failed: ')
    err = capsys.readouterr().err
    assert f'{csv} row 2: shot "hero" failed: ' in err
    assert not (tmp_path / "out" / "blue-hat.mp4").exists()


def test_create_rate_limit_holds_for_a_30_variant_batch(
    tmp_path: Path, emulator_factory: Callable[..., Emulator]
) -> None:
    """R creates per window, time scaled down: a 1.5 s window stands for the service's minute."""
    from storyboard.engine.render import RenderOptions, render
    from storyboard.engine.scheduler import PollPolicy
    from storyboard.engine.variants import load_batch
    from storyboard.seedance.client import SeedanceClient
    from storyboard.seedance.config import ServiceConfig
    from storyboard.spec.variables import variable_sets
    from storyboard.store.cache import Cache
    from storyboard.store.journal import Journal

    limit, window = 6, 1.5
    emu = emulator_factory(latency=0.2, rate=(limit, window))  # the service enforces it: 429 above
    board = tmp_path / "wave.yaml"
    board.write_text(
        "version: 1\nname: wave\n"
        "defaults: {model: doubao-seedance-1-0-lite-t2v-250428, resolution: 480p, frames: 29}\n"
        'output: {path: "out/{{ n }}.mp4"}\n'
        'shots:\n  - {prompt: "wave number {{ n }}"}\n'
    )
    rows = tmp_path / "rows.csv"
    rows.write_text("n\n" + "".join(f"{i}\n" for i in range(30)))
    batch = load_batch(str(board), variable_sets([], rows), service="emulator")
    cache = Cache(tmp_path / "cache")
    with SeedanceClient(ServiceConfig(token="t", base_url=emu.url), identity="emulator") as client:
        result = render(
            batch, service=client, cache=cache, journal=Journal(tmp_path / "cache" / "journal"),
            options=RenderOptions(jobs=5, rate=(limit, window), poll=PollPolicy(0.05, 0.5, 0.2)),
        )  # fmt: skip
    assert [v.status for v in result.videos] == ["done"] * 30
    times = sorted(r["ts"] for r in emu.requests if r["path"] == "/seedance/videos")
    assert len(times) == 30
    busiest = max(sum(1 for t in times if start <= t < start + window) for start in times)
    assert busiest <= limit
    assert [r for r in emu.requests if r["status"] == 429] == []
    assert emu.stats()["creates_rate_limited"] == 0

"""Every example storyboard validates and plans; the fox example plans to the API's body."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from storyboard.cli.main import main
from storyboard.engine.plan import make_plan
from storyboard.spec.load import load

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.rglob("*.yaml"))
FOX = EXAMPLES_DIR / "fox-and-girl.yaml"


def test_the_examples_the_issue_asks_for_exist() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {"quickstart", "first-last-frame", "photo-story", "vertical-audio", "fox-and-girl"} <= names


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_loads_cleanly_and_plans(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loaded = load(example)
    assert loaded.warnings == ()
    plan = make_plan(loaded, service="emulator")
    assert [job.id for job in plan.jobs] == loaded.board.shot_ids()
    assert all(job.estimated_tokens > 0 for job in plan.jobs)
    assert main(["validate", str(example)]) == 0
    n = len(loaded.board.shots)
    assert capsys.readouterr().out == f"{example}: ok ({n} shot{'s' if n != 1 else ''})\n"
    assert main(["plan", "--json", str(example)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [s["id"] for s in doc["shots"]] == [job.id for job in plan.jobs]
    assert doc["estimated_tokens_total"] == plan.estimated_tokens


def digest(path: Path) -> str:
    data = path.read_bytes()
    with Image.open(path) as im:
        w, h = im.size
    return f"data:image/jpeg;base64,<{len(data)} bytes, {w}x{h}, sha256:{hashlib.sha256(data).hexdigest()[:12]}>"


def test_fox_example_plan_json_is_the_api_body(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--json", str(FOX)]) == 0
    doc = json.loads(capsys.readouterr().out)
    shots: dict[str, dict[str, Any]] = {s["id"]: s for s in doc["shots"]}
    assert list(shots) == ["meet", "walk", "fox"]
    common = {"model": "doubao-seedance-1-0-pro-250528", "resolution": "480p", "ratio": "16:9", "seed": 7,
              "watermark": False}  # fmt: skip
    assert shots["meet"]["request"] == {
        **common,
        "content": [
            {"type": "text", "text": "A girl in a red coat holds a fox in a snowy forest"},
            {"type": "image_url", "image_url": {"url": digest(EXAMPLES_DIR / "media" / "vacation_2017.jpg")},
             "role": "first_frame"},
        ],
        "duration": 4,
        "return_last_frame": True,
    }  # fmt: skip
    assert shots["walk"]["request"] == {
        **common,
        "content": [
            {"type": "text", "text": "She walks toward the camera, the fox in her arms"},
            {"type": "image_url", "image_url": {"url": "<last frame of shot meet>"}, "role": "first_frame"},
        ],
        "duration": 4,
        "return_last_frame": True,
    }
    assert shots["fox"]["request"] == {
        **common,
        "content": [
            {"type": "text", "text": "Close-up of the fox, 360-degree shot"},
            {"type": "image_url", "image_url": {"url": "<last frame of shot walk>"}, "role": "first_frame"},
            {"type": "image_url", "image_url": {"url": "https://example.com/end.png"}, "role": "last_frame"},
        ],
        "duration": 5,
    }
    assert [shots[i]["depends_on"] for i in ("meet", "walk", "fox")] == [[], ["meet"], ["walk"]]
    assert all(len(s["cache_key"]) == 64 for s in shots.values())
    # 1.0 table, 480p 16:9 = 864x480; 24*d+1 frames
    assert [s["estimated_tokens"] for s in shots.values()] == [
        864 * 480 * 97 // 1024, 864 * 480 * 97 // 1024, 864 * 480 * 121 // 1024,
    ]  # fmt: skip
    assert doc["estimated_tokens_total"] == 39285 + 39285 + 49005
    assert doc["currency"] == "CNY"


def test_fox_example_sends_the_photo_inline() -> None:
    plan = make_plan(load(FOX), service="emulator")
    url = plan.job("meet").request["content"][1]["image_url"]["url"]
    prefix = "data:image/jpeg;base64,"
    assert url.startswith(prefix)
    assert base64.b64decode(url[len(prefix) :]) == (EXAMPLES_DIR / "media" / "vacation_2017.jpg").read_bytes()


def test_promo_example_plans_one_video_per_product_with_shared_intro_and_end_card(
    capsys: pytest.CaptureFixture[str],
) -> None:
    promo = EXAMPLES_DIR / "promo"
    assert main(["plan", str(promo / "promo.yaml"), "--vars", str(promo / "products.csv"), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert len(plan["variants"]) == 6
    assert plan["unique_generations"] == 2 + 6 * 2
    for variant in plan["variants"][1:]:
        assert [s["id"] for s in variant["shots"] if s["shared"]] == ["intro", "endcard"]

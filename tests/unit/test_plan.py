"""Planning: cache keys, token and cost estimates, and the fields the planner adds or leaves out."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from storyboard.engine.plan import Plan, make_plan
from storyboard.spec.load import load

from support.board_media import make_media


def yaml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    make_media(tmp_path)
    return tmp_path


def plan_of(workdir: Path, text: str, *, name: str = "board.yaml", service: str = "emulator") -> Plan:
    path = workdir / name
    path.write_text(text, encoding="utf-8")
    return make_plan(load(path), service=service)


def keys(plan: Plan) -> dict[str, str]:
    return {job.id: job.cache_key for job in plan.jobs}


STORY = yaml("""\
    version: 1
    name: story
    defaults:
      seed: 7
      resolution: 480p
    shots:
      - id: a
        prompt: a fox in the snow
        images:
          - {path: media/a.jpg, role: first_frame}
      - id: b
        prompt: the fox runs
        chain: true
      - id: c
        prompt: the fox sleeps
        images:
          - {from: b}
      - id: d
        prompt: an unrelated bird
    """)


# --- cache keys -----------------------------------------------------------------------------


def test_cache_keys_ignore_key_order_whitespace_comments_and_file_name(workdir: Path) -> None:
    reordered = yaml("""\
        # the same story, written differently
        name:    story
        shots:
          - prompt: "a fox in the snow"     # quoted this time
            images: [{role: first_frame, path: media/a.jpg}]
            id: a
          - {chain: true, prompt: the fox runs, id: b}
          - images:
              - from: b
            prompt: 'the fox sleeps'
            id: c
          - prompt: an unrelated bird
            id: d
        defaults: {resolution: 480p, seed: 7}
        version: 1
        """)
    assert keys(plan_of(workdir, reordered, name="other.yaml")) == keys(plan_of(workdir, STORY))


def test_cache_keys_ignore_assembly_fields_and_output(workdir: Path) -> None:
    assembled = STORY.replace("name: story", "name: renamed\noutput: {path: x.mp4, fps: 30}").replace(
        "  - id: c\n",
        "  - id: c\n    trim: {start: 0.5}\n    caption: {text: hi}\n    volume: 0.5\n"
        "    transition: {type: fade, duration: 0.3}\n",
    )
    assert keys(plan_of(workdir, assembled)) == keys(plan_of(workdir, STORY))


def changed(before: Plan, after: Plan) -> set[str]:
    old, new = keys(before), keys(after)
    assert list(old) == list(new)
    return {sid for sid in old if old[sid] != new[sid]}


def test_a_prompt_change_changes_that_shot_and_everything_chained_from_it(workdir: Path) -> None:
    base = plan_of(workdir, STORY)
    assert changed(base, plan_of(workdir, STORY.replace("a fox in the snow", "a fox in the rain"))) == {"a", "b", "c"}
    assert changed(base, plan_of(workdir, STORY.replace("the fox runs", "the fox jumps"))) == {"b", "c"}
    assert changed(base, plan_of(workdir, STORY.replace("the fox sleeps", "the fox naps"))) == {"c"}
    assert changed(base, plan_of(workdir, STORY.replace("an unrelated bird", "a bird"))) == {"d"}


def test_seed_resolution_and_service_change_keys(workdir: Path) -> None:
    base = plan_of(workdir, STORY)
    assert changed(base, plan_of(workdir, STORY.replace("seed: 7", "seed: 8"))) == {"a", "b", "c", "d"}
    assert changed(
        base,
        plan_of(workdir, STORY.replace("    prompt: an unrelated bird", "    prompt: an unrelated bird\n    seed: 9")),
    ) == {"d"}  # noqa: E501
    assert changed(base, plan_of(workdir, STORY.replace("resolution: 480p", "resolution: 720p"))) == {
        "a",
        "b",
        "c",
        "d",
    }  # noqa: E501
    assert changed(base, plan_of(workdir, STORY, service="https://api.acedata.cloud")) == {"a", "b", "c", "d"}


def test_image_bytes_change_the_key_even_at_the_same_path_and_size(workdir: Path) -> None:
    photo = workdir / "media" / "a.jpg"
    base = plan_of(workdir, STORY)
    Image.new("RGB", (640, 360), (200, 10, 10)).save(photo, format="JPEG")
    assert changed(base, plan_of(workdir, STORY)) == {"a", "b", "c"}


def test_image_source_changes_the_key(workdir: Path) -> None:
    base = plan_of(workdir, STORY)
    as_url = STORY.replace("{path: media/a.jpg, role: first_frame}", "{url: 'https://e.com/a.jpg', role: first_frame}")
    assert changed(base, plan_of(workdir, as_url)) == {"a", "b", "c"}
    copied = workdir / "media" / "copy.jpg"
    copied.write_bytes((workdir / "media" / "a.jpg").read_bytes())
    # the same bytes under another name are the same input
    assert changed(base, plan_of(workdir, STORY.replace("media/a.jpg", "media/copy.jpg"))) == set()


# --- tokens and cost ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "size", "frames", "price"),
    [
        ("model: doubao-seedance-1-0-pro-250528\n    resolution: 720p\n    duration: 5", (1248, 704), 121, 15.0),
        ("model: doubao-seedance-1-5-pro-251215\n    resolution: 720p\n    duration: 5", (1280, 720), 121, 8.0),
        ("model: doubao-seedance-1-0-pro-250528\n    resolution: 1080p\n    duration: 5", (1920, 1088), 121, 15.0),
        ("model: doubao-seedance-1-5-pro-251215\n    resolution: 1080p\n    duration: 5", (1920, 1080), 121, 8.0),
        ("model: doubao-seedance-1-0-pro-fast-251015\n    resolution: 480p\n    duration: 3", (864, 480), 73, 4.2),
        ("model: doubao-seedance-1-0-lite-t2v-250428\n    resolution: 480p\n    frames: 57", (864, 480), 57, 10.0),
        ('model: doubao-seedance-1-0-pro-250528\n    resolution: 480p\n    ratio: "9:16"\n    frames: 289',
         (480, 864), 289, 15.0),
        ("model: doubao-seedance-1-5-pro-251215\n    resolution: 480p\n    duration: 4\n    generate_audio: true",
         (864, 496), 97, 16.0),
        ("model: doubao-seedance-1-5-pro-251215\n    resolution: 480p\n    duration: -1", (864, 496), 121, 8.0),
        ("model: doubao-seedance-2-0-260128\n    resolution: 4k\n    duration: 15", (3840, 2160), 361, 46.0),
        ('model: doubao-seedance-2-0-mini-260615\n    ratio: "21:9"\n    duration: 4', (1470, 630), 97, 23.0),
    ],
    ids=["1.0-720p", "1.5-720p", "1.0-1080p", "1.5-1080p", "pro-fast-3s", "lite-frames", "frames-289-vertical",
         "1.5-audio", "1.5-auto", "2.0-4k", "2.0-mini-default-720p"],
)  # fmt: skip
def test_tokens_and_cost(workdir: Path, settings: str, size: tuple[int, int], frames: int, price: float) -> None:
    job = plan_of(workdir, f"version: 1\nname: t\nshots:\n  - prompt: a fox\n    {settings}\n").jobs[0]
    width, height = size
    tokens = width * height * frames // 1024
    assert (job.width, job.height, job.frames) == (width, height, frames)
    assert job.estimated_tokens == tokens
    assert job.estimated_cost == round(tokens / 1_000_000 * price, 4)


def test_the_documented_token_counts(workdir: Path) -> None:
    """docs/protocol.md §11.1: 1280x720x121/1024 = 108900 (1.5, 720p, 5 s)."""
    job = plan_of(workdir, "version: 1\nname: t\nshots:\n  - prompt: a\n    model: doubao-seedance-1-5-pro-251215\n"
                           "    resolution: 720p\n    duration: 5\n").jobs[0]  # fmt: skip
    assert job.estimated_tokens == 108900


def test_adaptive_size_follows_the_first_frame(workdir: Path) -> None:
    text = yaml("""\
        version: 1
        name: t
        defaults: {model: doubao-seedance-1-5-pro-251215, resolution: 480p, ratio: adaptive, duration: 4}
        shots:
          - prompt: portrait photo
            images: [{path: media/b.png}]
          - prompt: chained from it
            chain: true
          - prompt: text only
        """)
    jobs = plan_of(workdir, text).jobs
    # b.png is 480x640 (3:4); the chained frame has the upstream clip's size; text-only assumes 16:9
    assert [(j.width, j.height) for j in jobs] == [(560, 752), (560, 752), (864, 496)]


def test_plan_totals_and_a_model_without_a_price(workdir: Path) -> None:
    text = "version: 1\nname: t\nshots:\n  - prompt: a\n    duration: 2\n  - prompt: b\n    duration: 3\n"
    plan = plan_of(workdir, text)
    assert plan.estimated_tokens == sum(j.estimated_tokens for j in plan.jobs)
    assert plan.estimated_cost == round(sum(j.estimated_cost or 0 for j in plan.jobs), 4)
    priceless = plan_of(workdir, text.replace("duration: 3", "duration: 5\n    model: doubao-seedance-2-5-260628"))
    assert priceless.jobs[1].estimated_cost is None
    assert priceless.estimated_cost is None
    assert priceless.to_json()["estimated_cost"] is None
    assert priceless.estimated_tokens == plan.jobs[0].estimated_tokens + 1280 * 720 * 121 // 1024  # 2.5: 720p


# --- fields the planner sets or leaves out --------------------------------------------------------


def test_return_last_frame_is_set_exactly_on_shots_others_chain_from(workdir: Path) -> None:
    text = STORY + (
        "  - id: e\n    prompt: asks for its last frame itself\n    return_last_frame: true\n"
        "  - id: f\n    prompt: nobody needs this one\n"
    )
    plan = plan_of(workdir, text)
    flagged = {j.id for j in plan.jobs if "return_last_frame" in j.request}
    assert flagged == {"a", "b", "e"}  # a: b chains from it; b: c takes `from: b`; e asked itself
    assert all(j.request["return_last_frame"] is True for j in plan.jobs if j.id in flagged)
    assert [j.depends_on for j in plan.jobs] == [(), ("a",), ("b",), (), (), ()]
    assert plan.dependants("a") == {"b", "c"}


def test_service_tier_and_ignored_audio_are_never_sent(workdir: Path) -> None:
    text = yaml("""\
        version: 1
        name: t
        defaults: {service_tier: flex, generate_audio: true}
        shots:
          - prompt: silent model
          - prompt: audio model
            model: doubao-seedance-1-5-pro-251215
            service_tier: default
        """)
    silent, audio = plan_of(workdir, text).jobs
    assert "service_tier" not in silent.request and "service_tier" not in audio.request
    assert "generate_audio" not in silent.request
    assert audio.request["generate_audio"] is True
    assert (silent.has_audio, audio.has_audio) == (False, True)


def test_display_request_shows_a_digest_and_keeps_the_real_body(workdir: Path) -> None:
    job = plan_of(workdir, STORY).job("a")
    shown = job.display_request()["content"][1]["image_url"]["url"]
    data = (workdir / "media" / "a.jpg").read_bytes()
    assert (
        shown == f"data:image/jpeg;base64,<{len(data)} bytes, 640x360, sha256:{hashlib.sha256(data).hexdigest()[:12]}>"
    )
    assert job.request["content"][1]["image_url"]["url"].startswith("data:image/jpeg;base64,/9j/")

"""References in the plan and the render (against the fake service): request items and roles,
inline media, cache keys that follow asset contents, `from:` clips filled at send time, the
24-hour rule, the 2.x defaults and their cost notes; and the valid edge cases at each limit."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from test_scheduler import Run

from storyboard.engine.clipurls import URL_LIFETIME, check_clip_sources
from storyboard.engine.plan import Plan, make_plan
from storyboard.engine.settle import settle_plan
from storyboard.errors import RequestTooLargeError, StoryboardError
from storyboard.seedance.limits import within_body_limit
from storyboard.seedance.wire import CreateBody
from storyboard.spec.load import Loaded, load_text
from storyboard.store.cache import Cache
from storyboard.store.journal import Journal

from support.board_media import make_media
from support.ref_media import copy_ref_media, make_ref_media

M20, M25 = "doubao-seedance-2-0-260128", "doubao-seedance-2-5-260628"

CAST = f"""\
version: 1
name: cast
assets:
  mia: {{path: media/a.jpg, note: "Mia, red scarf"}}
  voice: {{path: media/voice.wav}}
  street: {{path: media/b.png}}
defaults: {{model: {M20}, resolution: 480p, duration: 4}}
shots:
  - id: hello
    prompt: "Mia ([Image 1]) waves while [Audio 1] plays"
    references: [mia, voice]
  - id: walk
    prompt: "Mia ([Image 1]) walks down the street ([Image 2])"
    references: [mia, street]
  - id: again
    prompt: "The same wave, from another angle"
    references: [{{from: hello}}, mia]
"""


@pytest.fixture(scope="session")
def ref_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_ref_media(tmp_path_factory.mktemp("ref-media"))


@pytest.fixture
def base(tmp_path: Path, ref_media: Path) -> Path:
    copy_ref_media(ref_media, make_media(tmp_path))
    return tmp_path


def load(base: Path, text: str) -> Loaded:
    return load_text(text, label="b.yaml", base_dir=base)


def plan(base: Path, text: str) -> Plan:
    return make_plan(load(base, text), service="fake")


def kinds(body: CreateBody) -> list[tuple[str, str]]:
    return [(item["type"], str(item.get("role", ""))) for item in body["content"]]


def test_references_become_typed_items_with_roles_and_inline_media(base: Path) -> None:
    p = plan(base, CAST)
    hello, walk, again = p.jobs
    assert kinds(hello.request) == [("text", ""), ("image_url", "reference_image"), ("audio_url", "reference_audio")]
    assert kinds(again.request) == [("text", ""), ("video_url", "reference_video"), ("image_url", "reference_image")]
    image = hello.request["content"][1]
    audio = hello.request["content"][2]
    assert image["type"] == "image_url" and image["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert audio["type"] == "audio_url" and audio["audio_url"]["url"].startswith("data:audio/wav;base64,")
    shown = json.dumps(hello.display_request())
    assert "data:audio/wav;base64,<441078 bytes, 5 s, sha256:" in shown  # a digest, not megabytes of base64
    assert again.depends_on == ("hello",) and [c.is_clip for c in again.chained] == [True]
    video = again.request["content"][1]
    assert video["type"] == "video_url" and video["video_url"]["url"] == "<clip of shot hello>"
    assert p.asset_use() == {"mia": ["hello", "walk", "again"], "voice": ["hello"], "street": ["walk"]}


def test_2x_sends_generate_audio_true_by_default_and_plan_says_it_costs(base: Path) -> None:
    p = plan(base, CAST)
    assert all(j.request.get("generate_audio") is True and j.has_audio for j in p.jobs)
    assert p.jobs[0].notes == ("audio is on (the 2.x default; generate_audio: false turns it off) and costs more",)
    off = plan(base, CAST.replace("duration: 4}", "duration: 4, generate_audio: false}"))
    assert all(j.request.get("generate_audio") is False and not j.notes for j in off.jobs[:2])


def test_video_input_is_billed_with_the_output_at_the_video_input_price(base: Path) -> None:
    again = plan(base, CAST).jobs[2]  # 4 s of hello's clip in, 4 s out, 864x496 at 480p 16:9
    assert again.estimated_tokens == 864 * 496 * (24 * 4 + 97) // 1024
    assert again.estimated_cost == round(again.estimated_tokens / 1e6 * 28.0, 4)
    assert again.notes[-1] == (
        "billed for 4 s of reference video as well (each clip counted as at least 2 s; the service's "
        "minimum is not published)"
    )
    by_url = plan(base, CAST.replace("{from: hello}", "{url: 'https://example.com/v', kind: video}"))
    assert by_url.jobs[2].notes[-1].startswith("billed for 2 s of reference video")  # unknown length: the floor


def test_a_changed_asset_file_changes_exactly_the_keys_of_the_shots_that_use_it(base: Path) -> None:
    before = {j.id: j.cache_key for j in plan(base, CAST).jobs}
    (base / "media" / "b.png").write_bytes((base / "media" / "a.jpg").read_bytes())  # street changes
    after = {j.id: j.cache_key for j in plan(base, CAST).jobs}
    assert [s for s in before if before[s] != after[s]] == ["walk"]
    src = base / "media" / "voice.wav"
    src.write_bytes((base / "media" / "ten.wav").read_bytes())  # voice changes: hello, and again from hello
    again = {j.id: j.cache_key for j in plan(base, CAST).jobs}
    assert [s for s in after if after[s] != again[s]] == ["hello", "again"]


EXTEND = f"""\
version: 1
name: ext
defaults: {{model: {M25}, resolution: 480p, ratio: "16:9"}}
shots:
  - id: walk
    prompt: She walks
    duration: 4
  - id: run
    prompt: She turns and runs
    chain: extend
    duration: 4
  - id: look
    prompt: The same, at dusk
    chain: edit
"""


def test_chain_extend_and_edit_send_the_previous_clip_with_their_task_type(base: Path) -> None:
    walk, run, look = plan(base, EXTEND).jobs
    assert kinds(run.request) == [("text", ""), ("video_url", "reference_video")]
    assert run.request["omni_reference_task_type"] == "extend"
    assert run.request["ratio"] == "adaptive"  # required: defaults' 16:9 does not apply
    assert run.extends == "walk" and run.depends_on == ("walk",)
    assert (run.width, run.height) == (walk.width, walk.height)  # adaptive follows the source clip
    assert look.request["omni_reference_task_type"] == "edit" and look.request["duration"] == -1
    assert look.seconds == run.seconds == 4.0 and look.extends is None  # an edit keeps its source's length
    assert "omni_reference_task_type" not in walk.request


@pytest.mark.parametrize(
    "shot",
    [
        pytest.param(f"model: {M20}, references: [{', '.join(['{url: https://e.com/i.png}'] * 9)}, "
                     f"{', '.join(['{url: https://e.com/v.mp4}'] * 3)}, {', '.join(['{url: https://e.com/a.mp3}'] * 3)}]",
                     id="2.0-every-count-at-its-limit"),
        pytest.param(f"model: {M25}, references: [{{path: media/voice.wav}}]", id="2.5-audio-alone"),
        pytest.param(f"model: {M20}, references: [{{url: 'https://e.com/clip?id=1', kind: video}}]", id="kind-given"),
        pytest.param(f"model: {M20}, references: [{{path: media/a.jpg}}, {{path: media/ten.wav}}, "
                     "{path: media/voice.wav}]", id="audio-total-exactly-15-s"),
        pytest.param(f"model: {M25}, output_format: mov, tools: [{{type: web_search, limit: 5}}], priority: 9, "
                     "safety_identifier: user-42", id="2.5-other-fields"),
        pytest.param(f"model: {M20}, duration: 15, generate_audio: false", id="2.0-longest"),
    ],
)  # fmt: skip
def test_valid_edge_cases_load_and_plan(base: Path, shot: str) -> None:
    loaded = load(base, f"version: 1\nname: t\nshots:\n  - {{prompt: x, {shot}}}\n")
    assert loaded.warnings == ()
    make_plan(loaded, service="fake")


def test_a_source_of_exactly_15_s_may_be_extended(base: Path) -> None:
    text = EXTEND.replace("    duration: 4\n  - id: run", "    duration: 15\n  - id: run")
    assert plan(base, text).jobs[1].depends_on == ("walk",)


def test_the_other_2x_fields_are_sent_as_given(base: Path) -> None:
    text = (f"version: 1\nname: t\nshots:\n  - {{prompt: x, model: {M25}, output_format: mov, priority: 2, "
            "safety_identifier: u1, tools: [{type: web_search, sources: [douyin]}]}\n")  # fmt: skip
    body = plan(base, text).jobs[0].request
    assert (body["output_format"], body["priority"], body["safety_identifier"]) == ("mov", 2, "u1")
    assert body["tools"] == [{"type": "web_search", "sources": ["douyin"]}]


# --- the render: from: clips ------------------------------------------------------------------


def test_a_from_clip_is_sent_as_the_fresh_service_url_and_its_issue_time_is_recorded(base: Path) -> None:
    p = plan(base, CAST)
    run = Run(base, p)
    before = time.time()
    outcomes = run.run()
    bodies = {body["content"][0]["text"]: body for _, body in run.service.creates}  # type: ignore[typeddict-item]
    again = bodies["The same wave, from another angle"]
    assert again["content"][1] == {"type": "video_url", "video_url": {"url": "https://fake.test/t1.mp4"},
                                   "role": "reference_video"}  # fmt: skip
    meta = outcomes["hello"].entry.meta  # type: ignore[union-attr]
    assert meta.video_url == "https://fake.test/t1.mp4"
    assert meta.video_url_issued is not None and meta.video_url_issued <= before + 1


def test_a_cached_source_with_a_valid_url_is_reused_and_an_old_one_stops_the_render(base: Path) -> None:
    p = plan(base, CAST)
    first = Run(base, p)
    first.run()
    hello = p.jobs[0]
    cache, journal = Cache(base / "cache"), Journal(base / "cache" / "journal")
    settled = settle_plan(p, cache=cache, journal=journal, force={"again"})
    check_clip_sources(p, settled, time.time())  # fresh: fine
    issued = cache.get(hello.cache_key).meta.video_url_issued  # type: ignore[union-attr]
    assert issued is not None
    with pytest.raises(StoryboardError) as err:
        check_clip_sources(p, settled, issued + URL_LIFETIME)
    assert str(err.value) == (
        "shot again sends shot hello's clip as a reference video, but its service URL was issued 24 h ago (it lasts "
        "24 h); run with --force hello to generate it again, or give the clip as url: (nothing was sent)"
    )
    second = Run(base, p, force={"again"})
    second.run()
    assert second.service.creates[0][1]["content"][1] == {
        "type": "video_url", "video_url": {"url": "https://fake.test/t1.mp4"}, "role": "reference_video",
    }  # fmt: skip  # the first render's URL: still valid


def test_a_body_over_64_mb_is_refused_before_it_is_sent() -> None:
    with pytest.raises(RequestTooLargeError) as err:
        within_body_limit({"model": M20, "content": [{"type": "text", "text": "x" * (64 * 1024 * 1024)}]})
    assert str(err.value) == (
        "the create request is 64.0 MB; the service takes at most 64 MB (give big media as url:); nothing was sent"
    )
    within_body_limit({"model": M20, "content": [{"type": "text", "text": "x" * (64 * 1024 * 1024 - 100)}]})

"""Valid edge cases: storyboards that must load, with the values they must produce.

Each case checks what the loader and planner make of the file (the request body fields, the
pixel size), not merely that nothing was raised.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from storyboard.cli.main import main
from storyboard.engine.plan import ShotJob, make_plan
from storyboard.engine.variants import load_batch
from storyboard.spec.load import Loaded, load
from storyboard.spec.variables import VariableSet

from support.board_media import make_media


def yaml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_media(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(workdir: Path, text: str, name: str = "board.yaml") -> Path:
    path = workdir / name
    path.write_text(text, encoding="utf-8")
    return path


def jobs(workdir: Path, text: str, overrides: dict[str, Any] | None = None) -> dict[str, ShotJob]:
    loaded = load(write(workdir, text), overrides=overrides)
    assert loaded.warnings == ()
    return {job.id: job for job in make_plan(loaded, service="emulator").jobs}


def text_of(job: ShotJob) -> str:
    return job.request["content"][0]["text"]


def images_of(job: ShotJob) -> list[tuple[str, str]]:
    """(url as displayed, role) of every image item."""
    return [(i["image_url"]["url"], i["role"]) for i in job.display_request()["content"][1:]]


def test_unicode_cjk_and_emoji_prompts_are_kept_exactly(workdir: Path) -> None:
    text = yaml("""\
        version: 1
        name: 雪中的狐狸
        vars:
          who: 女孩
        shots:
          - prompt: 一个穿红色外套的{{ who }}抱着一只狐狸 🦊❄️
            caption: {text: "夏天的回忆 — café", position: top}
          - prompt: "Ünïcödé ‘quotes’ and a zero-width\u200bjoiner"
        """)
    got = jobs(workdir, text)
    assert text_of(got["shot-1"]) == "一个穿红色外套的女孩抱着一只狐狸 🦊❄️"
    assert text_of(got["shot-2"]) == "Ünïcödé ‘quotes’ and a zero-width\u200bjoiner"
    board = load(workdir / "board.yaml").board
    assert board.name == "雪中的狐狸"
    assert board.shots[0].caption is not None and board.shots[0].caption.text == "夏天的回忆 — café"


def test_a_prompt_of_exactly_1000_cjk_characters_passes(workdir: Path) -> None:
    got = jobs(workdir, "version: 1\nname: t\nshots:\n  - prompt: " + "狐" * 1000 + "\n")
    assert text_of(got["shot-1"]) == "狐" * 1000


def test_anchors_aliases_and_merge_keys(workdir: Path) -> None:
    text = yaml("""\
        version: 1
        name: t
        vars:
          look: &look
            model: doubao-seedance-1-5-pro-251215
            resolution: 480p
            ratio: "9:16"
          prompt: &p a fox in the snow
        shots:
          - <<: *look
            prompt: *p
          - <<: *look
            id: square
            prompt: a fox, seen from above
            ratio: "1:1"
        """)
    got = jobs(workdir, text)
    first, second = got["shot-1"], got["square"]
    assert text_of(first) == "a fox in the snow"
    assert (first.model, first.request["resolution"], first.request["ratio"]) == (
        "doubao-seedance-1-5-pro-251215",
        "480p",
        "9:16",
    )
    assert (first.width, first.height) == (496, 864)
    assert second.request["ratio"] == "1:1"  # an explicit key beats the merged one
    assert (second.width, second.height) == (640, 640)


def test_adaptive_ratio_with_an_image_takes_the_image_aspect(workdir: Path) -> None:
    text = yaml("""\
        version: 1
        name: t
        defaults: {resolution: 480p, ratio: adaptive}
        shots:
          - prompt: a fox
            images:
              - {path: media/b.png, role: first_frame}
        """)
    job = jobs(workdir, text)["shot-1"]
    assert job.request["ratio"] == "adaptive"
    assert (job.width, job.height) == (544, 736)  # b.png is 480x640 = 3:4; 1.0 table
    assert images_of(job)[0][0].startswith("data:image/png;base64,<")


def test_frames_instead_of_duration(workdir: Path) -> None:
    job = jobs(workdir, "version: 1\nname: t\nshots:\n  - prompt: a fox\n    frames: 57\n")["shot-1"]
    assert job.request["frames"] == 57
    assert "duration" not in job.request
    assert job.frames == 57
    assert job.seconds == pytest.approx(56 / 24)


def test_frames_at_both_ends_of_the_range(workdir: Path) -> None:
    text = "version: 1\nname: t\nshots:\n  - prompt: a\n    frames: 29\n  - prompt: b\n    frames: 289\n"
    got = jobs(workdir, text)
    assert [got["shot-1"].request["frames"], got["shot-2"].request["frames"]] == [29, 289]


def test_ultrawide_21_9(workdir: Path) -> None:
    job = jobs(workdir, 'version: 1\nname: t\nshots:\n  - prompt: a fox\n    resolution: 480p\n    ratio: "21:9"\n')
    assert (job["shot-1"].request["ratio"], job["shot-1"].width, job["shot-1"].height) == ("21:9", 960, 416)


def test_vertical_9_16_on_1_5_pro_with_audio(workdir: Path) -> None:
    text = yaml("""\
        version: 1
        name: t
        defaults:
          model: doubao-seedance-1-5-pro-251215
          resolution: 720p
          ratio: "9:16"
          generate_audio: true
          duration: -1
        shots:
          - prompt: rain on a window at night
        """)
    job = jobs(workdir, text)["shot-1"]
    assert job.request["ratio"] == "9:16"
    assert job.request["generate_audio"] is True
    assert job.request["duration"] == -1
    assert (job.width, job.height) == (720, 1280)
    assert job.has_audio


def test_4k_on_2_0(workdir: Path) -> None:
    text = "version: 1\nname: t\nshots:\n  - prompt: a\n    model: doubao-seedance-2-0-260128\n    resolution: 4k\n"
    job = jobs(workdir, text)["shot-1"]
    assert (job.request["resolution"], job.width, job.height) == ("4k", 3840, 2160)


def test_2_0_takes_nine_reference_images(workdir: Path) -> None:
    refs = "".join(f"      - {{url: https://example.com/{i}.png, role: reference_image}}\n" for i in range(8))
    text = (
        yaml("""\
        version: 1
        name: t
        shots:
          - prompt: the fox and the girl from the references
            model: doubao-seedance-2-0-260128
            images:
              - {path: media/a.jpg, role: reference_image}
        """)
        + refs
    )
    job = jobs(workdir, text)["shot-1"]
    images = images_of(job)
    assert len(images) == 9
    assert {role for _, role in images} == {"reference_image"}
    assert images[0][0].startswith("data:image/jpeg;base64,<")
    assert images[8][0] == "https://example.com/7.png"
    assert job.request["resolution"] == "720p"  # the model's default


def test_lite_i2v_with_four_references_at_720p(workdir: Path) -> None:
    refs = "".join(f"      - {{url: https://example.com/{i}.png, role: reference_image}}\n" for i in range(4))
    text = "version: 1\nname: t\nshots:\n  - prompt: a\n    model: doubao-seedance-1-0-lite-i2v-250428\n    images:\n"
    job = jobs(workdir, text + refs)["shot-1"]
    assert job.request["resolution"] == "720p"
    assert len(images_of(job)) == 4


def test_templated_numbers_and_booleans_become_numbers_and_booleans(workdir: Path) -> None:
    text = yaml("""\
        version: 1
        name: t
        vars: {d: 4, wm: true}
        shots:
          - prompt: a fox
            duration: "{{ d }}"
            watermark: "{{ wm }}"
            seed: "{{ d * 1000 + 1 }}"
        """)
    assert jobs(workdir, text)["shot-1"].request | {"content": None} == {
        "model": "doubao-seedance-1-0-pro-250528",
        "content": None,
        "resolution": "1080p",
        "ratio": "16:9",
        "duration": 4,
        "watermark": True,
        "seed": 4001,
    }
    overridden = jobs(workdir, text, overrides={"d": 6, "wm": False})["shot-1"].request
    assert (overridden["duration"], overridden["watermark"], overridden["seed"]) == (6, False, 6001)


def plan_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(["plan", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


TEMPLATED = yaml("""\
    version: 1
    name: "{{ title }}"
    vars: {d: 4, title: default}
    shots:
      - prompt: a {{ coat }} coat
        duration: "{{ d }}"
    """)


def test_var_flag_sets_a_templated_number(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(workdir, TEMPLATED)
    doc = plan_json(capsys, "board.yaml", "--var", "d=6", "--var", "coat=red")
    request = doc["shots"][0]["request"]
    assert (request["duration"], request["content"][0]["text"], doc["name"]) == (6, "a red coat", "default")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("vars.yaml", "d: 5\ncoat: green\ntitle: from yaml\n"),
        ("vars.json", '{"d": 5, "coat": "green", "title": "from json"}'),
    ],
    ids=["yaml", "json"],
)
def test_vars_file_yaml_and_json(workdir: Path, capsys: pytest.CaptureFixture[str], name: str, content: str) -> None:
    write(workdir, TEMPLATED)
    write(workdir, content, name)
    doc = plan_json(capsys, "board.yaml", "--vars", name)
    request = doc["shots"][0]["request"]
    assert (request["duration"], request["content"][0]["text"]) == (5, "a green coat")
    assert doc["name"] == f"from {name.split('.')[1]}"
    # a --var flag beats the vars file
    doc = plan_json(capsys, "board.yaml", "--vars", name, "--var", "coat=blue")
    assert doc["shots"][0]["request"]["content"][0]["text"] == "a blue coat"


def test_defaults_are_inherited_and_a_shot_value_wins(workdir: Path) -> None:
    text = yaml("""\
        version: 1
        name: t
        defaults:
          model: doubao-seedance-1-0-pro-fast-251015
          resolution: 720p
          seed: 7
          watermark: false
          camerafixed: true
          execution_expires_after: 7200
        shots:
          - prompt: inherits everything
          - prompt: overrides some
            seed: 8
            resolution: 480p
            camerafixed: false
        """)
    got = jobs(workdir, text)
    common = {"model": "doubao-seedance-1-0-pro-fast-251015", "ratio": "16:9", "duration": 5, "watermark": False,
              "execution_expires_after": 7200}  # fmt: skip
    assert got["shot-1"].request == {
        **common, "content": [{"type": "text", "text": "inherits everything"}],
        "resolution": "720p", "seed": 7, "camerafixed": True,
    }  # fmt: skip
    assert got["shot-2"].request == {
        **common, "content": [{"type": "text", "text": "overrides some"}],
        "resolution": "480p", "seed": 8, "camerafixed": False,
    }  # fmt: skip


def test_ids_default_to_shot_n_and_can_be_referenced(workdir: Path) -> None:
    text = yaml("""\
        version: 1
        name: t
        shots:
          - prompt: one
          - id: named
            prompt: two
          - prompt: three
            images:
              - {from: shot-1}
        """)
    got = jobs(workdir, text)
    assert list(got) == ["shot-1", "named", "shot-3"]
    assert got["shot-3"].depends_on == ("shot-1",)
    assert images_of(got["shot-3"]) == [("<last frame of shot shot-1>", "first_frame")]
    assert got["shot-1"].request["return_last_frame"] is True
    assert "return_last_frame" not in got["named"].request


def test_multiline_block_prompt_with_a_template(workdir: Path) -> None:
    text = yaml("""\
        version: 1
        name: t
        vars: {coat: red}
        shots:
          - prompt: |
              A girl in a {{ coat }} coat.
              {% if coat == "red" %}Snow falls.{% endif %}
        """)
    assert text_of(jobs(workdir, text)["shot-1"]) == "A girl in a red coat.\nSnow falls.\n"


def test_crlf_line_endings_and_a_byte_order_mark(workdir: Path) -> None:
    text = "\ufeff# comment\r\nversion: 1\r\nname: t\r\nshots:\r\n  - prompt: a fox # trailing comment\r\n"
    assert text_of(jobs(workdir, text)["shot-1"]) == "a fox"


ISSUE_EXAMPLE = yaml("""\
    # yaml-language-server: $schema=../schemas/storyboard.schema.json
    version: 1
    name: fox-and-girl
    vars:                         # Jinja2 variables; --var k=v and --vars FILE override them
      coat: red
    defaults:                     # any shot field; a shot's own value wins
      model: doubao-seedance-1-0-pro-250528
      resolution: 480p
      ratio: "16:9"
      duration: 4
      seed: 7
      watermark: false
    output:
      path: out/fox-and-girl.mp4  # relative paths are relative to the storyboard file
      transition: {type: crossfade, duration: 0.5}     # cut | crossfade | fade (through black)
      music: {path: media/rain.mp3, volume: 0.4, fade_out: 1.5}
    shots:
      - id: meet
        prompt: A girl in a {{ coat }} coat holds a fox in a snowy forest
        images:
          - {path: media/girl.jpg, role: first_frame}        # local file → sent as base64 data URI
      - id: walk
        prompt: She walks toward the camera, the fox in her arms
        chain: true                                           # first frame := last frame of the previous shot
      - id: fox
        prompt: Close-up of the fox, 360-degree shot
        images:
          - {from: walk, role: first_frame}                   # last frame of shot "walk"
          - {url: "https://example.com/end.png", role: last_frame}
        duration: 5
        trim: {start: 0.0, end: 4.5}                          # assembly: keep this part of the clip
    """)


def test_the_issue_example_loads_as_written(workdir: Path) -> None:
    (workdir / "media" / "a.jpg").rename(workdir / "media" / "girl.jpg")
    got = jobs(workdir, ISSUE_EXAMPLE)
    meet, walk, fox = got["meet"], got["walk"], got["fox"]
    assert text_of(meet) == "A girl in a red coat holds a fox in a snowy forest"
    assert [(m.request["duration"], m.request["seed"], m.request["watermark"]) for m in (meet, walk, fox)] == [
        (4, 7, False), (4, 7, False), (5, 7, False),
    ]  # fmt: skip
    assert meet.request["return_last_frame"] is True and walk.request["return_last_frame"] is True
    assert "return_last_frame" not in fox.request
    assert images_of(walk) == [("<last frame of shot meet>", "first_frame")]
    assert images_of(fox) == [
        ("<last frame of shot walk>", "first_frame"),
        ("https://example.com/end.png", "last_frame"),
    ]
    assert (walk.depends_on, fox.depends_on) == (("meet",), ("walk",))
    loaded: Loaded = load(workdir / "board.yaml")
    assert loaded.board.output.music is not None and loaded.board.output.music.volume == 0.4
    assert loaded.board.shots[2].trim is not None and loaded.board.shots[2].trim.end == 4.5


def test_a_plain_string_caption_is_short_for_its_text(workdir: Path) -> None:
    text = yaml("""\
        version: 1
        name: t
        defaults:
          caption: 默认
        shots:
          - prompt: a lighthouse at dusk
            caption: 灯塔
          - prompt: waves
          - prompt: gulls
            caption: {text: 海鸥, position: top}
        """)
    got = jobs(workdir, text)
    assert list(got) == ["shot-1", "shot-2", "shot-3"]
    board = load(workdir / "board.yaml").board
    captions = [board.setting(i, "caption") for i in range(3)]
    assert [(c.text, c.position) for c in captions] == [("灯塔", "bottom"), ("默认", "bottom"), ("海鸥", "top")]


def test_name_defaults_to_the_file_stem_and_names_the_output(workdir: Path) -> None:
    path = write(workdir, "version: 1\nshots:\n  - prompt: a lighthouse at dusk\n", name="lighthouse.v2.yaml")
    assert load(path).board.name == "lighthouse.v2"
    batch = load_batch(str(path), [VariableSet({})], service="emulator")
    assert batch.plan.name == "lighthouse.v2"
    assert batch.variants[0].output == workdir / "out" / "lighthouse-v2.mp4"  # slug of the name, as for `name:`

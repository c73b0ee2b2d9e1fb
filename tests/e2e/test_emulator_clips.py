"""The emulator's clips, decoded: sizes per table, frame counts, first/last frames, audio, marks.

Clips are downloaded over HTTP and decoded with the bundled ffmpeg; the crop of docs/protocol.md
§9 used for the comparisons is the test's own (emulator_support.reference_crop), not the
emulator's.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from storyboard.emulator import Emulator

from support.emulator_support import (
    MEDIA,
    PRO,
    PRO15,
    body,
    create,
    data_uri,
    decode,
    fetch_image,
    has_audio,
    probe,
    psnr,
    reference_crop,
    render,
    wait_for,
)  # fmt: skip

STREET = MEDIA / "vacation_2017.jpg"  # 2560x1440
BIRD = MEDIA / "image_0001.jpg"  # 1280x720
LATER = MEDIA / "image_0025.jpg"  # 1280x720
RGBA = MEDIA / "afterimage.png"  # 1200x984 with alpha
LITE_T2V = "doubao-seedance-1-0-lite-t2v-250428"
V20_MINI = "doubao-seedance-2-0-mini-260615"


@pytest.mark.parametrize("model,ratio,size", [
    (PRO, "16:9", (864, 480)),
    (LITE_T2V, "9:16", (480, 864)),
    (PRO, "21:9", (960, 416)),
    (PRO15, "4:3", (752, 560)),
    (V20_MINI, "16:9", (864, 496)),
])  # fmt: skip
def test_pixel_size_follows_the_table(emulator: Emulator, tmp_path: Path, model: str, ratio: str, size: tuple) -> None:
    short = {"frames": 29} if model in (PRO, LITE_T2V) else {"duration": 4}
    data, clip = render(emulator, body(model=model, ratio=ratio, **short), tmp_path)
    frames, decoded_size = decode(clip)
    assert decoded_size == size and data["ratio"] == ratio
    assert len(frames) == (29 if "frames" in short else 97)


def test_duration_gives_24_d_plus_1_frames_at_24_fps(emulator: Emulator, tmp_path: Path) -> None:
    data, clip = render(emulator, body(duration=2), tmp_path)
    frames, _ = decode(clip)
    assert len(frames) == 49 and data["duration"] == 2
    assert "24 fps" in probe(clip)


def test_first_frame_is_the_cropped_image(emulator: Emulator, tmp_path: Path) -> None:
    data, clip = render(emulator, body(images=(("first_frame", data_uri(STREET)),), ratio="4:3", frames=29), tmp_path)
    frames, size = decode(clip)
    assert size == (736, 544)
    expected = reference_crop(Image.open(STREET), "4:3", size)
    assert psnr(frames[0], expected) > 30
    assert psnr(frames[len(frames) // 2], expected) < 30  # it moves, and the prompt shows


def test_adaptive_ratio_picks_the_closest_to_the_first_image(emulator: Emulator, tmp_path: Path) -> None:
    data, clip = render(
        emulator, body(images=(("first_frame", data_uri(RGBA)),), ratio="adaptive", frames=29), tmp_path
    )
    frames, size = decode(clip)
    assert data["ratio"] == "4:3" and size == (736, 544)  # 1200x984 = 1.22: 4:3 is closer than 1:1
    assert psnr(frames[0], reference_crop(Image.open(RGBA), "4:3", size)) > 30


def test_adaptive_ratio_in_the_reference_scenario_follows_the_first_reference(emulator: Emulator) -> None:
    refs = (("reference_image", data_uri(RGBA)), ("reference_image", data_uri(BIRD)))
    record = wait_for(emulator, create(emulator, body(model=V20_MINI, images=refs, ratio="adaptive", duration=4)))
    assert record["response"]["data"]["ratio"] == "4:3"


def test_output_format_mov_on_2_5(emulator: Emulator, tmp_path: Path) -> None:
    images = (("first_frame", data_uri(BIRD)),)
    data, clip = render(emulator, body(model="doubao-seedance-2-5-260628", images=images, duration=4,
                                       output_format="mov"), tmp_path)  # fmt: skip
    assert data["video_url"].endswith(".mov") and data["ratio"] == "16:9"  # adaptive from the 16:9 image
    assert re.search(r"major_brand\s*: qt", probe(clip)) and len(decode(clip)[0]) == 97


def test_last_frame_png_is_the_decoded_last_frame(emulator: Emulator, tmp_path: Path) -> None:
    data, clip = render(emulator, body(frames=29, return_last_frame=True), tmp_path)
    frames, size = decode(clip)
    png = fetch_image(data["last_frame_url"])
    assert png.format == "PNG" and png.size == size
    assert psnr(frames[-1], png.convert("RGB")) > 30


def test_first_and_last_frame_clip_ends_on_the_last_image(emulator: Emulator, tmp_path: Path) -> None:
    images = (("first_frame", data_uri(BIRD)), ("last_frame", data_uri(STREET)))
    data, clip = render(emulator, body(images=images, frames=29), tmp_path)
    frames, size = decode(clip)
    assert psnr(frames[0], reference_crop(Image.open(BIRD), "16:9", size)) > 30
    assert psnr(frames[-1], reference_crop(Image.open(STREET), "16:9", size)) > 30
    assert psnr(frames[0], frames[-1]) < 20


def test_chained_shot_starts_on_the_previous_last_frame(emulator: Emulator, tmp_path: Path) -> None:
    one, _ = render(emulator, body("shot one", images=(("first_frame", data_uri(BIRD)),), frames=29,
                                   return_last_frame=True), tmp_path)  # fmt: skip
    two, clip = render(
        emulator, body("shot two", images=(("first_frame", one["last_frame_url"]),), frames=29), tmp_path
    )
    frames, _ = decode(clip)
    assert psnr(frames[0], fetch_image(one["last_frame_url"]).convert("RGB")) > 30


def test_models_that_strip_return_last_frame_answer_null(emulator: Emulator) -> None:
    record = wait_for(emulator, create(emulator, body(model=V20_MINI, duration=4, return_last_frame=True)))
    assert record["response"]["data"]["last_frame_url"] is None


@pytest.mark.parametrize("model,generate_audio,expected", [
    (PRO15, True, True),
    (PRO15, False, False),
    (PRO, True, False),  # 1.0 models ignore generate_audio
])  # fmt: skip
def test_audio_track_only_with_generate_audio_on_audio_models(
    emulator: Emulator, tmp_path: Path, model: str, generate_audio: bool, expected: bool
) -> None:
    short = {"duration": 4} if model == PRO15 else {"frames": 29}
    _, clip = render(emulator, body(model=model, generate_audio=generate_audio, **short), tmp_path)
    assert has_audio(clip) is expected


def test_watermark_marks_the_bottom_right_only(emulator: Emulator, tmp_path: Path) -> None:
    first = (("first_frame", data_uri(BIRD)),)
    _, plain = render(emulator, body(images=first, frames=29), tmp_path)
    _, marked = render(emulator, body(images=first, frames=29, watermark=True), tmp_path)
    a, b = decode(plain)[0][0], decode(marked)[0][0]
    h, w = a.shape[:2]
    corner = (slice(h * 7 // 8, h), slice(w * 3 // 4, w))
    assert psnr(a[corner], b[corner]) < 25
    assert psnr(a[: h // 2, : w // 2], b[: h // 2, : w // 2]) > 40


def test_pixels_are_deterministic_and_the_prompt_is_drawn(emulator: Emulator, tmp_path: Path) -> None:
    first = (("first_frame", data_uri(BIRD)),)
    a = decode(render(emulator, body("a heron waits", images=first, frames=29, seed=5, camerafixed=True), tmp_path)[1])[
        0
    ]
    b = decode(render(emulator, body("a heron waits", images=first, frames=29, seed=5, camerafixed=True), tmp_path)[1])[
        0
    ]
    c = decode(
        render(emulator, body("a kingfisher dives", images=first, frames=29, seed=5, camerafixed=True), tmp_path)[1]
    )[0]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    h = a[0].shape[0]
    band, top = slice(h * 3 // 4, h * 23 // 25), slice(0, h // 2)
    assert psnr(a[0], c[0]) > 40  # frame 0 is the image, untouched by the prompt
    assert psnr(a[14][band], c[14][band]) < 25  # the middle frames show the prompt ...
    assert psnr(a[14][top], c[14][top]) > 40  # ... in a band at the bottom


def test_chinese_prompts_are_drawn_with_real_glyphs(emulator: Emulator, tmp_path: Path) -> None:
    first = (("first_frame", data_uri(BIRD)),)
    cat = decode(render(emulator, body("小猫对着镜头打哈欠", images=first, frames=29, camerafixed=True), tmp_path)[1])[
        0
    ]
    dog = decode(render(emulator, body("小狗对着镜头打哈欠", images=first, frames=29, camerafixed=True), tmp_path)[1])[
        0
    ]
    h = cat[0].shape[0]
    band = slice(h * 3 // 4, h * 23 // 25)
    assert psnr(cat[14][band], dog[14][band]) < 40  # one character differs: not two identical boxes


def test_fixed_camera_keeps_the_scene_still(emulator: Emulator, tmp_path: Path) -> None:
    moving = decode(render(emulator, body("pan", frames=29), tmp_path)[1])[0]
    fixed = decode(render(emulator, body("pan", frames=29, camerafixed=True), tmp_path)[1])[0]
    top = slice(0, fixed[0].shape[0] // 2)
    assert psnr(fixed[0][top], fixed[-1][top]) > 40
    assert psnr(moving[0][top], moving[-1][top]) < 30


def test_text_to_video_scenes_differ_by_prompt(emulator: Emulator, tmp_path: Path) -> None:
    a = decode(render(emulator, body("a desert at dawn", frames=29), tmp_path)[1])[0][0]
    b = decode(render(emulator, body("a city at night", frames=29), tmp_path)[1])[0][0]
    assert psnr(a, b) < 20

"""The emulator follows Seedance 2.x references (issue 11): thumbnails of reference images,
``extend`` continuing its source, ``edit`` keeping the source's length, reference audio mixed
into the sound, ``mov`` output, the 2.0 video-input token rule, and the limits checked on
fetched reference files.

Clips are fetched over HTTP and decoded with the bundled ffmpeg; geometry and expectations come
from the emulator's documented behaviour (README), re-implemented here. Clips are 480p and 4 s.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from storyboard.emulator import Emulator
from storyboard.seedance import capabilities

from support.emulator_support import MEDIA, data_uri, decode, post, probe, psnr, render, wait_for
from support.reference_media import audio_uri, pcm, tone, tone_level

V20_MINI = "doubao-seedance-2-0-mini-260615"
V25 = "doubao-seedance-2-5-260628"
PRO = "doubao-seedance-1-0-pro-250528"
STREET = MEDIA / "vacation_2017.jpg"  # 2560x1440
BIRD = MEDIA / "image_0001.jpg"  # 1280x720


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """One emulator for the module: the source clips are made once."""
    emulator = Emulator(latency=0, strict=True, workdir=tmp_path_factory.mktemp("emulator")).start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def source(emu: Emulator, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[np.ndarray]]:
    """A 4 s 2.5 clip (97 frames, 864x496): its URL on the emulator and its decoded frames."""
    tmp = tmp_path_factory.mktemp("source")
    data, clip = render(emu, item_body(model=V25, duration=4, seed=7), tmp)
    frames, size = decode(clip)
    assert (len(frames), size) == (97, (864, 496))
    return data["video_url"], frames


def item_body(*items: dict[str, Any], model: str = V25, **fields: Any) -> dict[str, Any]:
    content = [{"type": "text", "text": "the harbour at dusk, waves rolling in"}, *items]
    return {"model": model, "content": content, "resolution": "480p", **fields}


def video(url: str) -> dict[str, Any]:
    return {"type": "video_url", "role": "reference_video", "video_url": {"url": url}}


def audio(url: str) -> dict[str, Any]:
    return {"type": "audio_url", "role": "reference_audio", "audio_url": {"url": url}}


def image(url: str) -> dict[str, Any]:
    return {"type": "image_url", "role": "reference_image", "image_url": {"url": url}}


def mad(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two frames, in 8-bit levels."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def seconds(clip: Path) -> float:
    found = re.search(r"Duration: (\d+):(\d\d):(\d\d\.\d+)", probe(clip))
    assert found, probe(clip)
    h, m, s = found.groups()
    return int(h) * 3600 + int(m) * 60 + float(s)


# -- reference images and videos shown ---------------------------------------------------------


def test_reference_images_and_video_show_as_thumbnails_and_20_bills_the_input_video(
    emu: Emulator, source: tuple[str, list[np.ndarray]], tmp_path: Path
) -> None:
    url, src = source
    items = (image(data_uri(STREET)), image(data_uri(BIRD)), video(url))
    data, clip = render(emu, item_body(*items, model=V20_MINI, duration=4, ratio="16:9"), tmp_path)
    frames, (w, h) = decode(clip)
    assert (w, h, len(frames)) == (864, 496, 97)
    th, m = max(48, h // 6), max(4, h // 60)  # the documented strip: top-left, m apart
    x = m
    for expected in (Image.open(STREET), Image.open(BIRD), Image.fromarray(src[0])):
        tw = round(th * expected.width / expected.height)
        thumb = expected.convert("RGB").resize((tw, th), Image.Resampling.LANCZOS)
        for frame in (frames[0], frames[60]):
            assert psnr(frame[m : m + th, x : x + tw], thumb) > 28
        x += tw + m
    # §11.1: the 2.0 family bills (input video + output seconds) x W x H x 24 / 1024
    source_clip = tmp_path / "source.mp4"
    source_clip.write_bytes(Path(emu.files_dir / url.rsplit("/", 1)[1]).read_bytes())
    tokens = int((seconds(source_clip) + 4) * w * h * 24 / 1024)
    assert data["usage"] == {"completion_tokens": tokens, "total_tokens": tokens}


# -- extend and edit ---------------------------------------------------------------------------


@pytest.mark.parametrize("include", [False, True], ids=["continuation-only", "source-included"])
def test_extend_starts_where_its_source_ended(
    emu: Emulator, source: tuple[str, list[np.ndarray]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, include: bool
) -> None:
    caps = capabilities.MODELS[V25]
    assert caps.references is not None
    refs = dataclasses.replace(caps.references, extend_includes_source=include)
    monkeypatch.setitem(capabilities.MODELS, V25, dataclasses.replace(caps, references=refs))
    url, src = source
    body = item_body(video(url), duration=4, ratio="adaptive", omni_reference_task_type="extend")
    data, clip = render(emu, body, tmp_path)
    frames, (w, h) = decode(clip)
    assert (data["duration"], data["ratio"], w, h) == (4, "16:9", 864, 496)
    if include:  # the source's 97 frames, then the continuation's 4 s after its frame 0
        assert len(frames) == 97 + 96
        assert all(psnr(frames[i], src[i]) > 35 for i in (0, 48, 96))
        continuation = frames[96:]
    else:  # the continuation alone: a normal 4 s clip
        assert len(frames) == 97
        continuation = frames
    assert psnr(continuation[0], src[-1]) > 35  # it starts on the source's last frame
    # and the motion carries on without a jump: above the prompt band (which fades in), the
    # first step is no bigger than the source's last one, and the continuation then moves on
    scene = slice(h // 4, h * 3 // 4)
    assert mad(continuation[0][scene], continuation[1][scene]) <= mad(src[-2][scene], src[-1][scene]) + 0.5
    assert psnr(continuation[-1], continuation[0]) < 30


def test_edit_keeps_the_source_length_and_shows_its_content(
    emu: Emulator, source: tuple[str, list[np.ndarray]], tmp_path: Path
) -> None:
    url, src = source
    body = item_body(video(url), duration=-1, ratio="adaptive", omni_reference_task_type="edit")
    data, clip = render(emu, body, tmp_path)
    frames, (w, h) = decode(clip)
    assert (data["duration"], len(frames)) == (4, len(src))
    middle = slice(h // 4, h * 3 // 5)  # away from the badge (top right) and the prompt band (bottom)
    assert all(psnr(frames[i][middle], src[i][middle]) > 32 for i in (0, 30, 96))
    size, m = max(12, h // 24), max(4, h // 60)  # the documented badge: red, top right, m from the edges
    badge = frames[30][m + 2 : m + int(1.6 * size) - 2, w - m - size // 2 + 1 : w - m - 1].astype(int)
    assert (badge[..., 0] - badge[..., 2]).min() > 80


# -- sound and container -----------------------------------------------------------------------


def test_mov_output_with_reference_audio_mixed_in(emu: Emulator, tmp_path: Path) -> None:
    wav = audio_uri(tone(tmp_path / "ping.wav", 3, freq=1000))
    body = item_body(audio(wav), duration=4, output_format="mov", generate_audio=True)
    data, clip = render(emu, body, tmp_path)
    assert data["video_url"].endswith(".mov") and clip.suffix == ".mov"
    description = probe(clip)
    assert "major_brand     : qt" in description
    assert re.search(r"Video: h264 .*yuv444p", description) and re.search(r"Audio: pcm_s16le", description)
    frames, size = decode(clip)
    assert (len(frames), size) == (97, (864, 496))
    sound = pcm(clip)
    assert len(sound) == pytest.approx(97 / 24 * 16000, abs=800)
    assert tone_level(sound[: 3 * 16000], 1000) > 0.2  # the reference tone is in the first 3 s
    assert tone_level(sound[-16000:], 1000) < 0.01  # and only there


def test_reference_audio_without_generated_audio_gives_a_silent_clip(emu: Emulator, tmp_path: Path) -> None:
    wav = audio_uri(tone(tmp_path / "ping.wav", 3, freq=1000))
    _, clip = render(emu, item_body(audio(wav), duration=4), tmp_path)
    assert "Audio:" not in probe(clip) and clip.suffix == ".mp4"


# -- fetched reference files ---------------------------------------------------------------------


def failure(emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    answer = post(emu, "/seedance/videos", {"async": True, **body})
    assert answer.status_code == 200, answer.text
    response = wait_for(emu, answer.json()["task_id"])["response"]
    assert response["success"] is False
    return dict(response["error"])


def test_fetched_reference_files_are_checked_when_the_task_runs(
    emu: Emulator, source: tuple[str, list[np.ndarray]]
) -> None:
    url, _ = source
    where = "content[1].video_url.url"
    remote = failure(emu, item_body(video("https://cdn.example.test/clip.mp4")))
    assert remote == {"code": "api_error", "message": "fetch failed"}
    short = post(emu, "/seedance/videos", item_body(model=PRO, frames=29)).json()["data"]["video_url"]
    assert failure(emu, item_body(video(short))) == {
        "code": "InvalidParameter", "message": f"{where}: a reference video must last 2 to 15 s (got 1.21 s)."}  # fmt: skip
    wide = post(emu, "/seedance/videos", item_body(model=PRO, frames=49, ratio="21:9")).json()["data"]["video_url"]
    assert failure(emu, item_body(video(wide)))["message"] == (
        f"{where}: a reference video must have 409600 to 2086876 pixels in all (got 960x416 = 399360).")  # fmt: skip
    long = post(emu, "/seedance/videos", item_body(duration=7)).json()["data"]["video_url"]
    assert failure(emu, item_body(video(long), video(url), video(url), model=V20_MINI))["message"] == (
        "the reference videos may last 15 s in total (got 15.12 s).")  # fmt: skip
    assert failure(emu, item_body(video(url), audio(url)))["message"] == (
        "content[2].audio_url.url: not decodable as wav or mp3 audio.")  # fmt: skip

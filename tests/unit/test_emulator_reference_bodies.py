"""The emulator's validation of 2.x reference bodies (issue 11): each rule, a body that passes
and a body that fails with its exact 400 message.

Pure: ``validate_create`` on bodies; audio data URIs are real wav/mp3 files made by ffmpeg. The
limits come from the capability table; a few tests shrink a table value to prove the emulator
reads it rather than a copy.
"""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from storyboard.emulator.usage import completion_tokens
from storyboard.emulator.validate import BadRequest, Job, validate_create
from storyboard.seedance import capabilities
from storyboard.seedance.capabilities import MODELS

from support.reference_media import audio_uri, tone

V20 = "doubao-seedance-2-0-260128"
V20_MINI = "doubao-seedance-2-0-mini-260615"
V25 = "doubao-seedance-2-5-260628"
PRO15 = "doubao-seedance-1-5-pro-251215"
VIDEO = "https://cdn.example.test/source.mp4"
AUDIO = "https://cdn.example.test/voice.mp3"
IMAGE = "https://cdn.example.test/face.png"


def video(url: str = VIDEO, **extra: Any) -> dict[str, Any]:
    return {"type": "video_url", "role": "reference_video", "video_url": {"url": url}, **extra}


def audio(url: str = AUDIO, **extra: Any) -> dict[str, Any]:
    return {"type": "audio_url", "role": "reference_audio", "audio_url": {"url": url}, **extra}


def image(url: str = IMAGE) -> dict[str, Any]:
    return {"type": "image_url", "role": "reference_image", "image_url": {"url": url}}


def body(*items: dict[str, Any], model: str = V20, **fields: Any) -> dict[str, Any]:
    return {"model": model, "content": [{"type": "text", "text": "the same street at dusk"}, *items],
            "resolution": "480p", **fields}  # fmt: skip


@pytest.fixture(scope="module")
def sounds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("sounds")
    return {"wav3": tone(d / "a.wav", 3), "mp3": tone(d / "b.mp3", 3), "wav1": tone(d / "c.wav", 1),
            "wav16": tone(d / "d.wav", 16), "wav8": tone(d / "e.wav", 8)}  # fmt: skip


def refuse(payload: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        validate_create(payload, strict=True)
    assert str(caught.value) == message


def accept(payload: dict[str, Any]) -> Job:
    return validate_create(payload, strict=True)


def shrink(monkeypatch: pytest.MonkeyPatch, model: str, **limits: Any) -> None:
    caps = MODELS[model]
    assert caps.references is not None
    refs = dataclasses.replace(caps.references, **limits)
    monkeypatch.setitem(capabilities.MODELS, model, dataclasses.replace(caps, references=refs))


# -- item shapes and roles -------------------------------------------------------------------------


def test_video_and_audio_items_are_kept_in_content_order() -> None:
    job = accept(body(video(), image(), audio()))
    assert [(m.role, m.url) for m in job.media] == [("reference_video", VIDEO), ("reference_audio", AUDIO)]
    assert [i.role for i in job.images] == ["reference_image"]


@pytest.mark.parametrize("item,message", [
    ({"type": "video_url", "video_url": {"url": VIDEO}}, "content[1]: a video_url item needs 'role'."),
    ({"type": "audio_url", "audio_url": {"url": AUDIO}}, "content[1]: a audio_url item needs 'role'."),
    (video(role="reference_image"), "content[1].role must be one of reference_video (got 'reference_image')."),
    (audio(role="reference_video"), "content[1].role must be one of reference_audio (got 'reference_video')."),
    (video(name="x"), "content[1]: unknown field 'name' for a video_url item."),
    ({"type": "video_url", "role": "reference_video", "video_url": VIDEO},
     'content[1].video_url must be an object like {"url": "..."}, not a string.'),
    ({"type": "audio_url", "role": "reference_audio", "audio_url": {"url": AUDIO, "format": "mp3"}},
     'content[1].audio_url must be an object with exactly one string field "url".'),
    (video("ftp://host/a.mp4"), "content[1].video_url.url must be an http(s) URL or a base64 data URI."),
    (video("data:video/mp4;base64,AAAA"),
     "content[1].video_url.url: a reference video cannot be a data URI; give its http(s) URL."),
])  # fmt: skip
def test_item_shapes(item: dict[str, Any], message: str) -> None:
    refuse(body(image(), item), message.replace("content[1]", "content[2]"))


# -- counts, mixing, audio alone -----------------------------------------------------------------


@pytest.mark.parametrize("model,videos,audios", [(V20, 3, 3), (V20_MINI, 3, 3), (V25, 10, 10)])
def test_counts_at_the_table_limit_pass_and_one_more_fails(model: str, videos: int, audios: int) -> None:
    accept(body(*[video()] * videos, *[audio()] * audios, model=model))
    refuse(body(*[video()] * (videos + 1), model=model),
           f"{model} accepts at most {videos} reference_video items (got {videos + 1}).")  # fmt: skip
    refuse(body(video(), *[audio()] * (audios + 1), model=model),
           f"{model} accepts at most {audios} reference_audio items (got {audios + 1}).")  # fmt: skip


def test_all_fifty_items_pass_on_25_and_the_item_limit_is_read_from_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    accept(body(*[image()] * 30, *[video()] * 10, *[audio()] * 10, model=V25))
    shrink(monkeypatch, V25, max_items=12)
    accept(body(*[image()] * 10, video(), audio(), model=V25))
    refuse(body(*[image()] * 11, video(), audio(), model=V25), f"{V25} accepts at most 12 media items (got 13).")


@pytest.mark.parametrize("item,role", [(video(), "reference_video"), (audio(), "reference_audio")])
def test_models_before_2_refuse_video_and_audio(item: dict[str, Any], role: str) -> None:
    refuse(body(item, model=PRO15), f"{PRO15} does not accept {role}.")


def test_first_frame_cannot_be_mixed_with_reference_video_or_audio() -> None:
    first = {"type": "image_url", "role": "first_frame", "image_url": {"url": IMAGE}}
    message = "first_frame/last_frame images cannot be mixed with reference_image, reference_video or reference_audio."
    refuse(body(first, video()), message)
    refuse(body(first, audio()), message)


def test_audio_alone_is_refused_on_20_and_allowed_on_25() -> None:
    refuse(body(audio()), "reference_audio cannot be the only reference: add an image or a video.")
    accept(body(audio(), video()))
    accept(body(audio(), image()))
    accept(body(audio(), model=V25))


# -- inline audio ----------------------------------------------------------------------------------


def test_inline_wav_and_mp3_are_decoded_and_measured(sounds: dict[str, Path]) -> None:
    job = accept(body(video(), audio(audio_uri(sounds["wav3"])), audio(audio_uri(sounds["mp3"]))))
    assert [(m.fmt, round(m.info.seconds, 1)) for m in job.media if m.info] == [("wav", 3.0), ("mp3", 3.0)]


def test_inline_audio_refusals(sounds: dict[str, Path]) -> None:
    where = "content[2].audio_url.url"
    wav = audio_uri(sounds["wav3"])
    cases = [
        (wav.replace("audio/wav", "audio/WAV"), f"{where}: the audio format in a data URI must be lowercase ('WAV')."),
        (wav.replace("audio/wav", "audio/ogg"), f"{where}: audio format 'ogg' is not supported (wav, mp3)."),
        ("data:audio/wav,AAAA", f"{where} must look like data:audio/<format>;base64,<data>."),
        ("data:audio/wav;base64,A", f"{where}: the data URI is not valid base64."),
        (audio_uri(sounds["mp3"], "wav"), f"{where}: not decodable as wav audio."),
        ("data:audio/mp3;base64," + base64.b64encode(b"not audio at all").decode(),
         f"{where}: not decodable as mp3 audio."),
        (audio_uri(sounds["wav1"]), f"{where}: a reference audio clip must last 2 to 15 s (got 1.00 s)."),
        (audio_uri(sounds["wav16"]), f"{where}: a reference audio clip must last 2 to 15 s (got 16.00 s)."),
        ("data:audio/wav;base64," + base64.b64encode(bytes(15 * 1024 * 1024 + 1)).decode(),
         f"{where}: a reference audio clip must be at most 15 MB."),
    ]  # fmt: skip
    for uri, message in cases:
        refuse(body(video(), audio(uri)), message)


def test_inline_audio_total_seconds_follow_the_table(sounds: dict[str, Path]) -> None:
    eight = audio(audio_uri(sounds["wav8"]))
    accept(body(video(), eight))
    refuse(body(video(), eight, eight), "the reference audio clips may last 15 s in total (got 16.00 s).")
    accept(body(eight, eight, model=V25))  # 2.5: no documented total


# -- omni_reference_task_type, output_format, tools, priority, safety_identifier -----------------


def test_task_types_on_25() -> None:
    assert accept(body(video(), model=V25, omni_reference_task_type="extend", ratio="adaptive")).task_type == "extend"
    edit = accept(body(video(), model=V25, omni_reference_task_type="edit", ratio="adaptive", duration=-1))
    assert edit.task_type == "edit"
    assert accept(body(image(), model=V25, omni_reference_task_type="reference")).task_type == "reference"
    assert accept(body(image(), model=V25)).task_type is None


@pytest.mark.parametrize("fields,items,message", [
    ({"model": V20, "omni_reference_task_type": "auto"}, [video()],
     f"omni_reference_task_type is only supported by {V25}."),
    ({"model": V25, "omni_reference_task_type": "remix"}, [video()],
     "omni_reference_task_type must be one of auto, reference, edit, extend (got 'remix')."),
    ({"model": V25, "omni_reference_task_type": "extend", "ratio": "adaptive"}, [image()],
     "omni_reference_task_type extend needs a reference_video item."),
    ({"model": V25, "omni_reference_task_type": "extend"}, [video()],
     "omni_reference_task_type extend needs ratio adaptive (got '16:9')."),
    ({"model": V25, "omni_reference_task_type": "edit", "ratio": "9:16", "duration": -1}, [video()],
     "omni_reference_task_type edit needs ratio adaptive (got '9:16')."),
    ({"model": V25, "omni_reference_task_type": "edit", "ratio": "adaptive", "duration": 5}, [video()],
     "omni_reference_task_type edit needs duration -1."),
    ({"model": V25, "omni_reference_task_type": "edit", "ratio": "adaptive"}, [video()],
     "omni_reference_task_type edit needs duration -1."),
])  # fmt: skip
def test_task_type_refusals(fields: dict[str, Any], items: list[dict[str, Any]], message: str) -> None:
    refuse(body(*items, **fields), message)


def test_output_format() -> None:
    assert accept(body(model=V25, output_format="mov")).output_format == "mov"
    assert accept(body(model=V25, output_format="mp4")).output_format == "mp4"
    assert accept(body(model=V25)).output_format == "mp4"
    refuse(body(model=V20, output_format="mov"), f"output_format is only supported by {V25}.")
    refuse(body(model=V25, output_format="avi"), "output_format must be one of mp4, mov (got 'avi').")


def test_web_search_tool() -> None:
    tool = {"type": "web_search", "limit": 50, "max_keyword": 1, "sources": ["toutiao", "search_engine"]}
    accept(body(model=V20, tools=[tool]))
    accept(body(model=V25, tools=[{"type": "web_search"}]))
    accept(body(model=V20_MINI, tools=[]))
    cases = [
        (V20_MINI, [tool], f"tools (web_search) is not supported by {V20_MINI}."),
        (PRO15, [tool], f"tools (web_search) is not supported by {PRO15}."),
        (V20, [tool, tool], "tools must be an array with at most one item."),
        (V20, {"type": "web_search"}, "tools must be an array with at most one item."),
        (V20, [{"type": "code"}], 'tools[0] must be an object with "type": "web_search".'),
        (V20, [{**tool, "depth": 2}], "tools[0]: unknown field 'depth'."),
        (V20, [{**tool, "limit": 0}], "tools[0].limit must be between 1 and 50 (got 0)."),
        (V20, [{**tool, "limit": 51}], "tools[0].limit must be between 1 and 50 (got 51)."),
        (V20, [{**tool, "max_keyword": "3"}], "tools[0].max_keyword must be an integer."),
        (V20, [{**tool, "sources": ["weibo"]}],
         "tools[0].sources must be an array of toutiao, douyin, moji, search_engine."),
        (V20, [{**tool, "sources": "douyin"}],
         "tools[0].sources must be an array of toutiao, douyin, moji, search_engine."),
    ]  # fmt: skip
    for model, tools, message in cases:
        refuse(body(model=model, tools=tools), message)


def test_priority_and_safety_identifier() -> None:
    accept(body(priority=0, safety_identifier=""))
    accept(body(priority=9, safety_identifier="u" * 64))
    refuse(body(priority=10), "priority must be between 0 and 9 (got 10).")
    refuse(body(priority=-1), "priority must be between 0 and 9 (got -1).")
    refuse(body(priority=True), "priority must be an integer.")
    refuse(body(safety_identifier="u" * 65), "safety_identifier is longer than 64 characters (65).")
    refuse(body(safety_identifier=7), "safety_identifier must be a string.")


# -- usage -------------------------------------------------------------------------------------------


def test_tokens_bill_the_input_video_on_20_only_counting_at_least_two_seconds() -> None:
    assert completion_tokens(V20, 864, 496, 97, 4, None) == 864 * 496 * 97 // 1024  # §11.1: W*H*frames/1024
    assert completion_tokens(V20, 864, 496, 97, 4, 6.5) == int(10.5 * 864 * 496 * 24 / 1024)
    assert completion_tokens(V20_MINI, 864, 496, 97, 4, 1.0) == int(6 * 864 * 496 * 24 / 1024)  # the 2 s floor
    assert completion_tokens(V25, 864, 496, 97, 4, 6.5) == 864 * 496 * 97 // 1024  # §11.1 names the 2.0 family

"""Validation of a ``POST /seedance/videos`` body, the way the documented API does it.

Owns: the accepted top-level fields (docs/protocol.md §1.2; ``service_tier`` is ignored, or
refused when strict), the ``content[]`` item schema
(§1.3: discriminated by ``type``, no extra keys, ``image_url`` an object), data-URI image
checks (§9: decodes, sides, aspect), the per-model duration/frames/resolution/ratio rules
(§7, read from ``storyboard.seedance.capabilities``), the weakly validated inline ``--flags`` of §10,
and the normalised ``Job`` the task runner works from. Video and audio items, the scenario and
count rules and the 2.x-only fields are ``references.py``'s; scalar checks are ``fields.py``'s.
Every problem is a ``BadRequest`` whose message is what a 400 ``bad_request`` answers.

Must not import anything from the package except ``storyboard.seedance.capabilities`` (data): the
emulator is written from docs/protocol.md, never from the client or the loader.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from storyboard.seedance.capabilities import ALL_RATIOS, MODELS, ModelCaps, frames_valid

from .fields import BadRequest, check_bool, check_int, check_str, data_uri
from .references import MediaInput, check_roles, check_task_type, inline_totals, media_input, task_options

__all__ = ["BadRequest", "ImageInput", "Job", "MediaInput", "validate_create"]

_TOP_LEVEL = frozenset({
    "model", "content", "resolution", "ratio", "duration", "frames", "seed", "camerafixed",
    "watermark", "generate_audio", "return_last_frame", "execution_expires_after",
    "callback_url", "async", "omni_reference_task_type", "output_format", "tools", "priority",
    "safety_identifier",
})  # fmt: skip
_IGNORED = frozenset({"service_tier"})  # §1.2: withdrawn, still in old documents; the service ignores it
_ITEM_KEYS = {
    "text": ({"type", "text"}, {"type", "text"}),
    "image_url": ({"type", "image_url", "role"}, {"type", "image_url"}),
    "audio_url": ({"type", "audio_url", "role"}, {"type", "audio_url", "role"}),
    "video_url": ({"type", "video_url", "role"}, {"type", "video_url", "role"}),
}  # type -> (allowed keys, required keys)
_ROLES = {
    "image_url": ("first_frame", "last_frame", "reference_image"),
    "audio_url": ("reference_audio",),
    "video_url": ("reference_video",),
}
_IMAGE_FORMATS = ("jpeg", "jpg", "png", "webp", "bmp", "tiff", "gif")
_HEIF_FORMATS = ("heic", "heif")  # §9: 1.5 pro and 2.x only
_MAX_IMAGE_BYTES = 30 * 1024 * 1024
_TEXT_MAX = 1000
_INLINE = re.compile(r"--(rs|resolution|rt|ratio|dur|duration|frames|fps|framespersecond|seed|cf"
                     r"|camerafixed|wm|watermark)\s+(\S+)")  # fmt: skip
_INLINE_FIELD = {"rs": "resolution", "rt": "ratio", "dur": "duration", "cf": "camerafixed",
                 "wm": "watermark", "fps": "framespersecond"}  # fmt: skip


@dataclass(frozen=True)
class ImageInput:
    """One image of the request: decoded now (data URI) or to be fetched (``image`` None)."""

    role: str
    url: str
    image: Image.Image | None


@dataclass(frozen=True)
class Job:
    """A validated create request, with defaults and inline flags resolved."""

    model: str
    prompt: str
    images: tuple[ImageInput, ...]
    media: tuple[MediaInput, ...]  # reference videos and audio clips, in content order
    resolution: str
    ratio: str  # may still be "adaptive": resolved once the first image is at hand
    duration: int | None  # seconds; None when ``frames`` was given
    frames: int
    seed: int
    camerafixed: bool
    watermark: bool
    generate_audio: bool  # requested *and* honoured by the model
    return_last_frame: bool  # requested *and* not stripped for this model
    output_format: str
    task_type: str | None  # omni_reference_task_type (2.5), None when not given
    callback_url: str | None
    is_async: bool

    def image(self, role: str) -> ImageInput | None:
        return next((i for i in self.images if i.role == role), None)


def _decode_image(uri: str, where: str, caps: ModelCaps) -> Image.Image:
    _, raw = data_uri(uri, "image", _IMAGE_FORMATS + (_HEIF_FORMATS if caps.family != "1.0" else ()), where)
    if len(raw) > _MAX_IMAGE_BYTES:
        raise BadRequest(f"{where}: the image is larger than 30 MB.")
    try:
        with Image.open(io.BytesIO(raw)) as img:
            w, h = img.size
            if not (300 <= w <= 6000 and 300 <= h <= 6000):
                raise BadRequest(
                    f"{where}: the image must be at least 300x300 and at most 6000x6000 pixels (got {w}x{h})."
                )
            if not 0.4 < w / h < 2.5:
                raise BadRequest(
                    f"{where}: the image aspect ratio (width/height) must be between 0.4 and 2.5 (got {w}x{h})."
                )
            img.load()
            return ImageOps.exif_transpose(img).convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise BadRequest(f"{where}: the data URI does not decode to an image.") from None


def _media(item: dict[str, Any], kind: str, where: str, caps: ModelCaps) -> ImageInput | MediaInput:
    obj = item[kind]
    if isinstance(obj, str):
        raise BadRequest(f'{where}.{kind} must be an object like {{"url": "..."}}, not a string.')
    if not isinstance(obj, dict) or set(obj) != {"url"} or not isinstance(obj["url"], str):
        raise BadRequest(f'{where}.{kind} must be an object with exactly one string field "url".')
    url = obj["url"]
    role = item.get("role", "first_frame" if kind == "image_url" else None)
    if role not in _ROLES[kind]:
        raise BadRequest(f"{where}.role must be one of {', '.join(_ROLES[kind])} (got {role!r}).")
    if kind != "image_url":
        return media_input(url, kind, role, where, caps)
    if url.startswith("data:"):
        return ImageInput(role, url, _decode_image(url, f"{where}.image_url.url", caps))
    if not url.startswith(("http://", "https://")):
        raise BadRequest(f"{where}.{kind}.url must be an http(s) URL or a base64 data URI.")
    return ImageInput(role, url, None)


def _parse_content(content: Any, caps: ModelCaps) -> tuple[list[str], list[ImageInput | MediaInput]]:
    if not isinstance(content, list) or not content:
        raise BadRequest("content must be a non-empty array.")
    texts: list[str] = []
    media: list[ImageInput | MediaInput] = []
    for i, item in enumerate(content):
        where = f"content[{i}]"
        if not isinstance(item, dict):
            raise BadRequest(f"{where} must be an object.")
        kind = item.get("type")
        if kind not in _ITEM_KEYS:
            raise BadRequest(f"{where}.type must be one of {', '.join(_ITEM_KEYS)} (got {kind!r}).")
        allowed, required = _ITEM_KEYS[kind]
        extra = sorted(set(item) - allowed)
        if extra:
            raise BadRequest(f"{where}: unknown field {extra[0]!r} for a {kind} item.")
        missing = sorted(required - set(item))
        if missing:
            raise BadRequest(f"{where}: a {kind} item needs {missing[0]!r}.")
        if kind == "text":
            text = item["text"]
            if not isinstance(text, str):
                raise BadRequest(f"{where}.text must be a string.")
            if len(text) > _TEXT_MAX:
                raise BadRequest(f"{where}.text is longer than {_TEXT_MAX} characters ({len(text)}).")
            texts.append(text)
        else:
            media.append(_media(item, kind, where, caps))
    return texts, media


def _inline_flags(texts: list[str]) -> tuple[str, dict[str, str]]:
    """Split §10 ``--flag value`` pairs out of the prompt (weak validation: bad ones ignored)."""
    prompt = " ".join(texts)
    flags = {_INLINE_FIELD.get(k, k): v for k, v in _INLINE.findall(prompt)}
    return " ".join(_INLINE.sub(" ", prompt).split()), flags


def _weak(flags: dict[str, str], body: dict[str, Any], name: str, parse: type, ok: Any) -> Any:
    """An inline flag's value when the body lacks the field and the value is valid."""
    if body.get(name) is not None or name not in flags:
        return body.get(name)
    raw = flags[name]
    try:
        value = {"true": True, "false": False}[raw.lower()] if parse is bool else parse(raw)
    except (KeyError, ValueError):
        return None
    return value if ok(value) else None


def validate_create(body: Any, *, strict: bool = False) -> Job:
    """The normalised ``Job`` of a create body, or ``BadRequest`` (``strict``: refuse ``_IGNORED``)."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object.")
    unknown = sorted(set(body) - _TOP_LEVEL - (frozenset() if strict else _IGNORED))
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}.")
    for name in ("model", "content"):
        if name not in body:
            raise BadRequest(f"{name} is required.")
    model = body["model"]
    if not isinstance(model, str) or model not in MODELS:
        raise BadRequest("model is invalid.")
    caps = MODELS[model]
    texts, media = _parse_content(body["content"], caps)
    roles = [m.role for m in media]
    reference = check_roles(roles, caps)
    references = tuple(m for m in media if isinstance(m, MediaInput))
    inline_totals(references, caps)
    prompt, flags = _inline_flags(texts)

    resolution = check_str(body, "resolution", ("480p", "720p", "1080p", "4k"))
    ratio = check_str(body, "ratio", (*ALL_RATIOS, "adaptive"))
    duration = check_int(body, "duration", -1, 30)
    frames = check_int(body, "frames", 29, 289)
    seed = check_int(body, "seed", -1, 4294967295)
    check_int(body, "execution_expires_after", 3600, 259200)
    check_int(body, "priority", 0, 9)
    bools = {n: check_bool(body, n) for n in ("camerafixed", "watermark", "generate_audio",
                                                "return_last_frame", "async")}  # fmt: skip
    callback_url = check_str(body, "callback_url")
    if callback_url is not None and not callback_url.startswith(("http://", "https://")):
        raise BadRequest("callback_url must be an http(s) URL.")
    identifier = check_str(body, "safety_identifier")
    if identifier is not None and len(identifier) > 64:
        raise BadRequest(f"safety_identifier is longer than 64 characters ({len(identifier)}).")
    task_type, output_format = task_options(body, caps)

    resolution = resolution or _weak(flags, body, "resolution", str, lambda v: v in caps.resolutions)
    resolution = resolution or caps.default_resolution
    allowed_res = caps.reference_resolutions if reference else caps.resolutions
    if resolution not in allowed_res:
        scenario = " in the reference-image scenario" if reference else ""
        raise BadRequest(f"{model} does not support resolution {resolution}{scenario} "
                         f"({', '.join(allowed_res)}).")  # fmt: skip

    has_first = any(m.role == "first_frame" for m in media)
    explicit_ratio = ratio or _weak(flags, body, "ratio", str, lambda v: v in (*ALL_RATIOS, "adaptive"))
    if caps.family == "2.5" and has_first and explicit_ratio not in (None, "adaptive"):
        raise BadRequest("For first-frame or first-last-frame generation, the output ratio "
                         "follows the first-frame image: use ratio adaptive.")  # fmt: skip
    ratio = explicit_ratio or ("adaptive" if caps.family == "2.5" and has_first else "16:9")
    if ratio == "adaptive" and not (caps.adaptive_text_to_video or has_first):
        raise BadRequest(f"ratio adaptive needs a first_frame image on {model}.")

    check_task_type(task_type, roles, ratio, duration)

    if frames is None:
        frames = _weak(flags, body, "frames", int, frames_valid)
    if frames is not None:
        if not caps.frames:
            raise BadRequest(f"{model} does not take frames; use duration.")
        if not frames_valid(frames):
            raise BadRequest(f"frames must be 25+4n between 29 and 289 (got {frames}).")
        duration = None  # frames win over duration (SDK-SPEC)
    else:
        duration = (
            duration if duration is not None else _weak(flags, body, "duration", int, lambda v: _duration_ok(v, caps))
        )
        duration = 5 if duration is None else duration
        if not _duration_ok(duration, caps):
            auto = " or -1" if caps.auto_duration else ""
            raise BadRequest(f"duration must be between {caps.duration_min} and "
                             f"{caps.duration_max}{auto} for {model} (got {duration}).")  # fmt: skip
        duration = 5 if duration == -1 else duration  # "automatic": the emulator picks 5 s
        frames = 24 * duration + 1

    def flag(name: str) -> bool:
        value = bools.get(name)
        return bool(value if value is not None else _weak(flags, body, name, bool, lambda v: True))

    if seed is None:
        seed = _weak(flags, body, "seed", int, lambda v: -1 <= v <= 4294967295)
    return Job(
        model=model,
        prompt=prompt,
        images=tuple(m for m in media if isinstance(m, ImageInput)),
        media=references,
        resolution=resolution,
        ratio=ratio,
        duration=duration,
        frames=frames,
        seed=-1 if seed is None else seed,
        camerafixed=flag("camerafixed"),
        watermark=flag("watermark"),
        generate_audio=bool(bools["generate_audio"]) and caps.audio,
        return_last_frame=bool(bools["return_last_frame"]) and caps.returns_last_frame,
        output_format=output_format or "mp4",
        task_type=task_type,
        callback_url=callback_url,
        is_async=bool(bools["async"]) or callback_url is not None,
    )


def _duration_ok(duration: int, caps: ModelCaps) -> bool:
    if duration == -1:
        return caps.auto_duration
    return caps.duration_min <= duration <= caps.duration_max

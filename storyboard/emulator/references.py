"""Multimodal references of the 2.x models: the ``video_url``/``audio_url`` items and the fields
that go with them, checked the way the documented API does it.

Owns: the reference media item (``MediaInput``: an inline audio data URI decoded and checked at
create time, or a URL resolved when the task runs), the scenario and count rules of
docs/protocol.md §1.3/§7 (first/last frame vs references, images/videos/audio/items per model,
audio alone), the 2.5-only fields ``omni_reference_task_type`` and ``output_format`` (§1.2, §7),
``tools`` (web search, §1.2), the per-file limits of §9 (formats, seconds each and in total,
bytes, pixels, sides, aspect, fps) and the run-time resolution of URLs (only the emulator's own
files; any other URL fails like the service's "fetch failed"). Every number comes from
``storyboard.seedance.capabilities`` (``ModelCaps.references``), except web search's, which the
table does not hold. A broken rule is a ``BadRequest`` (400 ``bad_request`` at create time,
``InvalidParameter`` when found on a fetched file).

Must not import anything from the package except ``storyboard.seedance.capabilities`` (data).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storyboard.seedance.capabilities import MODELS, ModelCaps, References

from .fields import BadRequest, check_int, check_str, data_uri
from .media import MP4_FAMILY, MediaError, MediaInfo, probe

__all__ = [
    "FetchFailed",
    "MediaInput",
    "Resolved",
    "check_roles",
    "check_task_type",
    "check_totals",
    "inline_totals",
    "media_input",
    "resolve",
    "task_options",
]

_SEARCH_SOURCES = ("toutiao", "douyin", "moji", "search_engine")  # §1.2 (DOCS-OAS)
_SEARCH_RANGE = (1, 50)  # §1.2: `limit` and `max_keyword`
_MB = 1024 * 1024


class FetchFailed(Exception):
    """A media URL the emulator cannot fetch (it has no network, §4.1)."""


@dataclass(frozen=True)
class MediaInput:
    """One ``video_url``/``audio_url`` item: decoded now (a data URI) or fetched when the task runs."""

    role: str  # reference_video or reference_audio
    url: str
    where: str  # "content[2].audio_url.url", for messages
    data: bytes | None = None  # a data URI's bytes; None: a URL
    fmt: str = ""  # a data URI's declared format (wav, mp3)
    info: MediaInfo | None = None  # known for data URIs


@dataclass(frozen=True)
class Resolved:
    """A reference media item as a local file, checked."""

    item: MediaInput
    path: Path
    info: MediaInfo


def _g(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _refs(caps: ModelCaps) -> References:
    assert caps.references is not None  # callers check it first
    return caps.references


def _models_with(has: Callable[[References], bool]) -> str:
    return ", ".join(m.id for m in MODELS.values() if m.references is not None and has(m.references))


def media_input(url: str, kind: str, role: str, where: str, caps: ModelCaps) -> MediaInput:
    """A ``video_url``/``audio_url`` item's URL, checked as far as possible without fetching."""
    where = f"{where}.{kind}.url"
    if not url.startswith("data:"):
        if not url.startswith(("http://", "https://")):
            raise BadRequest(f"{where} must be an http(s) URL or a base64 data URI.")
        return MediaInput(role, url, where)
    refs = caps.references
    if kind == "video_url" and (refs is None or not refs.inline_video):
        raise BadRequest(f"{where}: a reference video cannot be a data URI; give its http(s) URL.")
    fmt, raw = data_uri(url, "audio", refs.audio_formats if refs is not None else (), where)
    with tempfile.TemporaryDirectory(prefix="emulator-audio-") as tmp:
        path = Path(tmp) / f"audio.{fmt}"
        path.write_bytes(raw)
        info = _check_audio(path, len(raw), fmt, where, _refs(caps))
    return MediaInput(role, url, where, raw, fmt, info)


def _check_audio(path: Path, size: int, fmt: str | None, where: str, refs: References) -> MediaInfo:
    """Check an audio file (``fmt``: the format a data URI names; None: any allowed one)."""
    if size > refs.audio_max_bytes:
        raise BadRequest(f"{where}: a reference audio clip must be at most {refs.audio_max_bytes // _MB} MB.")
    try:
        info = probe(path)
    except MediaError:
        info = None
    expected = (fmt,) if fmt else refs.audio_formats
    if info is None or not info.audio or info.container not in expected:
        raise BadRequest(f"{where}: not decodable as {' or '.join(expected)} audio.")
    lo, hi = refs.audio_seconds
    if not lo <= info.seconds <= hi:
        raise BadRequest(f"{where}: a reference audio clip must last {_g(lo)} to {_g(hi)} s "
                         f"(got {info.seconds:.2f} s).")  # fmt: skip
    return info


def _check_video(path: Path, where: str, refs: References) -> MediaInfo:
    if path.stat().st_size > refs.video_max_bytes:
        raise BadRequest(f"{where}: a reference video must be at most {refs.video_max_bytes // _MB} MB.")
    try:
        info = probe(path)
    except MediaError:
        info = None
    if info is None or info.size is None or info.container != MP4_FAMILY:
        raise BadRequest(f"{where}: not decodable as an {' or '.join(refs.video_formats)} video.")
    (w, h), (lo, hi) = info.size, refs.video_seconds
    if not lo <= info.seconds <= hi:
        raise BadRequest(f"{where}: a reference video must last {_g(lo)} to {_g(hi)} s (got {info.seconds:.2f} s).")
    checks = (
        (refs.video_pixels, w * h, f"{w}x{h} = {w * h}", "pixels in all"),
        (refs.video_side, min(w, h), f"{w}x{h}", "pixels on its shorter side"),
        (refs.video_side, max(w, h), f"{w}x{h}", "pixels on its longer side"),
        (refs.video_aspect, w / h, f"{w}x{h}", "as width/height"),
        (refs.video_fps, info.fps, f"{_g(info.fps or 0)} fps", "frames per second"),
    )
    for (lo, hi), value, got, what in checks:
        if value is not None and not lo <= value <= hi:
            raise BadRequest(f"{where}: a reference video must have {_g(lo)} to {_g(hi)} {what} (got {got}).")
    return info


def check_totals(items: Sequence[tuple[MediaInput, MediaInfo]], refs: References) -> None:
    """The §1.3 totals: seconds of all reference videos, of all reference audio clips."""
    for role, limit, what in (("reference_video", refs.video_total_seconds, "reference videos"),
                              ("reference_audio", refs.audio_total_seconds, "reference audio clips")):  # fmt: skip
        total = sum(info.seconds for item, info in items if item.role == role)
        if limit is not None and total > limit:
            raise BadRequest(f"the {what} may last {_g(limit)} s in total (got {total:.2f} s).")


def check_roles(roles: Sequence[str], caps: ModelCaps) -> bool:
    """Apply the §1.3/§7/§9 scenario and count rules to the media roles; True for references."""
    count = {role: roles.count(role) for role in ("first_frame", "last_frame", "reference_image",
                                                 "reference_audio", "reference_video")}  # fmt: skip
    images = count["first_frame"] + count["last_frame"] + count["reference_image"]
    refs = count["reference_image"] + count["reference_audio"] + count["reference_video"]
    model, table = caps.id, caps.references
    if images and not (caps.first_frame or caps.max_reference_images):
        raise BadRequest(f"{model} does not accept images (text-to-video only).")
    for frame in ("first_frame", "last_frame"):
        if count[frame] > 1:
            raise BadRequest(f"only one {frame} image is allowed.")
    if count["last_frame"] and not count["first_frame"]:
        raise BadRequest("a last_frame image needs a first_frame image.")
    if refs and (count["first_frame"] or count["last_frame"]):
        raise BadRequest("first_frame/last_frame images cannot be mixed with reference_image, "
                         "reference_video or reference_audio.")  # fmt: skip
    if count["first_frame"] and not caps.first_frame:
        raise BadRequest(f"{model} does not accept a first_frame image.")
    if count["last_frame"] and not caps.first_last_frame:
        raise BadRequest(f"{model} does not accept a last_frame image.")
    if count["reference_image"] and not caps.max_reference_images:
        raise BadRequest(f"{model} does not accept reference_image.")
    if count["reference_image"] > caps.max_reference_images:
        raise BadRequest(f"{model} accepts at most {caps.max_reference_images} reference images "
                         f"(got {count['reference_image']}).")  # fmt: skip
    for role, most in (("reference_audio", table.max_audios if table else 0),
                       ("reference_video", table.max_videos if table else 0)):  # fmt: skip
        if count[role] > most:
            if not most:
                raise BadRequest(f"{model} does not accept {role}.")
            raise BadRequest(f"{model} accepts at most {most} {role} items (got {count[role]}).")
    if table is not None:
        if not table.audio_alone and count["reference_audio"] and not (images or count["reference_video"]):
            raise BadRequest("reference_audio cannot be the only reference: add an image or a video.")
        if len(roles) > table.max_items:
            raise BadRequest(f"{model} accepts at most {table.max_items} media items (got {len(roles)}).")
    if not caps.text_to_video and not images:
        raise BadRequest(f"{model} needs an image (first_frame or reference_image).")
    return refs > 0


def task_options(body: dict[str, Any], caps: ModelCaps) -> tuple[str | None, str | None]:
    """Check ``omni_reference_task_type``, ``output_format`` and ``tools``; (task type, format)."""
    table = caps.references
    all_types = tuple(dict.fromkeys(t for m in MODELS.values() if m.references for t in m.references.task_types))
    task_type = check_str(body, "omni_reference_task_type", all_types)
    if task_type is not None and (table is None or task_type not in table.task_types):
        raise BadRequest(f"omni_reference_task_type is only supported by {_models_with(lambda r: bool(r.task_types))}.")
    all_formats = tuple(dict.fromkeys(f for m in MODELS.values() if m.references for f in m.references.output_formats))
    output_format = check_str(body, "output_format", all_formats)
    if output_format is not None and (table is None or len(table.output_formats) < 2):
        raise BadRequest(f"output_format is only supported by {_models_with(lambda r: len(r.output_formats) > 1)}.")
    _check_tools(body.get("tools"), caps)
    return task_type, output_format


def _check_tools(tools: Any, caps: ModelCaps) -> None:
    if tools is None:
        return
    if not isinstance(tools, list) or len(tools) > 1:
        raise BadRequest("tools must be an array with at most one item.")
    if tools and (caps.references is None or not caps.references.web_search):
        raise BadRequest(f"tools (web_search) is not supported by {caps.id}.")
    for tool in tools:
        if not isinstance(tool, dict) or tool.get("type") != "web_search":
            raise BadRequest('tools[0] must be an object with "type": "web_search".')
        extra = sorted(set(tool) - {"type", "limit", "max_keyword", "sources"})
        if extra:
            raise BadRequest(f"tools[0]: unknown field {extra[0]!r}.")
        for name in ("limit", "max_keyword"):
            check_int(tool, name, *_SEARCH_RANGE, label="tools[0].")
        sources = tool.get("sources")
        if sources is not None and (
            not isinstance(sources, list) or not all(isinstance(s, str) and s in _SEARCH_SOURCES for s in sources)
        ):
            raise BadRequest(f"tools[0].sources must be an array of {', '.join(_SEARCH_SOURCES)}.")


def check_task_type(task_type: str | None, roles: Sequence[str], ratio: str, duration: int | None) -> None:
    """§7: ``edit`` needs a reference video, ratio adaptive, duration -1; ``extend`` the first two."""
    if task_type not in ("edit", "extend"):
        return
    if "reference_video" not in roles:
        raise BadRequest(f"omni_reference_task_type {task_type} needs a reference_video item.")
    if ratio != "adaptive":
        raise BadRequest(f"omni_reference_task_type {task_type} needs ratio adaptive (got {ratio!r}).")
    if task_type == "edit" and duration != -1:
        raise BadRequest("omni_reference_task_type edit needs duration -1.")


def inline_totals(items: Sequence[MediaInput], caps: ModelCaps) -> None:
    """The totals over the media known at create time (data URIs)."""
    known = [(i, i.info) for i in items if i.info is not None]
    if known:
        check_totals(known, _refs(caps))


def resolve(
    items: Sequence[MediaInput], caps: ModelCaps, local_file: Callable[[str], Path | None], scratch: Path
) -> list[Resolved]:
    """Every item as a checked local file (data URIs written under ``scratch``, a new directory).

    ``FetchFailed`` for a URL that is not one of the emulator's own files; ``BadRequest`` for a
    file that breaks a limit.
    """
    if not items:
        return []
    out: list[Resolved] = []
    for n, item in enumerate(items):
        if item.data is not None and item.info is not None:
            scratch.mkdir(parents=True, exist_ok=True)
            path = scratch / f"{n}.{item.fmt}"
            path.write_bytes(item.data)
            out.append(Resolved(item, path, item.info))
            continue
        found = local_file(item.url)
        if found is None:
            raise FetchFailed(item.url)
        if item.role == "reference_video":
            info = _check_video(found, item.where, _refs(caps))
        else:
            info = _check_audio(found, found.stat().st_size, None, item.where, _refs(caps))
        out.append(Resolved(item, found, info))
    check_totals([(r.item, r.info) for r in out], _refs(caps))
    return out

"""The create request body of ``POST /seedance/videos``, typed, and the one place it is built.

Owns: ``CreateBody`` and its content items as ``TypedDict``s (the shape the service reads,
docs/protocol.md §1.2–§1.3), building a body from provider-neutral settings, and the one edit
the engine makes to a built body (putting an upstream shot's frame or clip into a media slot). The
engine never spells a field name of the body itself, so a second provider (Ark's own API)
would bring its own wire module instead of changes to the engine. Pure: no I/O. Must not
import anything above ``storyboard.errors``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from typing_extensions import Required, TypedDict

__all__ = [
    "AudioItem",
    "ContentItem",
    "CreateBody",
    "ImageInput",
    "ImageItem",
    "ImageRole",
    "ImageURL",
    "Length",
    "MediaKind",
    "Options",
    "ReferenceInput",
    "TextItem",
    "VideoItem",
    "WebSearchTool",
    "create_body",
    "image_slots",
    "media_url",
    "with_media_url",
]

ImageRole = Literal["first_frame", "last_frame", "reference_image"]


class ImageURL(TypedDict):
    url: str
    """An https URL the service fetches, or a ``data:image/...;base64,`` URI."""


class TextItem(TypedDict):
    type: Literal["text"]
    text: str
    """The prompt (inline ``--rs``-style parameters are not used: fields carry the settings)."""


class ImageItem(TypedDict):
    type: Literal["image_url"]
    image_url: ImageURL
    role: ImageRole
    """What the image is for: the clip's first or last frame, or a reference."""


class VideoItem(TypedDict):
    type: Literal["video_url"]
    video_url: ImageURL
    """An https URL of an mp4/mov clip (2.x; no data URI is documented for video, §9)."""
    role: Literal["reference_video"]


class AudioItem(TypedDict):
    type: Literal["audio_url"]
    audio_url: ImageURL
    """An https URL or a ``data:audio/<wav|mp3>;base64,`` URI (2.x, §9)."""
    role: Literal["reference_audio"]


ContentItem = TextItem | ImageItem | VideoItem | AudioItem
MediaKind = Literal["image", "video", "audio"]


class WebSearchTool(TypedDict, total=False):
    """``tools[0]``: let the model search the web (docs/protocol.md §1.2)."""

    type: Required[Literal["web_search"]]
    limit: int
    max_keyword: int
    sources: list[str]


class CreateBody(TypedDict, total=False):
    """The JSON body of a create request (without ``async`` / ``callback_url``, which the
    client adds)."""

    model: Required[str]
    """Model id, e.g. ``doubao-seedance-1-0-pro-250528``."""
    content: Required[list[ContentItem]]
    """The prompt first, then the images in the order the storyboard lists them."""
    resolution: str
    """``480p`` / ``720p`` / ``1080p`` (what a model accepts: docs/protocol.md §7)."""
    ratio: str
    """``16:9``, ``9:16``, … or ``adaptive`` (follow the first frame)."""
    duration: int
    """Seconds (``-1``: the model chooses); exclusive with ``frames``."""
    frames: int
    """Frame count 25 + 4n at 24 fps; exclusive with ``duration``."""
    seed: int
    camerafixed: bool
    watermark: bool
    generate_audio: bool
    """Only sent to models that make audio."""
    return_last_frame: bool
    """Ask for the clip's last frame as a PNG URL (what chaining needs)."""
    execution_expires_after: int
    """Seconds after which the service gives up on the task."""
    omni_reference_task_type: str
    """2.5: what to do with a reference video: ``auto``, ``reference``, ``edit`` or ``extend``."""
    output_format: str
    """2.5: ``mp4`` (default) or ``mov``."""
    tools: list[WebSearchTool]
    priority: int
    """0-9 (2.x)."""
    safety_identifier: str
    """An end-user id for the service's safety checks, at most 64 characters (2.x)."""


Length = tuple[Literal["duration", "frames"], int]


class Options(TypedDict, total=False):
    """Optional settings a storyboard may give a shot; absent keys are not sent."""

    seed: int
    camerafixed: bool
    watermark: bool
    execution_expires_after: int
    generate_audio: bool
    return_last_frame: bool
    omni_reference_task_type: str
    output_format: str
    tools: list[WebSearchTool]
    priority: int
    safety_identifier: str


@dataclass(frozen=True)
class ImageInput:
    """One image of a request: where the service gets it, and its role."""

    url: str
    role: ImageRole


@dataclass(frozen=True)
class ReferenceInput:
    """One multimodal reference of a request (2.x): where the service gets it, and its kind."""

    url: str
    kind: MediaKind


def _reference_item(ref: ReferenceInput) -> ContentItem:
    if ref.kind == "video":
        return {"type": "video_url", "video_url": {"url": ref.url}, "role": "reference_video"}
    if ref.kind == "audio":
        return {"type": "audio_url", "audio_url": {"url": ref.url}, "role": "reference_audio"}
    return {"type": "image_url", "image_url": {"url": ref.url}, "role": "reference_image"}


def create_body(
    *,
    model: str,
    prompt: str,
    images: Sequence[ImageInput],
    resolution: str,
    ratio: str,
    length: Length,
    options: Options,
    references: Sequence[ReferenceInput] = (),
) -> CreateBody:
    """The body for one generation; the image at ``images[i]`` is ``content[i + 1]``, and the
    references follow the images in their order."""
    content: list[ContentItem] = [{"type": "text", "text": prompt}]
    content += [{"type": "image_url", "image_url": {"url": i.url}, "role": i.role} for i in images]
    content += [_reference_item(r) for r in references]
    body: CreateBody = {"model": model, "content": content, "resolution": resolution, "ratio": ratio}
    kind, n = length
    if kind == "frames":
        body["frames"] = n
    else:
        body["duration"] = n
    body.update(options)  # type: ignore[typeddict-item]  # Options' keys are a subset of CreateBody's
    return body


def image_slots(body: CreateBody) -> list[int]:
    """Indexes into ``content`` of the image items, in order."""
    return [i for i, item in enumerate(body["content"]) if item["type"] == "image_url"]


def media_url(item: ContentItem) -> str | None:
    """The URL of a media item (None for text)."""
    if item["type"] == "image_url":
        return item["image_url"]["url"]
    if item["type"] == "video_url":
        return item["video_url"]["url"]
    if item["type"] == "audio_url":
        return item["audio_url"]["url"]
    return None


def with_media_url(body: CreateBody, slot: int, url: str) -> CreateBody:
    """A copy of ``body`` whose image, video or audio at ``content[slot]`` is fetched from ``url``."""
    item = body["content"][slot]
    content = list(body["content"])
    if item["type"] == "image_url":
        content[slot] = {"type": "image_url", "image_url": {"url": url}, "role": item["role"]}
    elif item["type"] == "video_url":
        content[slot] = {"type": "video_url", "video_url": {"url": url}, "role": item["role"]}
    elif item["type"] == "audio_url":
        content[slot] = {"type": "audio_url", "audio_url": {"url": url}, "role": item["role"]}
    else:
        raise ValueError(f"content[{slot}] is not an image, video or audio")
    copy: CreateBody = {**body}
    copy["content"] = content
    return copy

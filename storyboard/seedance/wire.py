"""The create request body of ``POST /seedance/videos``, typed, and the one place it is built.

Owns: ``CreateBody`` and its content items as ``TypedDict``s (the shape the service reads,
docs/protocol.md §1.2–§1.3), building a body from provider-neutral settings, and the one edit
the engine makes to a built body (putting an upstream shot's frame into an image slot). The
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
    "ContentItem",
    "CreateBody",
    "ImageInput",
    "ImageItem",
    "ImageRole",
    "ImageURL",
    "Length",
    "Options",
    "TextItem",
    "create_body",
    "image_slots",
    "with_image_url",
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


ContentItem = TextItem | ImageItem


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


Length = tuple[Literal["duration", "frames"], int]


class Options(TypedDict, total=False):
    """Optional settings a storyboard may give a shot; absent keys are not sent."""

    seed: int
    camerafixed: bool
    watermark: bool
    execution_expires_after: int
    generate_audio: bool
    return_last_frame: bool


@dataclass(frozen=True)
class ImageInput:
    """One image of a request: where the service gets it, and its role."""

    url: str
    role: ImageRole


def create_body(
    *,
    model: str,
    prompt: str,
    images: Sequence[ImageInput],
    resolution: str,
    ratio: str,
    length: Length,
    options: Options,
) -> CreateBody:
    """The body for one generation; the image at ``images[i]`` is ``content[i + 1]``."""
    content: list[ContentItem] = [{"type": "text", "text": prompt}]
    content += [{"type": "image_url", "image_url": {"url": i.url}, "role": i.role} for i in images]
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


def with_image_url(body: CreateBody, slot: int, url: str) -> CreateBody:
    """A copy of ``body`` whose image at ``content[slot]`` is fetched from ``url``."""
    item = body["content"][slot]
    if item["type"] != "image_url":
        raise ValueError(f"content[{slot}] is not an image")
    content = list(body["content"])
    content[slot] = {"type": "image_url", "image_url": {"url": url}, "role": item["role"]}
    copy: CreateBody = {**body}
    copy["content"] = content
    return copy

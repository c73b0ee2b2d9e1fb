"""A shot's multimodal references as request items, cache-key parts and billed input (2.x models).

Owns: turning a shot's resolved references (``ShotView.references``) into the request's
reference items — local images and audio inline as data URIs, URLs as given, an earlier shot's
clip as a slot the render fills with that clip's service URL — their cache-key parts (file
*content* hashes, the upstream shot's cache key for a clip, never its URL), and the seconds of
reference video the service bills as input (§11.1). Pure apart from reading local files.
Must not import the client, render, assemble or the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from storyboard.seedance.wire import ReferenceInput
from storyboard.spec.images import ImageInfo, data_uri, inspect_image
from storyboard.spec.media import MediaInfo, audio_data_uri, inspect_media
from storyboard.spec.shots import ShotView

__all__ = ["VIDEO_INPUT_FLOOR_SECONDS", "Upstream", "References", "clip_placeholder", "references"]

# §11.1: 2.0 bills a minimum when the input holds video, but the minimum's table is not public.
# We count every reference video as at least the shortest clip the service takes (2 s, §9), a
# documented floor, and `plan` says so: the real bill may be higher.
VIDEO_INPUT_FLOOR_SECONDS = 2.0


@dataclass(frozen=True)
class Upstream:
    """What a reference needs of an earlier shot's job: its key, size and length."""

    id: str
    cache_key: str
    width: int
    height: int
    seconds: float


@dataclass
class References:
    """A shot's references, ready for the request."""

    inputs: list[ReferenceInput] = field(default_factory=list)
    keyed: list[object] = field(default_factory=list)
    """Cache-key parts, one per input."""
    clips: list[tuple[int, str]] = field(default_factory=list)
    """(index into ``inputs``, upstream job id) of every clip taken from an earlier shot."""
    digests: dict[str, str] = field(default_factory=dict)
    """data URI -> short description, for display."""
    assets: list[str] = field(default_factory=list)
    """Names of the assets used, in order, once each."""
    video_seconds: list[float] = field(default_factory=list)
    """Length of each reference video as billed (at least the floor)."""
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Size of the first image and of the first clip whose size is known, by kind."""

    @property
    def first_size(self) -> tuple[int, int] | None:
        """What `adaptive` follows: the first video before the first image (§9)."""
        return self.sizes.get("video") or self.sizes.get("image")


def clip_placeholder(shot_id: str) -> str:
    return f"<clip of shot {shot_id}>"


def _image_digest(info: ImageInfo) -> str:
    return f"data:{info.mime};base64,<{info.size} bytes, {info.width}x{info.height}, sha256:{info.sha256[:12]}>"


def _audio_digest(info: MediaInfo) -> str:
    return f"data:audio/{info.container};base64,<{info.size} bytes, {info.seconds:g} s, sha256:{info.sha256[:12]}>"


def references(view: ShotView, base_dir: Path, upstream: Callable[[str], Upstream]) -> References:
    """The references of a loaded (valid) shot; `upstream` gives the job of an earlier shot."""
    out = References()
    for ref in view.references():
        kind = ref.kind
        assert kind is not None, "load() resolved every reference's kind"
        size: tuple[int, int] | None = None
        if ref.asset and ref.asset not in out.assets:
            out.assets.append(ref.asset)
        if ref.from_ is not None:
            up = upstream(ref.from_)
            url, key_part, size = clip_placeholder(up.id), {"from_key": up.cache_key}, (up.width, up.height)
            out.clips.append((len(out.inputs), up.id))
            out.video_seconds.append(max(VIDEO_INPUT_FLOOR_SECONDS, up.seconds))
        elif ref.path is not None and kind == "image":
            image = inspect_image(base_dir / ref.path)
            assert isinstance(image, ImageInfo), "load() checked every local image"
            url, key_part, size = data_uri(image), {"sha256": image.sha256}, (image.width, image.height)
            out.digests[url] = _image_digest(image)
        elif ref.path is not None:
            media = inspect_media(base_dir / ref.path)
            assert isinstance(media, MediaInfo) and kind == "audio", "load() allows local audio only"
            url, key_part = audio_data_uri(media), {"sha256": media.sha256}
            out.digests[url] = _audio_digest(media)
        else:
            url, key_part = str(ref.url), {"url": str(ref.url)}
            if kind == "video":  # its length is unknown before the service reads it
                out.video_seconds.append(VIDEO_INPUT_FLOOR_SECONDS)
        if size is not None:
            out.sizes.setdefault(kind, size)
        out.inputs.append(ReferenceInput(url, kind))
        out.keyed.append({"ref": key_part, "kind": kind})
    return out

"""The storyboard keys of multimodal references (2.x models): named assets, a shot's references, tools.

Owns: the shape of top-level ``assets:`` (named images, videos and audio), of a shot's
``references:`` items (an asset name, or a mapping with exactly one of ``path`` / ``url`` /
``from`` / ``asset``, plus an optional ``kind``), of ``tools:`` (web search), and how a
reference's kind follows from a file name (``kind_of``). Rules that need the capability table
or the file system live in ``refrules.py``. Kept apart from ``model.py`` so the language's core
stays readable; ``model.py`` imports these classes for its fields.

Must not import: anything that does I/O (load, client, render, assemble, cli). Pure data.
"""

from __future__ import annotations

import posixpath
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

__all__ = ["ASSET_NAME", "Asset", "Chain", "Kind", "Reference", "ReferenceItem", "WebSearch", "kind_of"]

Kind = Literal["image", "video", "audio"]
ASSET_NAME = r"^[A-Za-z][A-Za-z0-9_.-]*$"

# file extension -> kind (images: the formats §9 lists; video and audio: §1.3)
_KINDS: dict[str, Kind] = {
    **dict.fromkeys(("jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff", "gif", "heic", "heif"), "image"),
    **dict.fromkeys(("mp4", "mov"), "video"),
    **dict.fromkeys(("wav", "mp3"), "audio"),
}  # fmt: skip


def kind_of(name: str) -> Kind | None:
    """The kind a file name or URL's extension says (None when it says nothing we know)."""
    if name.startswith("data:"):
        head = name[5:].split("/", 1)[0]
        return head if head in ("image", "video", "audio") else None  # type: ignore[return-value]
    path = urlsplit(name).path if "://" in name else name
    ext = posixpath.splitext(path)[1].lower().lstrip(".")
    return _KINDS.get(ext)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True, populate_by_name=True)


class Asset(_Frozen):
    """A named image, video or audio clip, given once and referenced by name from any shot."""

    path: str | None = None
    """Local file, relative to the storyboard file (images and audio are sent inline)."""
    url: str | None = None
    """Public http(s) URL the service fetches itself."""
    kind: Kind | None = None
    """image, video or audio; default: from the file extension (.png, .mp4, .mp3, ...)."""
    note: str | None = None
    """What the asset shows or sounds like, for people reading the storyboard (not sent)."""

    @model_validator(mode="after")
    def _one_source(self) -> Asset:
        if (self.path is None) == (self.url is None):
            raise ValueError("needs exactly one of path, url")
        return self


class Reference(_Frozen):
    """A reference of a shot: exactly one of `path`, `url`, `from` or `asset`, and its kind."""

    path: str | None = None
    """Local file, relative to the storyboard file."""
    url: str | None = None
    """Public http(s) URL the service fetches itself."""
    from_: str | None = Field(default=None, alias="from")
    """Id of an earlier shot: its generated clip is used as a reference video."""
    asset: str | None = None
    """Name of an entry of the top-level `assets`."""
    kind: Kind | None = None
    """image, video or audio; default: from the file, the asset, or video for `from`."""

    @model_validator(mode="after")
    def _exactly_one_source(self) -> Reference:
        pairs = (("path", self.path), ("url", self.url), ("from", self.from_), ("asset", self.asset))
        given = [k for k, v in pairs if v]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(f"needs exactly one of path, url, from, asset (found: {found})")
        return self


def _name_to_asset(value: Any) -> Any:
    """A bare string in `references:` names an asset: `mia` is short for `{asset: mia}`."""
    return {"asset": value} if isinstance(value, str) else value


ReferenceItem = Annotated[Reference, BeforeValidator(_name_to_asset, json_schema_input_type=str | Reference)]
"""A `references:` item as written: an asset name or a Reference mapping."""


def _chain_word(value: Any) -> Any:
    """One message for a wrong `chain:` value, instead of one per member of the union."""
    if isinstance(value, bool) or value in ("extend", "edit"):
        return value
    shown = repr(value) if isinstance(value, str) else "a mapping" if isinstance(value, dict) else str(value)
    raise ValueError(f"must be true, false, extend or edit (got {shown})")


Chain = Annotated[bool | Literal["extend", "edit"], BeforeValidator(_chain_word)]
"""`chain:` as written: true (the previous shot's last frame), extend or edit (its clip)."""


class WebSearch(_Frozen):
    """Let the model search the web for the prompt (`tools: [{type: web_search}]`, 2.0 and 2.5)."""

    type: Literal["web_search"]
    """Always web_search (the only tool)."""
    limit: int | None = Field(default=None, ge=1, le=50)
    """Most results to read (1-50; the service's default is 10)."""
    max_keyword: int | None = Field(default=None, ge=1, le=50)
    """Most search keywords (1-50)."""
    sources: tuple[Literal["toutiao", "douyin", "moji", "search_engine"], ...] | None = None
    """Where to search: toutiao, douyin, moji, search_engine."""

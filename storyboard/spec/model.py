"""The storyboard file format (version 1) as frozen pydantic models.

Owns: the shape, types, single-field ranges and docstrings (which become the JSON Schema
descriptions editors show on hover) of every key a storyboard may contain. Rules that need a
model's capabilities or the file system live in ``rules.py`` and ``images.py``. Also owns the
one rule of how a transition shares its length between the clips it joins (``transition_shares``).

Must not import: anything that does I/O (load, client, render, assemble, cli). Pure data.
"""

from __future__ import annotations

from typing import Any, Literal, overload

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from storyboard.spec.assets import Asset, Chain, ReferenceItem, WebSearch

__all__ = [
    "MAX_TAKES",
    "RATIOS",
    "RESOLUTIONS",
    "Caption",
    "Defaults",
    "ImageRef",
    "Music",
    "Output",
    "Shot",
    "ShotSettings",
    "Storyboard",
    "Title",
    "Transition",
    "TransitionKind",
    "Trim",
    "transition_shares",
]

Resolution = Literal["480p", "720p", "1080p", "4k"]
Ratio = Literal["16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive"]
Role = Literal["first_frame", "last_frame", "reference_image"]
RESOLUTIONS: tuple[str, ...] = ("480p", "720p", "1080p", "4k")
RATIOS: tuple[str, ...] = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive")
MAX_TAKES = 20  # candidates of one shot: a director's handful, not a seed sweep


class _Frozen(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        populate_by_name=True,
    )


class ImageRef(_Frozen):
    """An image given to the model: exactly one of `path`, `url` or `from`, plus its `role`."""

    path: str | None = None
    """Local image file, relative to the storyboard file; sent inline as a base64 data URI."""
    url: str | None = None
    """Public http(s) URL (or a data: URI) the service fetches itself."""
    from_: str | None = Field(default=None, alias="from")
    """Id of an earlier shot: its returned last frame is used as this image."""
    role: Role = "first_frame"
    """How the model uses the image: first_frame, last_frame or reference_image."""

    @model_validator(mode="after")
    def _exactly_one_source(self) -> ImageRef:
        given = [k for k, v in (("path", self.path), ("url", self.url), ("from", self.from_)) if v]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(f"needs exactly one of path, url, from (found: {found})")
        return self


class Trim(_Frozen):
    """Part of the generated clip to keep in the assembled video, in seconds."""

    start: float = Field(default=0.0, ge=0)
    """Seconds cut from the start of the clip."""
    end: float | None = Field(default=None, gt=0)
    """Keep the clip up to this time (seconds from the clip's start); default: to the end."""

    @model_validator(mode="after")
    def _ordered(self) -> Trim:
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self


TransitionKind = Literal["cut", "crossfade", "fade"]


class Transition(_Frozen):
    """How a shot joins the one before it."""

    type: TransitionKind = "cut"
    """cut (hard cut), crossfade (the clips overlap; the total shortens), fade (through black)."""
    duration: float = Field(default=0.5, ge=0, le=5)
    """Length of the crossfade or fade in seconds (ignored for cut)."""


@overload
def transition_shares(kind: TransitionKind, length: int) -> tuple[int, int]: ...
@overload
def transition_shares(kind: TransitionKind, length: float) -> tuple[float, float]: ...
def transition_shares(kind: TransitionKind, length: float) -> tuple[float, float]:
    """How much of a transition of ``length`` the clips on either side of it give up.

    Returns (share taken from the clip before, share taken from the clip after), in the unit of
    ``length``: a cut takes nothing, a crossfade overlaps both clips for its whole length, a
    fade to black takes half of its length from each. An ``int`` length counts frames and is
    split in whole frames (the odd frame goes to the clip after); a ``float`` counts seconds and
    is halved exactly. The one rule for the validator (seconds) and the assembly (frames).
    """
    if kind == "crossfade":
        return length, length
    if kind == "fade":
        if isinstance(length, int):
            return length // 2, length - length // 2
        return length / 2, length / 2
    return (0, 0) if isinstance(length, int) else (0.0, 0.0)


class Caption(_Frozen):
    """A text overlay on a shot; a plain string is short for `{text: ...}`."""

    text: str
    """The caption text (Unicode, CJK included)."""
    position: Literal["bottom", "center", "top"] = "bottom"
    """Where on the frame the caption sits."""
    size: int = Field(default=40, ge=6, le=400)
    """Font size in pixels at the output size."""
    color: str = "white"
    """Text colour: a name (white) or #rrggbb."""
    start: float = Field(default=0.0, ge=0)
    """Seconds into the shot when the caption appears."""
    end: float | None = Field(default=None, gt=0)
    """Seconds into the shot when it disappears; default: end of the shot."""
    font: str | None = None
    """Font file (TTF/OTF), relative to the storyboard; default: the bundled font."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # `caption: 灯塔` is what people write first: take it as the text
        return {"text": data} if isinstance(data, str) else data

    @classmethod
    def __get_pydantic_json_schema__(cls, core: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        # editors must offer the shorthand too; the before-validator above is invisible to pydantic's schema
        mapping = handler.resolve_ref_schema(handler(core))
        shorthand = {"type": "string", "description": "The caption text alone, short for {text: ...}."}
        return {"description": mapping.get("description"), "anyOf": [shorthand, mapping]}


class Music(_Frozen):
    """Background music under the whole video."""

    path: str | None = None
    """Audio file, relative to the storyboard file."""
    url: str | None = None
    """Audio URL (downloaded once and cached)."""
    volume: float = Field(default=1.0, ge=0, le=4)
    """Gain applied to the music (1.0 = unchanged)."""
    fade_in: float = Field(default=0.0, ge=0)
    """Seconds of fade-in at the start of the video."""
    fade_out: float = Field(default=0.0, ge=0)
    """Seconds of fade-out at the end of the video."""
    start: float = Field(default=0.0, ge=0)
    """Offset into the music file where playback starts, in seconds."""
    loop: bool = True
    """Loop the music when it is shorter than the video (otherwise it just ends)."""
    duck: float | None = Field(default=None, ge=0, le=1)
    """Music gain factor under shots that carry generated audio (e.g. 0.3); default: no ducking."""

    @model_validator(mode="after")
    def _one_source(self) -> Music:
        if (self.path is None) == (self.url is None):
            raise ValueError("needs exactly one of path, url")
        return self


class Title(_Frozen):
    """An optional title card before the first shot."""

    text: str
    """Title text."""
    duration: float = Field(default=2.0, gt=0, le=30)
    """Seconds the card is shown."""
    size: int = Field(default=72, ge=6, le=400)
    """Font size in pixels at the output size."""
    color: str = "white"
    """Text colour."""
    background: str = "black"
    """Card background colour."""
    font: str | None = None
    """Font file; default: the bundled font."""


class Output(_Frozen):
    """Where and how the assembled video is written."""

    path: str | None = None
    """Output video path, relative to the storyboard file; default: out/<name>.mp4."""
    size: str | None = Field(default=None, pattern=r"^[1-9][0-9]{1,4}x[1-9][0-9]{1,4}$")
    """Output size WIDTHxHEIGHT (e.g. 1280x720); default: the first shot's size."""
    fit: Literal["contain", "cover", "stretch"] = "contain"
    """How clips of another size are fitted: contain (letterbox), cover (crop), stretch."""
    background: str = "black"
    """Letterbox colour for fit: contain."""
    fps: int = Field(default=24, ge=1, le=120)
    """Output frame rate."""
    transition: Transition = Transition()
    """Default transition between shots (a shot's own `transition` wins)."""
    music: Music | None = None
    """Background music."""
    title: Title | None = None
    """Title card shown before the first shot."""
    codec: str = "libx264"
    """Video codec passed to ffmpeg."""
    crf: int = Field(default=18, ge=0, le=51)
    """Constant rate factor (quality; lower is better)."""
    preset: Literal[
        "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
        "veryslow",
    ] = "medium"  # fmt: skip
    """x264 speed/size preset."""
    audio_bitrate: str = Field(default="192k", pattern=r"^[1-9][0-9]*k$")
    """AAC audio bitrate."""
    pixel_format: str = "yuv420p"
    """Output pixel format (yuv420p plays everywhere)."""
    font: str | None = None
    """Default font file for captions and the title; default: the bundled font."""


class ShotSettings(_Frozen):
    """Fields a shot may set and `defaults` may set for every shot."""

    model: str | None = None
    """SeeDance model id, e.g. doubao-seedance-1-0-pro-250528."""
    resolution: Resolution | None = None
    """480p, 720p, 1080p (4k on doubao-seedance-2-0 only); default: the model's default."""
    ratio: Ratio | None = None
    """Aspect ratio; adaptive lets the model pick (from the first image where there is one)."""
    duration: int | None = Field(default=None, ge=-1, le=30)
    """Clip length in seconds (range per model; -1 = automatic on 1.5 and 2.x); default 5."""
    frames: int | None = Field(default=None, ge=29, le=289)
    """Frame count instead of duration: 25+4n in [29, 289], 1.0 models only."""
    seed: int | None = Field(default=None, ge=-1, le=4294967295)
    """Random seed, -1 (random) to 4294967295."""
    takes: int | None = Field(default=None, ge=1, le=MAX_TAKES)
    """Candidates to generate, each with its own seed (take k of seed S uses S+k-1); `storyboard
    pick FILE SHOT TAKE` chooses the one the video uses (default: the first)."""
    camerafixed: bool | None = None
    """Keep the camera fixed."""
    watermark: bool | None = None
    """Draw the "AI generated" mark bottom-right."""
    generate_audio: bool | None = None
    """Generate an audio track (1.5 pro and 2.x models)."""
    service_tier: Literal["default", "flex"] | None = None
    """Ark service tier; AceData dropped this field, so it is accepted but not sent."""
    execution_expires_after: int | None = Field(default=None, ge=3600, le=259200)
    """Seconds after which the service gives up on the task (3600 to 259200)."""
    return_last_frame: bool | None = None
    """Ask for the clip's last frame (set automatically when another shot chains from this)."""
    trim: Trim | None = None
    """Assembly: part of the clip to keep."""
    transition: Transition | None = None
    """Assembly: transition into this shot."""
    caption: Caption | None = None
    """Assembly: text overlay."""
    volume: float | None = Field(default=None, ge=0, le=4)
    """Assembly: gain of the shot's own generated audio."""
    output_format: Literal["mp4", "mov"] | None = None
    """Container of the generated clip: mp4 (default) or mov (2.5 only)."""
    tools: tuple[WebSearch, ...] | None = Field(default=None, max_length=1)
    """At most one tool: [{type: web_search}] lets 2.0 and 2.5 search the web for the prompt."""
    priority: int | None = Field(default=None, ge=0, le=9)
    """Queue priority 0-9 (2.x models; the service's default is 0)."""
    safety_identifier: str | None = Field(default=None, max_length=64)
    """An id of your end user the service's safety checks may use (2.x models, at most 64 characters)."""


class Defaults(ShotSettings):
    """Values every shot gets unless it sets its own."""


class Shot(ShotSettings):
    """One generated clip: one API task."""

    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)
    """Unique shot id (letters, digits, _ . -); default shot-1, shot-2, ..."""
    prompt: str = Field(min_length=1)
    """What happens in the shot (at most 1000 characters)."""
    images: tuple[ImageRef, ...] = ()
    """Images with roles: first_frame, last_frame, reference_image."""
    chain: Chain = False
    """true: start on the previous shot's last frame; extend / edit: continue or edit the
    previous shot's clip (2.5: a reference video with omni_reference_task_type)."""
    references: tuple[ReferenceItem, ...] = ()
    """Reference images, videos and audio (2.x models): asset names, or {path|url|from|asset: ..., kind: ...}."""
    omni_reference_task_type: Literal["auto", "reference", "edit", "extend"] | None = None
    """What 2.5 does with a reference video: auto, reference, edit (change it) or extend (continue it)."""


class Storyboard(_Frozen):
    """A storyboard: shots rendered by SeeDance and assembled into one video."""

    version: Literal[1]
    """File format version; always 1."""
    name: str = Field(default="storyboard", min_length=1, max_length=200)
    """Name of the storyboard (used for the default output path); default: the file's name without its extension."""
    vars: dict[str, Any] = {}
    """Jinja2 variables for string values; --var k=v and --vars FILE override them."""
    defaults: Defaults = Defaults()
    """Values for every shot; a shot's own value wins."""
    output: Output = Output()
    """Assembly settings."""
    assets: dict[str, Asset] = {}
    """Named images, videos and audio any shot may use in `references:` by name."""
    shots: tuple[Shot, ...] = Field(min_length=1)
    """The shots, in order."""

    def shot_ids(self) -> list[str]:
        """Shot ids with defaults applied (shot-1, shot-2, ... for shots without an id)."""
        return [s.id or f"shot-{i + 1}" for i, s in enumerate(self.shots)]

    def setting(self, index: int, name: str) -> Any:
        """The effective value of a ShotSettings field for shot `index` (shot, then defaults)."""
        value = getattr(self.shots[index], name)
        return getattr(self.defaults, name) if value is None else value

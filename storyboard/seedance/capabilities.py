"""The SeeDance model capability table: one row per model, plus pixel sizes and prices.

Owns: what each model accepts (modes, resolutions, ratios, durations, frames, audio,
reference-image counts, camerafixed), its output pixel size per resolution x ratio, its
concurrency/RPM limits and its unit price. Everything here is data taken from
``docs/protocol.md`` (the § numbers in the comments refer to it); rules that *use* the
data live in the loader (``rules.py``) and, independently, in the emulator.

Must not import anything from the package: it is shared by the client side and the
emulator, which must not share code paths beyond this data.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ALL_RATIOS",
    "BODY_MAX_BYTES",
    "DEFAULT_MODEL",
    "FPS",
    "FRAMES_MAX",
    "FRAMES_MIN",
    "MODELS",
    "REFERENCES_20",
    "REFERENCES_20_MINI",
    "REFERENCES_25",
    "PRICE_CURRENCY",
    "PRICE_SOURCE",
    "ModelCaps",
    "References",
    "closest_ratio",
    "frames_valid",
    "pixel_size",
]

ALL_RATIOS: tuple[str, ...] = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9")
FPS = 24
FRAMES_MIN = 29
FRAMES_MAX = 289  # §10: DOCS-OAS, Ark, MCP, SKILL agree on 289 (SDK-SPEC's 361 is the outlier)
DEFAULT_MODEL = "doubao-seedance-1-0-pro-250528"
BODY_MAX_BYTES = 64 * 1024 * 1024  # §9: the whole create body, inline media included

PRICE_CURRENCY = "CNY"
PRICE_SOURCE = (
    "Volcengine Ark online tier, CNY per million tokens (docs/protocol.md §11.2; 1.0 prices "
    "official, 1.5 and 2.x derived from third-party tables). AceData bills in credits at an "
    "unpublished rate, so treat costs as estimates."
)

# §8: two pixel tables, (resolution, ratio) -> (width, height).
_TABLE_10: dict[tuple[str, str], tuple[int, int]] = {
    ("480p", "16:9"): (864, 480), ("480p", "4:3"): (736, 544), ("480p", "1:1"): (640, 640),
    ("480p", "3:4"): (544, 736), ("480p", "9:16"): (480, 864), ("480p", "21:9"): (960, 416),
    ("720p", "16:9"): (1248, 704), ("720p", "4:3"): (1120, 832), ("720p", "1:1"): (960, 960),
    ("720p", "3:4"): (832, 1120), ("720p", "9:16"): (704, 1248), ("720p", "21:9"): (1504, 640),
    ("1080p", "16:9"): (1920, 1088), ("1080p", "4:3"): (1664, 1248),
    ("1080p", "1:1"): (1440, 1440), ("1080p", "3:4"): (1248, 1664),
    ("1080p", "9:16"): (1088, 1920), ("1080p", "21:9"): (2176, 928),
}  # fmt: skip
_TABLE_15: dict[tuple[str, str], tuple[int, int]] = {
    ("480p", "16:9"): (864, 496), ("480p", "4:3"): (752, 560), ("480p", "1:1"): (640, 640),
    ("480p", "3:4"): (560, 752), ("480p", "9:16"): (496, 864), ("480p", "21:9"): (992, 432),
    ("720p", "16:9"): (1280, 720), ("720p", "4:3"): (1112, 834), ("720p", "1:1"): (960, 960),
    ("720p", "3:4"): (834, 1112), ("720p", "9:16"): (720, 1280), ("720p", "21:9"): (1470, 630),
    ("1080p", "16:9"): (1920, 1080), ("1080p", "4:3"): (1664, 1248),
    ("1080p", "1:1"): (1440, 1440), ("1080p", "3:4"): (1248, 1664),
    ("1080p", "9:16"): (1080, 1920), ("1080p", "21:9"): (2206, 946),
    # 4k (2.0 only, AceData): no official table; §8 quotes "scaled up proportionally, 16:9 about
    # 3840x2160", so these are the 1080p row doubled. [uncertain in the sources]
    ("4k", "16:9"): (3840, 2160), ("4k", "4:3"): (3328, 2496), ("4k", "1:1"): (2880, 2880),
    ("4k", "3:4"): (2496, 3328), ("4k", "9:16"): (2160, 3840), ("4k", "21:9"): (4412, 1892),
}  # fmt: skip
PIXEL_TABLES: dict[str, dict[tuple[str, str], tuple[int, int]]] = {
    "1.0": _TABLE_10,
    "1.5": _TABLE_15,
}


@dataclass(frozen=True)
class References:
    """Multimodal reference limits of a 2.x model (docs/protocol.md §1.3, §6.2, §7, §9).

    Images are counted by ``ModelCaps.max_reference_images``; this adds videos, audio, the task
    types and the continuity fact. Checked by the loader on local files and, independently, by
    the emulator on request bodies.
    """

    max_videos: int
    max_audios: int
    max_items: int  # images + videos + audio clips in one request
    audio_alone: bool  # reference audio without any image or video (refused on 2.0, §1.3)
    video_formats: tuple[str, ...] = ("mp4", "mov")
    audio_formats: tuple[str, ...] = ("wav", "mp3")
    video_seconds: tuple[float, float] = (2.0, 15.0)  # each reference video
    video_total_seconds: float | None = 15.0  # None: no documented total
    audio_seconds: tuple[float, float] = (2.0, 15.0)  # each reference audio clip
    audio_total_seconds: float | None = 15.0
    video_max_bytes: int = 50 * 1024 * 1024
    audio_max_bytes: int = 15 * 1024 * 1024
    video_pixels: tuple[int, int] = (409_600, 2_086_876)  # width x height, §9 (newer figure)
    video_side: tuple[int, int] = (300, 6000)
    video_aspect: tuple[float, float] = (0.4, 2.5)
    video_fps: tuple[float, float] = (24.0, 60.0)
    # §9 allows `data:audio/<fmt>;base64,` for audio; no source documents a data URI for a
    # reference video, so a local video cannot be sent inline: it must be given by `url:`.
    inline_video: bool = False
    task_types: tuple[str, ...] = ()  # omni_reference_task_type values (2.5 only, §7)
    # Does an `extend` result contain its source clip followed by the continuation (True), or
    # the continuation only (False)? No source says [uncertain]; we take "continuation only".
    # The assembly reads this one fact and is correct either way (it trims the source off the
    # head of an extended clip when True), and the emulator produces what it says.
    extend_includes_source: bool = False
    output_formats: tuple[str, ...] = ("mp4",)
    web_search: bool = False  # `tools: [{type: web_search}]` (§7: Ark says 2.0, AceData 2.5)
    generate_audio_default: bool = True  # Ark's default for 2.x (§6.2); it costs: plan says so


# §1.3: 2.0 family; 2.5 (AceData, NEXIOR constants): larger counts, audio alone allowed. The
# per-clip durations and sizes of 2.5 are not documented apart from 2.0's; we use 2.0's, and no
# total length for 2.5 [uncertain].
REFERENCES_20 = References(max_videos=3, max_audios=3, max_items=15, audio_alone=False, web_search=True)
REFERENCES_20_MINI = References(max_videos=3, max_audios=3, max_items=15, audio_alone=False)
REFERENCES_25 = References(
    max_videos=10, max_audios=10, max_items=50, audio_alone=True,
    video_total_seconds=None, audio_total_seconds=None,
    task_types=("auto", "reference", "edit", "extend"), output_formats=("mp4", "mov"),
    web_search=True,
)  # fmt: skip


@dataclass(frozen=True)
class ModelCaps:
    """What one SeeDance model accepts (docs/protocol.md §7, §9, §11)."""

    id: str
    table: str  # key into PIXEL_TABLES
    text_to_video: bool
    first_frame: bool
    first_last_frame: bool
    max_reference_images: int  # 0: no reference-image mode
    min_reference_images: int
    resolutions: tuple[str, ...]
    reference_resolutions: tuple[str, ...]  # resolutions allowed in the reference scenario
    default_resolution: str
    duration_min: int
    duration_max: int
    auto_duration: bool  # duration -1 allowed
    frames: bool  # takes `frames` (25+4n)
    audio: bool  # honours generate_audio
    camerafixed: bool
    camerafixed_with_reference: bool
    adaptive_text_to_video: bool  # adaptive ratio without an image
    concurrency: int  # tasks running at once per account (§11.3; 10 where unknown)
    rpm: int  # creates per minute per account (§11.3; 600 where unknown)
    price_per_mtok: float | None  # PRICE_CURRENCY per million tokens, silent video
    price_per_mtok_audio: float | None  # with generate_audio
    returns_last_frame: bool  # NEXIOR: AceData strips return_last_frame on 2.x and lite (§7)
    family: str
    references: References | None = None  # None: no video/audio references (before 2.0)
    # 2.0 with a reference video bills at another rate, for (input + output seconds), with a
    # minimum (§11.1; prices 28 / 22 from a third-party table of Ark's billing keys [DERIVED]).
    price_per_mtok_video_input: float | None = None


_R3 = ("480p", "720p", "1080p")

MODELS: dict[str, ModelCaps] = {
    m.id: m
    for m in (
        ModelCaps(
            id="doubao-seedance-1-0-pro-250528", family="1.0", table="1.0",
            text_to_video=True, first_frame=True, first_last_frame=True,
            max_reference_images=0, min_reference_images=0,
            resolutions=_R3, reference_resolutions=(), default_resolution="1080p",
            duration_min=2, duration_max=12, auto_duration=False, frames=True, audio=False,
            camerafixed=True, camerafixed_with_reference=False, adaptive_text_to_video=False,
            concurrency=10, rpm=600, price_per_mtok=15.0, price_per_mtok_audio=None,
            returns_last_frame=True,
        ),
        # first+last: Ark says no, NEXIOR says yes (§7 [CONFLICT]); we follow Ark, the
        # upstream, so a storyboard is rejected here rather than failing after submission.
        ModelCaps(
            id="doubao-seedance-1-0-pro-fast-251015", family="1.0", table="1.0",
            text_to_video=True, first_frame=True, first_last_frame=False,
            max_reference_images=0, min_reference_images=0,
            resolutions=_R3, reference_resolutions=(), default_resolution="1080p",
            duration_min=2, duration_max=12, auto_duration=False, frames=True, audio=False,
            camerafixed=True, camerafixed_with_reference=False, adaptive_text_to_video=False,
            concurrency=10, rpm=600, price_per_mtok=4.2, price_per_mtok_audio=None,
            returns_last_frame=True,
        ),
        ModelCaps(
            id="doubao-seedance-1-5-pro-251215", family="1.5", table="1.5",
            text_to_video=True, first_frame=True, first_last_frame=True,
            max_reference_images=0, min_reference_images=0,
            resolutions=_R3, reference_resolutions=(), default_resolution="720p",
            duration_min=4, duration_max=12, auto_duration=True, frames=False, audio=True,
            camerafixed=True, camerafixed_with_reference=False, adaptive_text_to_video=True,
            concurrency=10, rpm=600, price_per_mtok=8.0, price_per_mtok_audio=16.0,
            returns_last_frame=True,
        ),
        ModelCaps(
            id="doubao-seedance-1-0-lite-t2v-250428", family="1.0", table="1.0",
            text_to_video=True, first_frame=False, first_last_frame=False,
            max_reference_images=0, min_reference_images=0,
            resolutions=_R3, reference_resolutions=(), default_resolution="720p",
            duration_min=2, duration_max=12, auto_duration=False, frames=True, audio=False,
            camerafixed=True, camerafixed_with_reference=False, adaptive_text_to_video=False,
            concurrency=5, rpm=300, price_per_mtok=10.0, price_per_mtok_audio=None,
            returns_last_frame=False,
        ),
        ModelCaps(
            id="doubao-seedance-1-0-lite-i2v-250428", family="1.0", table="1.0",
            text_to_video=False, first_frame=True, first_last_frame=True,
            max_reference_images=4, min_reference_images=1,
            resolutions=_R3, reference_resolutions=("480p", "720p"), default_resolution="720p",
            duration_min=2, duration_max=12, auto_duration=False, frames=True, audio=False,
            camerafixed=True, camerafixed_with_reference=False, adaptive_text_to_video=False,
            concurrency=5, rpm=300, price_per_mtok=10.0, price_per_mtok_audio=None,
            returns_last_frame=False,
        ),
        ModelCaps(
            id="doubao-seedance-2-0-260128", family="2.0", table="1.5",
            text_to_video=True, first_frame=True, first_last_frame=True,
            max_reference_images=9, min_reference_images=1,
            resolutions=(*_R3, "4k"), reference_resolutions=(*_R3, "4k"),
            default_resolution="720p",
            duration_min=4, duration_max=15, auto_duration=True, frames=False, audio=True,
            camerafixed=False, camerafixed_with_reference=False, adaptive_text_to_video=True,
            concurrency=10, rpm=600, price_per_mtok=46.0, price_per_mtok_audio=46.0,
            returns_last_frame=False,
            references=REFERENCES_20, price_per_mtok_video_input=28.0,
        ),
        ModelCaps(
            id="doubao-seedance-2-0-fast-260128", family="2.0", table="1.5",
            text_to_video=True, first_frame=True, first_last_frame=True,
            max_reference_images=9, min_reference_images=1,
            resolutions=("480p", "720p"), reference_resolutions=("480p", "720p"),
            default_resolution="720p",
            duration_min=4, duration_max=15, auto_duration=True, frames=False, audio=True,
            camerafixed=False, camerafixed_with_reference=False, adaptive_text_to_video=True,
            concurrency=10, rpm=600, price_per_mtok=37.0, price_per_mtok_audio=37.0,
            returns_last_frame=False,
            references=REFERENCES_20, price_per_mtok_video_input=22.0,
        ),
        # 2.0-mini price: half of 2.0, from AceData's credit column (0.073 vs 0.146) [DERIVED].
        ModelCaps(
            id="doubao-seedance-2-0-mini-260615", family="2.0", table="1.5",
            text_to_video=True, first_frame=True, first_last_frame=True,
            max_reference_images=9, min_reference_images=1,
            resolutions=("480p", "720p"), reference_resolutions=("480p", "720p"),
            default_resolution="720p",
            duration_min=4, duration_max=15, auto_duration=True, frames=False, audio=True,
            camerafixed=False, camerafixed_with_reference=False, adaptive_text_to_video=True,
            concurrency=10, rpm=600, price_per_mtok=23.0, price_per_mtok_audio=23.0,
            returns_last_frame=False,
            references=REFERENCES_20_MINI, price_per_mtok_video_input=14.0,  # half of 2.0 [DERIVED]
        ),
        # 2.5: no token price published anywhere (§11.2), so no cost estimate.
        ModelCaps(
            id="doubao-seedance-2-5-260628", family="2.5", table="1.5",
            text_to_video=True, first_frame=True, first_last_frame=True,
            max_reference_images=30, min_reference_images=1,
            resolutions=_R3, reference_resolutions=_R3, default_resolution="720p",
            duration_min=4, duration_max=30, auto_duration=True, frames=False, audio=True,
            camerafixed=False, camerafixed_with_reference=False, adaptive_text_to_video=True,
            concurrency=10, rpm=600, price_per_mtok=None, price_per_mtok_audio=None,
            returns_last_frame=False,
            references=REFERENCES_25,
        ),
    )
}  # fmt: skip


def pixel_size(model: str, resolution: str, ratio: str) -> tuple[int, int]:
    """Output (width, height) for a concrete ratio (not ``adaptive``); KeyError if unknown."""
    return PIXEL_TABLES[MODELS[model].table][(resolution, ratio)]


def closest_ratio(width: int, height: int) -> str:
    """The table ratio nearest to an image's aspect (how ``adaptive`` picks with an image, §9)."""
    aspect = width / height

    def distance(r: str) -> float:
        a, b = (int(x) for x in r.split(":"))
        return abs(aspect - a / b)

    return min(ALL_RATIOS, key=distance)


def frames_valid(frames: int) -> bool:
    """True for 25+4n (n >= 1) within [29, 289] (§10)."""
    return FRAMES_MIN <= frames <= FRAMES_MAX and (frames - 25) % 4 == 0

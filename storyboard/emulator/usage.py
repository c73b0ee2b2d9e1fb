"""The token count the emulator reports as ``usage`` (docs/protocol.md §11.1), in one place.

Owns: ``completion_tokens``. Most models: width x height x frames / 1024, i.e.
W*H*(24*d+1)//1024, the rule matching real counts. The 2.0 family with a reference video bills
the input video too (§11.1: "(input video duration + output duration) x W x H x fps / 1024, and
a minimum applies"): (input seconds + output seconds) x W x H x 24 / 1024, where the input counts
as at least ``MIN_INPUT_VIDEO_SECONDS`` — the minimum, taken as the shortest reference video the
limits allow (§1.3: 2 s), which the client's estimate uses too.

Must not import anything from the package except ``storyboard.seedance.capabilities`` (data).
"""

from __future__ import annotations

from storyboard.seedance.capabilities import FPS, MODELS

__all__ = ["MIN_INPUT_VIDEO_SECONDS", "completion_tokens"]

MIN_INPUT_VIDEO_SECONDS = 2.0


def completion_tokens(
    model: str, width: int, height: int, frames: int, output_seconds: float, input_video_seconds: float | None
) -> int:
    """Tokens of one finished task; ``input_video_seconds`` None: no reference video."""
    if input_video_seconds is None or MODELS[model].family != "2.0":
        return width * height * frames // 1024
    seconds = max(input_video_seconds, MIN_INPUT_VIDEO_SECONDS) + output_seconds
    return int(seconds * width * height * FPS / 1024)

"""How large a create body and how large and slow a result download may be, from the capability table.

Owns: ``within_body_limit()`` (a create body over the service's 64 MB is refused before it is
sent), ``largest_clip_bytes()`` (the biggest clip any model of the table can make, at a high
bitrate), ``MAX_RESULT_BYTES`` (the download byte cap: a generous multiple of it) and
``DOWNLOAD_DEADLINE`` (seconds one result file may take, all retries included). Must not
import the client, the emulator or anything outside the seedance package but the errors.
"""

from __future__ import annotations

import json
from typing import Any

from storyboard.errors import RequestTooLargeError
from storyboard.seedance.capabilities import BODY_MAX_BYTES, FPS, MODELS, PIXEL_TABLES

__all__ = [
    "BITS_PER_PIXEL", "DOWNLOAD_DEADLINE", "HEADROOM", "MAX_RESULT_BYTES", "largest_clip_bytes", "within_body_limit",
]  # fmt: skip

# H.264 at a generous quality spends 0.1-0.2 bits per pixel and frame; 0.25 bounds it from above.
BITS_PER_PIXEL = 0.25
HEADROOM = 8  # the cap is this many times the largest clip: only a runaway body reaches it
DOWNLOAD_DEADLINE = 900.0  # 15 min per file: a 750 MB cap at under 1 MB/s, a 100 MB clip at 110 kB/s


def largest_clip_bytes() -> int:
    """Bytes of the largest clip a model of the table can make (its biggest frame, its longest
    duration, ``FPS`` frames a second, ``BITS_PER_PIXEL``)."""
    largest = 0
    for caps in MODELS.values():
        table = PIXEL_TABLES[caps.table]
        resolutions = set(caps.resolutions) | set(caps.reference_resolutions)
        pixels = max((w * h for (res, _ratio), (w, h) in table.items() if res in resolutions), default=0)
        largest = max(largest, pixels * caps.duration_max * FPS)
    return int(largest * BITS_PER_PIXEL / 8)


MAX_RESULT_BYTES = HEADROOM * largest_clip_bytes()


def within_body_limit(payload: dict[str, Any]) -> None:
    """Refuse, before sending, a create body over the service's 64 MB (§9), inline media included
    (e.g. a chained frame that arrives as a data URI when the render starts)."""
    size = len(json.dumps(payload, separators=(",", ":")).encode())
    if size > BODY_MAX_BYTES:
        raise RequestTooLargeError(
            f"the create request is {size / 1048576:.1f} MB; the service takes at most {BODY_MAX_BYTES >> 20} MB "
            "(give big media as url:); nothing was sent"
        )

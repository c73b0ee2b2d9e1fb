"""The last-frame policy: a chained shot starts on its upstream shot's true last frame.

Owns every decision about last frames the engine makes:

- *request it*: a shot other shots chain from (or that asks for it) sends ``return_last_frame``;
- *keep it out of the cache key*: chaining a new shot onto a cached one must not turn the cached
  one into a different, paid-again shot, so the key ignores the flag;
- *fall back*: a model that returns no last frame (AceData strips the flag on 2.x and lite,
  docs/protocol.md §7) gets its frame extracted from the clip — the true last decoded frame;
- *store it* beside the clip in the cache, also for a clip cached before anything chained from it;
- *hand it on*: the fresh URL the service gave this run (valid about a day), else the cached PNG
  inline as a data URI.

(The language warns at validate time when a chained-from model may return no frame: that is
``spec.rules``, which reads the same capability fact.) Must not import MoviePy (it decodes with
the bundled ffmpeg), the CLI, render or the scheduler.
"""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg

from storyboard.errors import AssembleError
from storyboard.seedance.wire import CreateBody
from storyboard.store.cache import CachedClip
from storyboard.store.tiered import ClipStore

__all__ = ["LastFrames", "extract_last_frame", "key_fields", "requested"]

Extractor = Callable[[Path, Path], Path]


def requested(*, chained_from: bool, asked: bool) -> bool:
    """Whether a shot's request asks the service for its last frame."""
    return chained_from or asked


def key_fields(body: CreateBody) -> dict[str, object]:
    """The body's fields that identify the clip (everything but the last-frame request)."""
    return {k: v for k, v in body.items() if k != "return_last_frame"}


def extract_last_frame(clip: Path, dest: Path) -> Path:
    """Write the last decoded frame of `clip` to `dest` (PNG) and return `dest`.

    Seeking to the nominal duration can land past the last frame or on one before it, so this
    decodes the final second and keeps whatever frame came last.
    """
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-sseof", "-1", "-i", str(clip),
        "-map", "0:v:0", "-update", "1", "-f", "image2", "-c:v", "png", str(dest),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not dest.exists():
        detail = (proc.stderr.strip().splitlines() or ["no frame decoded"])[-1]
        raise AssembleError(f"cannot take the last frame of {clip.name}: {detail}")
    return dest


class LastFrames:
    """Last frames of generated clips, kept in `cache`; `extract` is injectable for tests."""

    def __init__(self, cache: ClipStore, extract: Extractor = extract_last_frame) -> None:
        self.cache = cache
        self.extract = extract

    def after_download(
        self, body: CreateBody, clip: Path, dest: Path, url: str | None, download: Callable[[str, Path], object]
    ) -> Path | None:
        """The last frame to store with a just-downloaded clip, written to `dest`: the service's
        (at `url`), else extracted from the clip when the request asked for one, else none."""
        if url is not None:
            download(url, dest)
            return dest
        if body.get("return_last_frame"):
            return self.extract(clip, dest)  # the service sent none: take it ourselves
        return None

    def frame_url(self, entry: CachedClip, fresh_url: str | None) -> tuple[str, CachedClip]:
        """Where a dependant fetches `entry`'s last frame, and the entry (with its frame stored)."""
        if fresh_url is not None:
            return fresh_url, entry
        frame = entry.last_frame
        if frame is None:  # cached before anything chained from it
            png = self.extract(entry.clip, self.cache.staging_dir() / f"{entry.key}.png")
            entry = self.cache.add_last_frame(entry, png)
            # not stored when another render is rewriting the entry: this frame is used once
            frame = entry.last_frame or png
        encoded = base64.b64encode(frame.read_bytes()).decode("ascii")
        if frame != entry.last_frame:
            frame.unlink(missing_ok=True)
        return "data:image/png;base64," + encoded, entry

"""Local reference videos and audio: what they hold, whether a 2.x model accepts them, their data URIs.

Owns: reading a video or audio file's header with the bundled ffmpeg (``ffmpeg -i``: container,
duration, picture size, frame rate, streams; nothing is decoded), the acceptance rules of
docs/protocol.md §1.3 and §9 for reference videos and audio (formats, durations, bytes, pixel
counts, sides, aspect, fps: the limits come from the capability table's ``References``),
content hashing and audio data URIs. Results are memoised per (path, size, mtime), as images
are in ``images.py``. The assembly has its own prober; the language may not import it.
Must not import models, the loader, the client or anything above them.
"""

from __future__ import annotations

import base64
import functools
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from storyboard.seedance.capabilities import References
from storyboard.spec.localfile import sha256_of, stat_key

__all__ = ["MediaInfo", "audio_data_uri", "audio_problem", "inspect_media", "video_problem"]

_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_INPUT = re.compile(r"^Input #0, ([^ ]+), from", re.MULTILINE)
_VIDEO = re.compile(r"Stream #0:\d+\S*: Video: .*?, (\d{2,5})x(\d{2,5})[ ,].*?(\d+(?:\.\d+)?) fps")
_AUDIO = re.compile(r"Stream #0:\d+\S*: Audio: ")
# ffmpeg's demuxer names -> the format names of §1.3 (mp4 and mov share one demuxer)
_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": "mp4/mov", "mp3": "mp3", "wav": "wav"}


@dataclass(frozen=True)
class MediaInfo:
    """Header facts about a local video or audio file."""

    path: Path
    container: str  # mp4/mov, mp3, wav, or ffmpeg's own demuxer name for anything else
    seconds: float
    width: int  # 0 without a video stream
    height: int
    fps: float
    has_audio: bool
    size: int  # bytes
    sha256: str

    @property
    def has_video(self) -> bool:
        return self.width > 0


def _ffmpeg() -> str:
    import imageio_ffmpeg

    exe: str = imageio_ffmpeg.get_ffmpeg_exe()  # the package has no type information
    return exe


@functools.lru_cache(maxsize=256)
def _inspect(path: str, size: int, mtime_ns: int) -> MediaInfo | str:
    del mtime_ns  # part of the memo key only: a changed file is read again
    # `ffmpeg -i` with no output exits 1 after printing the input's description: that is the probe
    proc = subprocess.run([_ffmpeg(), "-hide_banner", "-i", path], capture_output=True, text=True, check=False)
    text = proc.stderr
    container = _INPUT.search(text)
    duration = _DURATION.search(text)
    if container is None or duration is None:
        return "is not a video or audio file ffmpeg can read"
    h, m, s = duration.groups()
    video = _VIDEO.search(text)
    width, height, fps = (int(video[1]), int(video[2]), float(video[3])) if video else (0, 0, 0.0)
    return MediaInfo(
        Path(path), _CONTAINERS.get(container[1], container[1]), int(h) * 3600 + int(m) * 60 + float(s),
        width, height, fps, bool(_AUDIO.search(text)), size, sha256_of(path),
    )  # fmt: skip


def inspect_media(path: Path) -> MediaInfo | str:
    """MediaInfo for a readable video or audio file, or a message saying why it is not one."""
    key = stat_key(path)
    return key if isinstance(key, str) else _inspect(*key)


def _seconds(what: str, info: MediaInfo, low: float, high: float) -> str | None:
    if not low <= info.seconds <= high:
        return f"is {info.seconds:g} s long; a reference {what} must be {low:g} to {high:g} s"
    return None


def video_problem(info: MediaInfo, limits: References) -> str | None:
    """Why the service would refuse this file as a reference video (§9), or None."""
    if not info.has_video or info.container != "mp4/mov":
        return f"is not an mp4 or mov video (found {info.container}); reference videos must be mp4 or mov"
    if info.size > limits.video_max_bytes:
        return f"is {info.size / 1048576:.1f} MB; a reference video may be at most {limits.video_max_bytes >> 20} MB"
    if problem := _seconds("video", info, *limits.video_seconds):
        return problem
    w, h = info.width, info.height
    low, high = limits.video_side
    if not (low <= w <= high and low <= h <= high):
        return f"is {w}x{h}; each side of a reference video must be {low} to {high} pixels"
    low, high = limits.video_pixels
    if not low <= w * h <= high:
        return f"is {w}x{h} ({w * h:,} pixels); a reference video must have {low:,} to {high:,} pixels"
    low_a, high_a = limits.video_aspect
    if not low_a <= w / h <= high_a:
        return f"is {w}x{h} (aspect {w / h:.2f}); width/height must be {low_a:g} to {high_a:g}"
    low_f, high_f = limits.video_fps
    if not low_f <= info.fps <= high_f:
        return f"runs at {info.fps:g} fps; a reference video must have {low_f:g} to {high_f:g} fps"
    return None


def audio_problem(info: MediaInfo, limits: References) -> str | None:
    """Why the service would refuse this file as a reference audio clip (§9), or None."""
    if info.has_video or info.container not in limits.audio_formats:
        found = "a video" if info.has_video else info.container
        return f"is not wav or mp3 audio (found {found}); reference audio must be wav or mp3"
    if info.size > limits.audio_max_bytes:
        return f"is {info.size / 1048576:.1f} MB; reference audio may be at most {limits.audio_max_bytes >> 20} MB"
    return _seconds("audio clip", info, *limits.audio_seconds)


@functools.lru_cache(maxsize=16)
def audio_data_uri(info: MediaInfo) -> str:
    """The file's bytes as ``data:audio/<wav|mp3>;base64,...`` (§9 allows audio inline)."""
    payload = base64.b64encode(info.path.read_bytes()).decode("ascii")
    return f"data:audio/{info.container};base64,{payload}"

"""Reading reference media with the bundled ffmpeg: what a file is, and its frames.

Owns: ``MediaInfo`` and ``probe`` (container, duration, video size, native fps, the number of
frames at 24 fps, presence of audio, read from ffmpeg's own description of the file and a
decoding pass), ``MediaError`` (the file is not decodable media), and ``iter_frames`` (a video's
frames resampled to 24 fps, streamed as RGB arrays, and ``first_frame``). The limits these facts are checked
against live in ``references.py``; what is drawn from the frames lives in ``clips.py``.

Must not import anything from the package (the emulator may import only
``storyboard.seedance.capabilities``), nor MoviePy: it drives ``imageio_ffmpeg``'s ffmpeg.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from storyboard.seedance.capabilities import FPS

__all__ = ["MP4_FAMILY", "MediaError", "MediaInfo", "first_frame", "iter_frames", "probe"]

MP4_FAMILY = "mov,mp4,m4a,3gp,3g2,mj2"  # ffmpeg's one demuxer for both mp4 and mov
_INPUT = re.compile(r"^Input #0, (\S+?), from", re.M)
_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #0:\d+\S*: Video: .*?, (\d+)x(\d+)(?:.*?, ([\d.]+) fps)?")
_AUDIO = re.compile(r"Stream #0:\d+\S*: Audio: ")
_FRAME = re.compile(r"frame=\s*(\d+)")


class MediaError(Exception):
    """The file is not media ffmpeg can decode."""


@dataclass(frozen=True)
class MediaInfo:
    """What ffmpeg says about one media file."""

    container: str  # ffmpeg's demuxer name: MP4_FAMILY, "wav", "mp3", ...
    seconds: float
    size: tuple[int, int] | None  # (width, height) of the first video stream; None: no video
    fps: float | None  # its native frame rate, when ffmpeg states one
    frames: int  # video frames once resampled to 24 fps (what a clip made from it holds); 0: no video
    audio: bool


def probe(path: Path) -> MediaInfo:
    """Describe ``path``; ``MediaError`` when ffmpeg cannot read it as media."""
    # One pass: the header tells container, duration and streams; decoding the first video
    # stream at 24 fps counts its frames exactly (headers may be wrong, decoding is not).
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path),
           "-map", "0:v:0?", "-vf", f"fps={FPS}", "-an", "-f", "null", "-"]  # fmt: skip
    err = subprocess.run(cmd, capture_output=True, text=True, errors="replace").stderr
    head, duration = _INPUT.search(err), _DURATION.search(err)
    if head is None or duration is None:
        raise MediaError(f"{path.name} is not decodable media")
    hours, minutes, seconds = duration.groups()
    video = _VIDEO.search(err)
    frames = _FRAME.findall(err) if video else []
    return MediaInfo(
        container=head.group(1),
        seconds=int(hours) * 3600 + int(minutes) * 60 + float(seconds),
        size=(int(video.group(1)), int(video.group(2))) if video else None,
        fps=float(video.group(3)) if video and video.group(3) else None,
        frames=int(frames[-1]) if frames else 0,
        audio=_AUDIO.search(err) is not None,
    )


def iter_frames(path: Path, size: tuple[int, int]) -> Generator[np.ndarray, None, None]:
    """The video's frames at 24 fps as (H, W, 3) uint8 arrays; ``size`` is its (width, height)."""
    w, h = size
    frame_bytes = w * h * 3
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(path),
           "-map", "0:v:0", "-vf", f"fps={FPS}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]  # fmt: skip
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None
        try:
            while len(raw := proc.stdout.read(frame_bytes)) == frame_bytes:
                yield np.frombuffer(raw, np.uint8).reshape(h, w, 3)
        finally:
            proc.kill()  # a consumer that stops early must not leave ffmpeg writing to a full pipe


def first_frame(path: Path, size: tuple[int, int]) -> np.ndarray:
    """The video's first frame (ffmpeg stops as soon as it is read)."""
    frames = iter_frames(path, size)
    try:
        return next(frames)
    except StopIteration:
        raise MediaError(f"{path.name} has no video frames") from None
    finally:
        frames.close()

"""What a media file holds, read with the bundled ffmpeg (there is no ffprobe in imageio-ffmpeg).

Owns: ``ClipInfo``, ``probe()`` for video clips, ``probe_audio()`` for music, the path to the
ffmpeg binary and ``ffmpeg_reason()`` (the one line of ffmpeg's stderr that says what failed).

The frame count comes from stream-copying the video packets to the null muxer: exact (unlike the
two-decimal ``Duration:`` line MoviePy trusts) and fast, since nothing is decoded.

Must not import: moviepy, the rest of storyboard except ``storyboard.errors``.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import TypedDict

from storyboard.errors import AssembleError

__all__ = ["ClipInfo", "ffmpeg_exe", "ffmpeg_reason", "probe", "probe_audio"]

_INPUT_STREAM = re.compile(r"^\s*Stream #0:\d+\S*: (Video|Audio): (.*)$")
_SIZE = re.compile(r"^(\d+)x(\d+)")
_FRAMES = re.compile(r"frame=\s*(\d+)")


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """The ffmpeg binary bundled with imageio-ffmpeg."""
    import imageio_ffmpeg

    exe: str = imageio_ffmpeg.get_ffmpeg_exe()  # the package has no type information
    return exe


_LOG_PREFIX = re.compile(r"^(\[[^\]]*@ 0x[0-9a-f]+\]\s*)+")
_LEVEL = re.compile(r"\[(panic|fatal|error|warning|info|verbose|debug|trace)\] ")


def ffmpeg_reason(stderr: str) -> str:
    """What went wrong, from ffmpeg's stderr: its first error (later ones are consequences,
    e.g. "Unknown encoder 'x'" is followed by "Error opening output files: Encoder not found").
    With ``-loglevel level+...`` the first [error]/[fatal] line wins over warnings."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "[error] " in ln or "[fatal] " in ln]
    for line in errors or lines:
        line = _LEVEL.sub("", _LOG_PREFIX.sub("", line), count=1)
        if line and not line.startswith(("frame=", "size=")):
            return line
    return "ffmpeg failed without a message"


@dataclass(frozen=True)
class ClipInfo:
    """A video file's picture and sound as assembly needs them.

    ``signature`` holds the video stream parameters that must be equal for a stream copy
    across files to stay decodable (codec, profile, pixel format and colour, size, rates).
    """

    width: int
    height: int
    fps: float
    frames: int
    duration: float
    has_audio: bool
    codec: str = ""
    pixel_format: str = ""
    signature: tuple[str, ...] = ()

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)

    @property
    def matrix(self) -> str:
        """The YUV matrix of the picture: bt709 when tagged so, else bt601 (ffmpeg's default)."""
        return "bt709" if len(self.signature) > 1 and "bt709" in self.signature[1] else "bt601"


def _split_top(text: str) -> list[str]:
    """Split ffmpeg's stream description at commas that are not inside brackets."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur).strip())
    return [p for p in parts if p]


def _exact_fps(value: float) -> float:
    """23.98 -> 24000/1001: ffmpeg prints NTSC rates rounded, timing maths needs them exact."""
    for base in (24, 30, 60, 120):
        ntsc = Fraction(base * 1000, 1001)
        if abs(value - float(ntsc)) < 0.01:
            return float(ntsc)
    return value


def _number(text: str) -> float:
    """ffmpeg's rate notation: 24, 23.98, 1k."""
    return float(text[:-1]) * 1000 if text.endswith("k") else float(text)


class _VideoStream(TypedDict):
    """The ``ClipInfo`` fields read from a video stream's description."""

    width: int
    height: int
    fps: float
    codec: str
    pixel_format: str
    signature: tuple[str, ...]


def _parse_video(desc: str, path: Path) -> _VideoStream:
    fields = _split_top(desc)
    codec = fields[0].split()[0]
    pix_fmt = fields[1] if len(fields) > 1 else ""
    size = next((m for f in fields if (m := _SIZE.match(f))), None)
    fps_field = next((f for f in fields if f.endswith(" fps")), None) or next(
        (f for f in fields if f.endswith(" tbr")), None
    )
    if size is None or fps_field is None:
        raise AssembleError(f"cannot read {path}: its video stream has no size or frame rate")
    flags = re.compile(r"(\s*\((default|forced|attached pic)\))+$")
    keep = tuple(flags.sub("", f) for f in fields if not f.endswith("kb/s") and not f.startswith("start "))
    return {
        "width": int(size.group(1)),
        "height": int(size.group(2)),
        "fps": _exact_fps(_number(fps_field.split()[0])),
        "codec": codec,
        "pixel_format": pix_fmt.split("(")[0],
        "signature": keep,
    }


_ROTATION = re.compile(r"rotation of (-?[0-9.]+) degrees", re.I)


def _streams(path: Path, stderr: str) -> tuple[str | None, int, bool]:
    """(first video stream's description, its display rotation in degrees, has audio)."""
    if "Input #0" not in stderr:
        raise AssembleError(f"cannot read {path}: {ffmpeg_reason(stderr)}")
    header = _LEVEL.sub("", stderr.split("Stream mapping:")[0].split("Output #0")[0])
    video, rotation, audio, in_video = None, 0, False, False
    for line in header.splitlines():
        stream = _INPUT_STREAM.match(line)
        if stream is not None:
            kind, desc = stream.groups()
            in_video = kind == "Video" and video is None and "attached pic" not in desc
            video = desc if in_video else video
            audio = audio or kind == "Audio"
        elif in_video and (turn := _ROTATION.search(line)):
            rotation = round(float(turn.group(1))) % 360
    return video, rotation, audio


def probe(path: Path) -> ClipInfo:
    """Size, exact frame rate and frame count, and audio presence of a video file."""
    path = Path(path)
    if not path.is_file():
        raise AssembleError(f"file not found: {path}")
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "level+info", "-i", str(path),
         "-map", "0:v:0?", "-c", "copy", "-f", "null", "-"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False,
    )  # fmt: skip
    stderr = proc.stderr.decode("utf-8", "replace")
    video, rotation, has_audio = _streams(path, stderr)
    if video is None:
        raise AssembleError(f"{path} has no video stream")
    counts = _FRAMES.findall(stderr)
    if proc.returncode != 0 or not counts or int(counts[-1]) == 0:
        raise AssembleError(f"cannot read {path}: {ffmpeg_reason(stderr)}")
    info = _parse_video(video, path)
    if rotation:
        # phone videos: ffmpeg turns the decoded picture upright, so that is its size
        info["signature"] += (f"rotation {rotation}",)
        if rotation % 180:
            info["width"], info["height"] = info["height"], info["width"]
    frames = int(counts[-1])
    return ClipInfo(frames=frames, duration=frames / info["fps"], has_audio=has_audio, **info)


def probe_audio(path: Path) -> bool:
    """Whether ``path`` exists and holds an audio stream ffmpeg can read."""
    path = Path(path)
    if not path.is_file():
        raise AssembleError(f"file not found: {path}")
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "level+info", "-i", str(path)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False,
    )  # fmt: skip
    _, _, has_audio = _streams(path, proc.stderr.decode("utf-8", "replace"))
    return has_audio

"""Small reference videos and audio for 2.x storyboard tests, made with the bundled ffmpeg.

Owns: writing a `media/` set of videos and audio clips on either side of the docs/protocol.md
§1.3 and §9 reference limits (pixels, durations, formats). Must not import the storyboard
package: the files have to be what they claim independently of the code under test.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import imageio_ffmpeg

# name -> ffmpeg arguments after the inputs' lavfi sources (sizes, seconds chosen around the limits)
VIDEOS: dict[str, tuple[str, float]] = {
    "clip.mp4": ("640x640", 3.0),  # inside every limit
    "small.mp4": ("640x360", 3.0),  # 230,400 pixels < 409,600
    "long.mp4": ("640x640", 16.0),  # > 15 s
}
AUDIO: dict[str, float] = {
    "voice.wav": 5.0,
    "ten.wav": 10.0,
    "long.wav": 20.0,  # > 15 s
    "short.wav": 1.0,  # < 2 s
}


def _run(*args: str) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *args], check=True)


def make_ref_media(media: Path) -> Path:
    """Create the VIDEOS and AUDIO in `media` (made once, then copied: see `copy_ref_media`)."""
    media.mkdir(parents=True, exist_ok=True)
    for name, (size, seconds) in VIDEOS.items():
        _run("-f", "lavfi", "-i", f"testsrc=size={size}:rate=24:duration={seconds:g}",
             "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(media / name))  # fmt: skip
    for name, seconds in AUDIO.items():
        _run("-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds:g}", str(media / name))
    return media


def copy_ref_media(made: Path, media: Path) -> None:
    """Copy the files `make_ref_media` made into another media directory."""
    media.mkdir(parents=True, exist_ok=True)
    for path in made.iterdir():
        shutil.copy2(path, media / path.name)

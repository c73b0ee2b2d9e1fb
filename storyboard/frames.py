"""Frames taken out of video files with the bundled ffmpeg (imageio-ffmpeg).

Owns: extracting the true last decoded frame of a clip as PNG (when the service returned no
last frame). Seeking to the nominal duration can land past the last frame or on a frame before
it, so this decodes the final second and keeps whatever frame came last. Must not import
MoviePy (plan/render start fast), the client or anything above it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg

from storyboard.errors import AssembleError

__all__ = ["extract_last_frame"]


def extract_last_frame(clip: Path, dest: Path) -> Path:
    """Write the last decoded frame of `clip` to `dest` (PNG) and return `dest`."""
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-sseof", "-1", "-i", str(clip),
        "-map", "0:v:0", "-update", "1", "-f", "image2", "-c:v", "png", str(dest),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not dest.exists():
        detail = (proc.stderr.strip().splitlines() or ["no frame decoded"])[-1]
        raise AssembleError(f"cannot take the last frame of {clip.name}: {detail}")
    return dest

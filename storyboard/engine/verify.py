"""Whether a downloaded result is what it claims to be, before it enters the cache.

Owns: ``verify_download(clip, frame)``. The clip must be a video file (MP4/MOV or Matroska/WebM)
with at least one video frame, read by the bundled ffmpeg (imageio-ffmpeg) stream-copying its
video packets to the null muxer: every packet is read, nothing is decoded, so it is quick even
for a long clip. The last frame, when there is one, must be a PNG, JPEG or WebP image that Pillow
verifies and decodes, its header checked against decompression bombs first. A bad file (an HTML
"Access denied" page, garbage, a cut-off clip) raises ``DownloadError`` with a one-line reason
after both files are removed, so nothing of it is cached; the scheduler then leaves the task
journaled and the next render downloads it again without paying.
Must not import MoviePy, the CLI, render or the scheduler.
"""

from __future__ import annotations

import html
import re
import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg
from PIL import Image

from storyboard.errors import DownloadError

__all__ = ["PROBE_TIMEOUT", "Verifier", "verify_download"]

Verifier = Callable[[Path, Path | None], None]
PROBE_TIMEOUT = 120.0  # seconds ffmpeg may take to read one clip

_CONTAINERS = ("mov", "mp4", "matroska", "webm")
_INPUT = re.compile(r"^Input #0, ([\w,]+), from", re.M)
_FRAMES = re.compile(r"frame=\s*(\d+)")
_IMAGES = ("PNG", "JPEG", "WEBP")
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
_NOT_CACHED = "it was not cached; the task stays journaled, so the next render downloads it again without paying"


def verify_download(clip: Path, frame: Path | None) -> None:
    """Raise ``DownloadError`` (after deleting both files) unless `clip` is a playable video and
    `frame`, when given, an image."""
    try:
        problem = _clip_problem(clip)
        if problem:
            raise DownloadError(f"the downloaded clip is not a playable video ({problem}); {_NOT_CACHED}")
        problem = _frame_problem(frame) if frame is not None else None
        if problem:
            raise DownloadError(
                f"the last frame downloaded with the clip is not a PNG/JPEG/WebP image ({problem}); {_NOT_CACHED}"
            )
    except DownloadError:
        clip.unlink(missing_ok=True)
        if frame is not None:
            frame.unlink(missing_ok=True)
        raise


def _clip_problem(clip: Path) -> str | None:
    text = _text_problem(clip)
    if text:
        return text
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "info", "-i", str(clip),
           "-map", "0:v:0", "-c", "copy", "-f", "null", "-"]  # fmt: skip
    try:
        proc = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=PROBE_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        return f"ffmpeg could not read it within {PROBE_TIMEOUT:g} s"
    stderr = proc.stderr.decode("utf-8", "replace")
    container = _INPUT.search(stderr)
    if container is None or proc.returncode != 0:
        return "ffmpeg: " + _reason(stderr)
    if not any(name in _CONTAINERS for name in container.group(1).split(",")):
        return f"it is a {container.group(1).split(',')[0]} file, not a video file"
    frames = _FRAMES.findall(stderr)
    if not frames or int(frames[-1]) == 0:
        return "it has no video frames"
    return None


def _frame_problem(frame: Path) -> str | None:
    text = _text_problem(frame)
    if text:
        return text
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(frame) as im:
                kind = im.format or "unknown"
                im.verify()  # checksums and structure, without decoding
            with Image.open(frame) as im:
                im.load()  # every pixel decodes: a cut-off file fails here
    except (Exception, Image.DecompressionBombWarning) as exc:  # Pillow raises many kinds for bad input
        return " ".join(str(exc).split())[:200] or type(exc).__name__
    return None if kind in _IMAGES else f"it is a {kind} image"


def _text_problem(path: Path) -> str | None:
    """Empty files and HTML pages (what CDNs and proxies answer for refused URLs), by their head."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if not head:
        return "the file is empty"
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")) or b"<html" in lowered[:512]:
        title = _TITLE.search(head)
        named = html.unescape(" ".join(title.group(1).decode("utf-8", "replace").split()))[:80] if title else ""
        return f'it is an HTML page titled "{named}"' if named else "it is an HTML page"
    return None


def _reason(stderr: str) -> str:
    """ffmpeg's last line that says what failed (its earlier lines are context)."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not ln.lstrip().startswith("frame=")]
    errors = [ln for ln in lines if "Error" in ln or "Invalid" in ln or "not found" in ln]
    line = (errors or lines or ["no output"])[-1]
    return re.sub(r"^(\[[^\]]*\]\s*)+", "", line)[:200]

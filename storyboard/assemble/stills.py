"""Still pictures of clips and videos: thumbnails, frames of a finished video, a contact sheet.

Owns: pulling frames out of a video file with the bundled ffmpeg (a clip's first and last frame
in one run; any set of frames of a finished video in one decoding pass) and laying frames out as
a contact sheet with Pillow (one tile per frame, its label under it, in the bundled font).

Knows files, frame numbers and labels: nothing of shots or reports. Must not import: moviepy,
anything of storyboard but ``storyboard.errors``.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from storyboard.errors import AssembleError

from .captions import BUNDLED_FONT
from .probe import ffmpeg_exe, ffmpeg_reason

__all__ = [
    "SHEET_COLUMNS",
    "SHEET_GAP",
    "SHEET_LABEL",
    "THUMB_WIDTH",
    "clip_ends",
    "contact_sheet",
    "frames_at",
]

THUMB_WIDTH = 320  # pixels: a thumbnail, and a contact sheet tile
SHEET_COLUMNS = 4
SHEET_GAP = 8
SHEET_LABEL = 28  # pixels of label strip under each tile
_TAIL = 0.5  # seconds before the end a clip's last frame is looked for


def _ffmpeg(args: list[str], what: str) -> None:
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "level+error", "-y", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise AssembleError(f"{what}: {ffmpeg_reason(proc.stderr.decode('utf-8', 'replace'))}")


def _scale(width: int | None) -> list[str]:
    return [] if width is None else ["-vf", f"scale={width}:-2"]


def clip_ends(clip: Path, first: Path, last: Path, *, width: int | None = THUMB_WIDTH) -> None:
    """Write `clip`'s first and last frame as JPEGs (`width` pixels wide; None: full size)."""
    # The second input starts half a second before the end; "-update 1" keeps rewriting one
    # file, so what stays is the last frame, without decoding the whole clip.
    _ffmpeg(
        ["-i", str(clip), "-sseof", f"-{_TAIL}", "-i", str(clip),
         "-map", "0:v:0", "-frames:v", "1", *_scale(width), "-q:v", "3", str(first),
         "-map", "1:v:0", "-update", "1", *_scale(width), "-q:v", "3", str(last)],
        f"thumbnails of {clip.name}",
    )  # fmt: skip
    if not (first.is_file() and last.is_file()):
        raise AssembleError(f"thumbnails of {clip.name}: the clip has no picture")


def frames_at(video: Path, frames: Sequence[int], folder: Path, *, width: int | None = THUMB_WIDTH) -> list[Path]:
    """Frames number `frames` of `video` as JPEGs in `folder`, in the order asked (one decoding pass)."""
    wanted = sorted(set(frames))
    pick = "+".join(f"eq(n\\,{n})" for n in wanted)
    scale = "" if width is None else f",scale={width}:-2"
    pattern = folder / "frame-%04d.jpg"
    _ffmpeg(["-i", str(video), "-map", "0:v:0", "-vf", f"select={pick}{scale}", "-fps_mode", "passthrough",
             "-q:v", "3", str(pattern)], f"frames of {video.name}")  # fmt: skip
    files = {n: folder / f"frame-{i:04d}.jpg" for i, n in enumerate(wanted, start=1)}
    missing = [n for n, f in files.items() if not f.is_file()]
    if missing:
        raise AssembleError(f"frames of {video.name}: frame {missing[0]} is beyond its end")
    return [files[n] for n in frames]


def contact_sheet(tiles: Sequence[tuple[Path, str]], dest: Path) -> tuple[int, int]:
    """Lay `tiles` (picture, label) out in a grid, each label under its picture; returns the size.

    Every tile is scaled to ``THUMB_WIDTH`` wide and to the first picture's height, in rows of
    ``SHEET_COLUMNS``.
    """
    if not tiles:
        raise AssembleError("a contact sheet needs at least one frame")
    pictures = [Image.open(path).convert("RGB") for path, _ in tiles]
    tile_h = max(1, round(pictures[0].height * THUMB_WIDTH / pictures[0].width))
    columns = min(SHEET_COLUMNS, len(tiles))
    rows = math.ceil(len(tiles) / columns)
    size = (columns * THUMB_WIDTH + (columns + 1) * SHEET_GAP, rows * (tile_h + SHEET_LABEL) + (rows + 1) * SHEET_GAP)
    sheet = Image.new("RGB", size, (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.truetype(str(BUNDLED_FONT), SHEET_LABEL * 2 // 3)
    for n, (picture, (_, label)) in enumerate(zip(pictures, tiles, strict=True)):
        x = SHEET_GAP + (n % columns) * (THUMB_WIDTH + SHEET_GAP)
        y = SHEET_GAP + (n // columns) * (tile_h + SHEET_LABEL + SHEET_GAP)
        sheet.paste(picture.resize((THUMB_WIDTH, tile_h)), (x, y))
        draw.text((x + 4, y + tile_h + 3), label, font=font, fill=(235, 235, 235))
    sheet.save(dest, format="JPEG", quality=88)
    return size

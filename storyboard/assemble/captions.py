"""Text on the picture: per-clip captions and the title card, drawn with Pillow.

Owns: font lookup (caption/title font, then ``output.font``, then the bundled CJK-capable
font), colour parsing, line wrapping, and turning text into an RGBA image or a MoviePy clip.

Text is rasterised once per caption with Pillow (TrueType through FreeType, any Unicode the font
covers) and composited by MoviePy as an ImageClip with an alpha mask: no ImageMagick, and no
per-frame text rendering.

Must not import: moviepy at module level (the CLI's validate/plan import nothing heavy),
anything of storyboard but errors and model config classes.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageColor, ImageDraw, ImageFont

from storyboard.errors import AssembleError
from storyboard.spec.model import Caption, Title

if TYPE_CHECKING:
    from moviepy import VideoClip

__all__ = [
    "BUNDLED_FONT", "caption_clip", "parse_color", "render_text", "resolve_font", "title_clip",
]  # fmt: skip

BUNDLED_FONT = Path(__file__).resolve().parent.parent / "fonts" / "wqy-microhei.ttf"
MARGIN = 0.06  # of the frame height, between a top/bottom caption and the frame edge
WRAP = 0.9  # of the frame width a caption line may take


def resolve_font(own: str | None, default: str | None, base_dir: Path) -> Path:
    """The font file to use: the caption's own, else ``output.font``, else the bundled one."""
    name = own or default
    if name is None:
        return BUNDLED_FONT
    path = Path(name).expanduser()
    path = path if path.is_absolute() else base_dir / path
    if not path.is_file():
        raise AssembleError(f"font not found: {path}")
    _font(str(path), 12)
    return path


@lru_cache(maxsize=32)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(path, size)
    except OSError as exc:
        raise AssembleError(f"cannot load font {path}: {exc}") from None


def parse_color(value: str, where: str) -> tuple[int, int, int]:
    """A colour name or #rrggbb as an RGB triple."""
    try:
        return ImageColor.getrgb(value)[:3]
    except ValueError:
        raise AssembleError(f"{where}: unknown colour {value!r}") from None


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Break text into lines no wider than ``width``: at spaces, else between characters (CJK)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if font.getlength(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            for ch in word:  # a word (or CJK run without spaces) longer than the line
                if line and font.getlength(line + ch) > width:
                    lines.append(line)
                    line = ""
                line += ch
        lines.append(line)
    return lines


def render_text(text: str, font_path: Path, size: int, color: tuple[int, int, int], max_width: int) -> np.ndarray:
    """Centered, wrapped text with a dark outline (readable on any picture), as RGBA uint8."""
    font = _font(str(font_path), size)
    lines = _wrap(text, font, max_width)
    stroke = max(1, size // 18)
    spacing = size // 4
    draw = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    # Whole pixels (a FreeType font drawn at (0, 0)), though Pillow types a box as floats.
    boxes = [tuple(map(int, draw.textbbox((0, 0), ln or " ", font=font, stroke_width=stroke))) for ln in lines]
    line_h = max(b[3] for b in boxes) - min(b[1] for b in boxes)
    width = max(b[2] - b[0] for b in boxes) + 2 * stroke
    height = line_h * len(lines) + spacing * (len(lines) - 1) + 2 * stroke
    image = Image.new("RGBA", (max(width, 1), max(height, 1)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    top = -min(b[1] for b in boxes) + stroke
    for n, (ln, box) in enumerate(zip(lines, boxes, strict=True)):
        x = (width - (box[2] - box[0])) // 2 - box[0]
        y = top + n * (line_h + spacing)
        draw.text((x, y), ln, font=font, fill=(*color, 255), stroke_width=stroke,
                  stroke_fill=(0, 0, 0, 255))  # fmt: skip
    return np.asarray(image)


def _position(position: str, frame: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    (fw, fh), (bw, bh) = frame, box
    margin = round(fh * MARGIN)
    y = {"top": margin, "center": (fh - bh) // 2, "bottom": fh - bh - margin}[position]
    return (fw - bw) // 2, max(0, y)


def caption_clip(
    caption: Caption, frame: tuple[int, int], scale: float, shown: float, font: Path, where: str
) -> VideoClip:
    """The caption as a positioned, timed MoviePy ImageClip over a clip that shows ``shown`` s."""
    from moviepy import ImageClip

    start = caption.start  # checked by assemble: before `shown` and before caption.end
    end = shown if caption.end is None else min(caption.end, shown)
    color = parse_color(caption.color, f"{where} caption")
    rgba = render_text(caption.text, font, max(6, round(caption.size * scale)), color,
                       round(frame[0] * WRAP))  # fmt: skip
    pos = _position(caption.position, frame, (rgba.shape[1], rgba.shape[0]))
    clip: Any = ImageClip(rgba, transparent=True)
    return clip.with_start(start).with_duration(end - start).with_position(pos)


def title_clip(title: Title, frame: tuple[int, int], scale: float, font: Path) -> VideoClip:
    """The title card: centered text on its background, as one still frame held for its duration."""
    from moviepy import ImageClip

    bg = parse_color(title.background, "title background")
    color = parse_color(title.color, "title")
    rgba = render_text(title.text, font, max(6, round(title.size * scale)), color,
                       round(frame[0] * WRAP))  # fmt: skip
    card = Image.new("RGB", frame, bg)
    pos = _position("center", frame, (rgba.shape[1], rgba.shape[0]))
    card.paste(Image.fromarray(rgba), pos, Image.fromarray(rgba))
    return ImageClip(np.asarray(card)).with_duration(title.duration)

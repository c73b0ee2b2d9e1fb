"""Clip synthesis for the emulator: a real H.264 video standing in for a generated one.

Owns: the center crop of docs/protocol.md §9 (the § numbers below refer to it), the
deterministic scene (a given first frame, or a gradient scene from a hash of prompt + seed),
the camera move, the cross-dissolve to a given last frame, the prompt band, the "AI generated"
watermark, the strip of reference thumbnails, the source video of an ``extend`` or ``edit``
task (§7), and writing the file (through ``encode.py``) and its last-frame PNG.

Frame 0 is exactly the cropped first image and the last frame exactly the cropped last image:
the prompt band fades in after frame 0 and out before the end, so chaining a clip's last frame
into the next clip's first frame is lossless apart from the codec.

References: each reference image (then the first frame of each reference video that is not a
task's source) is shown on every frame as a thumbnail in a strip along the top-left edge:
thumbnails ``max(48, H // 6)`` pixels high keeping their aspect, ``m = max(4, H // 60)``
pixels apart and from the edges, in a 2-pixel white frame, as many as fit in the width.
``extend`` continues its source: the continuation's frame 0 is the source's last frame and the
camera keeps moving from there (both moves ease in and out, so the speed is continuous too);
with ``include`` the source's own frames come first and the continuation follows from its frame
1. ``edit`` redraws every source frame (same count, so the same duration) with the prompt band
and a red "EDIT" badge (text ``max(12, H // 24)`` pixels high on a red box 1.6 times that,
with half that size of padding either side) ``m`` pixels from the top-right corner.

Must not import anything from the package but ``storyboard.seedance.capabilities``, nor MoviePy (the emulator has to start fast):
frames are numpy arrays piped as raw RGB into ``imageio_ffmpeg.get_ffmpeg_exe()``.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .encode import decode_last_frame, encode_command
from .media import iter_frames

__all__ = ["SourceVideo", "SynthesisRequest", "crop_to_ratio", "render_clip"]

_CJK_FONT = Path(__file__).resolve().parents[1] / "fonts" / "wqy-microhei.ttf"
_ZOOM = 0.12  # the camera ends looking at 88 % of the frame: visible, not dizzying


@dataclass(frozen=True)
class SourceVideo:
    """The reference video an ``extend`` or ``edit`` task works on."""

    path: Path
    size: tuple[int, int]  # its (width, height)
    frames: int  # its frame count at 24 fps
    mode: str  # "extend" or "edit"
    include: bool = False  # extend: the output holds the source, then the continuation


@dataclass(frozen=True)
class SynthesisRequest:
    """What the synthesiser is asked to make: everything that determines a clip's pixels."""

    width: int
    height: int
    frames: int
    ratio: str  # concrete "A:B", used for the §9 crop of the given images
    prompt: str
    seed: int
    first: Image.Image | None = None
    last: Image.Image | None = None
    camerafixed: bool = False
    watermark: bool = False
    audio: bool = False
    references: tuple[Image.Image, ...] = ()  # thumbnails to show, in order
    source: SourceVideo | None = None
    mix: tuple[Path, ...] = ()  # reference audio mixed into the tone (when ``audio``)
    container: str = "mp4"  # or "mov"


def crop_to_ratio(image: Image.Image, ratio: str, size: tuple[int, int]) -> Image.Image:
    """Center-crop ``image`` to ``ratio`` as §9 describes, then resize it to ``size``."""
    a, b = (int(x) for x in ratio.split(":"))
    w, h = image.size
    if w * b < h * a:  # narrower than the target: keep the width, crop the height
        crop_h = b / a * w
        box = (0.0, (h - crop_h) / 2, float(w), (h + crop_h) / 2)
    elif w * b > h * a:  # wider: keep the height, crop the width
        crop_w = a / b * h
        box = ((w - crop_w) / 2, 0.0, (w + crop_w) / 2, float(h))
    else:
        box = (0.0, 0.0, float(w), float(h))
    return image.convert("RGB").resize(size, Image.Resampling.LANCZOS, box=box)


def _digest(spec: SynthesisRequest) -> bytes:
    h = hashlib.sha256(f"{spec.prompt}\x00{spec.seed}".encode())
    for image in (spec.first, spec.last):
        if image is not None:
            h.update(image.tobytes())
    for image in spec.references:  # a thumbnail of each is enough to tell them apart, and cheap
        h.update(image.resize((16, 16)).tobytes())
    return h.digest()


def _scene(width: int, height: int, digest: bytes) -> Image.Image:
    """A gradient with a few outlined shapes, all chosen by ``digest``: distinct per prompt."""
    c1, c2 = np.frombuffer(digest[:3], np.uint8), np.frombuffer(digest[3:6], np.uint8)
    angle = digest[6] / 255 * math.pi
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    t = (x / width * math.cos(angle) + y / height * math.sin(angle)) / (abs(math.cos(angle)) + abs(math.sin(angle)))
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    grad = c1[None, None, :] * (1 - t[..., None]) + c2[None, None, :] * t[..., None]
    scene = Image.fromarray(grad.astype(np.uint8))
    draw = ImageDraw.Draw(scene)
    for i in range(5):
        b = digest[8 + 4 * i : 12 + 4 * i]
        cx, cy = b[0] / 255 * width, b[1] / 255 * height
        r = (0.06 + b[2] / 255 * 0.16) * min(width, height)
        fill = tuple(int(v) for v in np.frombuffer(digest[(i * 3) % 24 : (i * 3) % 24 + 3], np.uint8))
        shape = draw.ellipse if b[3] % 2 else draw.rectangle
        shape((cx - r, cy - r, cx + r, cy + r), fill=fill, outline=(255, 255, 255), width=2)
    return scene


@functools.lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # The package's bundled CJK font (data, not code) draws Chinese and Japanese prompts too;
    # Pillow's default font would show them as boxes.
    if _CJK_FONT.is_file():
        return ImageFont.truetype(str(_CJK_FONT), size)
    return ImageFont.load_default(size=size)


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: float, lines: int) -> list[str]:
    out: list[str] = []
    words = text.split()
    while words and len(out) < lines:
        line = words.pop(0)
        while words and font.getlength(f"{line} {words[0]}") <= width:
            line = f"{line} {words.pop(0)}"
        out.append(line)
    if words and out:
        out[-1] = out[-1].rstrip(".,;") + " …"
    return out


class _Overlay:
    """A premultiplied RGBA patch at a fixed place, blended into frames with a strength."""

    def __init__(self, patch: Image.Image, x: int, y: int) -> None:
        rgba = np.asarray(patch.convert("RGBA"), np.float32) / 255
        self.alpha = rgba[..., 3:4]
        self.color = rgba[..., :3] * self.alpha * 255
        self.x, self.y = x, y
        self.h, self.w = self.alpha.shape[:2]

    def apply(self, frame: np.ndarray, strength: float) -> None:
        if strength <= 0:
            return
        region = frame[self.y : self.y + self.h, self.x : self.x + self.w]
        blended = region * (1 - strength * self.alpha) + strength * self.color
        region[...] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def _prompt_band(spec: SynthesisRequest) -> _Overlay | None:
    text = spec.prompt.strip()
    if not text:
        return None
    size = max(14, spec.height // 22)
    font = _font(size)
    lines = _wrap(text, font, spec.width * 0.9, 3)
    line_h = int(size * 1.35)
    band_h = line_h * len(lines) + size
    band = Image.new("RGBA", (spec.width, band_h), (0, 0, 0, 140))
    draw = ImageDraw.Draw(band)
    for i, line in enumerate(lines):
        draw.text((spec.width * 0.05, size // 2 + i * line_h), line, font=font, fill=(255, 255, 255, 255))
    return _Overlay(band, 0, int(spec.height * 0.92) - band_h)


def _watermark(spec: SynthesisRequest) -> _Overlay:
    size = max(12, spec.height // 28)
    font = _font(size)
    text = "AI generated"
    w = int(font.getlength(text)) + size
    patch = Image.new("RGBA", (w, int(size * 1.6)), (0, 0, 0, 0))
    ImageDraw.Draw(patch).text((size // 2, size // 4), text, font=font, fill=(255, 255, 255, 220),
                               stroke_width=1, stroke_fill=(0, 0, 0, 200))  # fmt: skip
    margin = size
    return _Overlay(patch, spec.width - w - margin, spec.height - patch.height - margin)


def _smooth(t: float) -> float:
    return t * t * (3 - 2 * t)


def _strip(spec: SynthesisRequest) -> _Overlay | None:
    """The reference thumbnails along the top-left edge (geometry in the module docstring)."""
    if not spec.references:
        return None
    th, m = max(48, spec.height // 6), max(4, spec.height // 60)
    patch = Image.new("RGBA", (spec.width - m, th + 4), (0, 0, 0, 0))
    draw = ImageDraw.Draw(patch)
    x = m
    for image in spec.references:
        tw = max(1, round(th * image.width / image.height))
        if x + tw > spec.width - m:
            break
        draw.rectangle((x - m, 0, x - m + tw + 3, th + 3), outline=(255, 255, 255, 255), width=2)
        patch.paste(image.convert("RGB").resize((tw, th), Image.Resampling.LANCZOS), (x - m + 2, 2))
        x += tw + m
    return _Overlay(patch, m - 2, m - 2)


def _badge(spec: SynthesisRequest) -> _Overlay:
    size = max(12, spec.height // 24)
    font = _font(size)
    w = int(font.getlength("EDIT")) + size
    patch = Image.new("RGBA", (w, int(size * 1.6)), (200, 30, 30, 230))
    ImageDraw.Draw(patch).text((size // 2, size // 4), "EDIT", font=font, fill=(255, 255, 255, 255))
    margin = max(4, spec.height // 60)
    return _Overlay(patch, spec.width - w - margin, margin)


def _decorate(frame: np.ndarray, t: float, overlays: Sequence[_Overlay | None], band: _Overlay | None) -> np.ndarray:
    """Draw the prompt band (faded at both ends), the progress marker and fixed overlays."""
    if band is not None:
        # full strength for most of the clip, zero on the first and last frame
        band.apply(frame, min(1.0, 4 * math.sin(math.pi * t)))
        _progress(frame, band, t)
    for overlay in overlays:
        if overlay is not None:
            overlay.apply(frame, 1.0)
    return frame


def _frames(spec: SynthesisRequest) -> Iterator[np.ndarray]:
    """Yield the clip's frames as (H, W, 3) uint8 arrays."""
    size = (spec.width, spec.height)
    band, fixed = _prompt_band(spec), [_strip(spec), _watermark(spec) if spec.watermark else None]
    source = spec.source
    if source is None:
        base = crop_to_ratio(spec.first, spec.ratio, size) if spec.first else _scene(*size, _digest(spec))
        end = np.asarray(crop_to_ratio(spec.last, spec.ratio, size), np.uint16) if spec.last else None
        yield from _move(spec, base, end, spec.frames, 0, fixed, band)
        return
    frames = _source_frames(spec, source)
    if source.mode == "edit":
        last, badge = max(source.frames - 1, 1), _badge(spec)
        for i, frame in enumerate(frames):
            yield _decorate(frame, i / last, [*fixed, badge], band)
        return
    ending: np.ndarray | None = None
    for frame in frames:
        if source.include:
            yield frame
        ending = frame
    if ending is None:
        raise RuntimeError(f"the source video {source.path.name} has no frames")
    if source.include:  # the source's last frame is the continuation's frame 0: not repeated
        yield from _move(spec, Image.fromarray(ending), None, spec.frames - source.frames + 1, 1, fixed, band)
    else:
        yield from _move(spec, Image.fromarray(ending), None, spec.frames, 0, fixed, band)


def _source_frames(spec: SynthesisRequest, source: SourceVideo) -> Iterator[np.ndarray]:
    """The source video's frames at the clip's size (§9 crop when the shapes differ)."""
    size = (spec.width, spec.height)
    for frame in iter_frames(source.path, source.size):
        if source.size == size:
            yield frame.copy()  # writable: the overlays draw into it
        else:
            yield np.array(crop_to_ratio(Image.fromarray(frame), spec.ratio, size))


def _move(
    spec: SynthesisRequest,
    base: Image.Image,
    end: np.ndarray | None,
    count: int,
    skip: int,
    fixed: Sequence[_Overlay | None],
    band: _Overlay | None,
) -> Iterator[np.ndarray]:
    """``count`` frames of the camera push-in on ``base`` (dissolving into ``end``), from frame ``skip``."""
    size = (spec.width, spec.height)
    digest = _digest(spec)
    # where the camera drifts to, from the hash: a slow push-in toward an off-centre point
    aim_x, aim_y = (digest[28] / 255 - 0.5) * 2, (digest[29] / 255 - 0.5) * 2
    last = max(count - 1, 1)
    for i in range(skip, count):
        t = i / last
        if spec.camerafixed or i == 0:
            frame = np.array(base)
        else:
            e = _smooth(t)
            bw, bh = spec.width * (1 - _ZOOM * e), spec.height * (1 - _ZOOM * e)
            cx = spec.width / 2 + aim_x * (spec.width - bw) / 2
            cy = spec.height / 2 + aim_y * (spec.height - bh) / 2
            box = (cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2)
            frame = np.array(base.resize(size, Image.Resampling.BILINEAR, box=box))
        if end is not None:
            k = round(256 * _smooth(t))
            frame = ((frame.astype(np.uint16) * (256 - k) + end * k) >> 8).astype(np.uint8)
        yield _decorate(frame, t, fixed, band)


def _progress(frame: np.ndarray, band: _Overlay, t: float) -> None:
    """A small marker sliding along the band, so even a fixed camera shows motion."""
    if not 0 < t < 1:
        return
    side = max(4, band.h // 10)
    x = int((frame.shape[1] - side) * t)
    frame[band.y + band.h - side : band.y + band.h, x : x + side] = (255, 200, 0)


def render_clip(spec: SynthesisRequest, video: Path, last_frame: Path | None = None) -> None:
    """Write the clip to ``video`` (and its decoded last frame as PNG to ``last_frame``).

    Files appear atomically: they are written next to the target and renamed into place.
    """
    tmp = video.with_name(f".{video.stem}.part{video.suffix}")
    # -loglevel error keeps stderr tiny, so reading it only at the end cannot deadlock
    tone = (220 + spec.seed % 440 if spec.seed >= 0 else 330) if spec.audio else None
    command = encode_command(tmp, (spec.width, spec.height), spec.frames, tone=tone, mix=spec.mix,
                             container=spec.container)  # fmt: skip
    with subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdin is not None and proc.stderr is not None
        try:
            for frame in _frames(spec):
                proc.stdin.write(frame.tobytes())
        except BrokenPipeError:
            pass  # ffmpeg died; its exit code and stderr say why, below
        finally:
            proc.stdin.close()
        err = proc.stderr.read().decode(errors="replace")
        code = proc.wait()
    if code != 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"ffmpeg failed to encode the clip: {err.strip()[-500:]}")
    if last_frame is not None:
        png = last_frame.with_name(f".{last_frame.stem}.part.png")
        decode_last_frame(tmp, (spec.width, spec.height)).save(png, compress_level=3)
        os.replace(png, last_frame)
    os.replace(tmp, video)

"""Local input images: what they are, whether SeeDance accepts them, and their bytes as data URIs.

Owns: reading image headers (Pillow, lazily: no pixel decoding; a header claiming more pixels
than Pillow's decompression-bomb limit is a problem, not an exception), the acceptance rules of
docs/protocol.md §9 (formats, sides, aspect ratio, file size; § numbers below refer to it),
content hashing and data-URI encoding. Results are memoised per (path, size, mtime) so a
200-shot storyboard that reuses one photo reads it once.
Must not import models, the loader, the client or anything above them.
"""

from __future__ import annotations

import base64
import functools
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from storyboard.spec.localfile import sha256_of, stat_key

__all__ = ["ImageInfo", "data_uri", "image_problem", "inspect_image"]

# Pillow format name -> MIME subtype used in the data URI (§9: lowercase).
_FORMATS = {
    "JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "WEBP": "webp", "BMP": "bmp",
    "TIFF": "tiff", "GIF": "gif", "HEIF": "heif", "HEIC": "heic",
}  # fmt: skip
_HEIF = {"heic", "heif"}
MIN_SIDE, MAX_SIDE = 300, 6000
MIN_ASPECT, MAX_ASPECT = 0.4, 2.5
MAX_BYTES = 30 * 1024 * 1024
_PIXELS = re.compile(r"\((\d+) pixels\)")


@dataclass(frozen=True)
class ImageInfo:
    """Header facts about a local image file."""

    path: Path
    mime: str  # e.g. image/jpeg
    width: int
    height: int
    size: int  # bytes
    sha256: str


@functools.lru_cache(maxsize=1024)
def _inspect(path: str, size: int, mtime_ns: int) -> ImageInfo | str:
    del mtime_ns  # part of the memo key only: a changed file is read again
    try:
        with warnings.catch_warnings():
            # Pillow checks the header's pixel count before decoding anything: past its limit
            # (or its warning, half of it) the file is refused here, never decoded later.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                fmt, (width, height) = im.format or "", im.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        claimed = _PIXELS.search(str(exc))
        pixels = f"{int(claimed.group(1)):,} pixels" if claimed else "more pixels than is safe"
        return (
            f"claims {pixels} in its header, too many to decode safely "
            f"(the API takes at most {MAX_SIDE}x{MAX_SIDE}); is it corrupt or a decompression bomb?"
        )
    except UnidentifiedImageError:
        return "is not an image (not a format the API accepts: jpeg, png, webp, bmp, tiff, gif)"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    subtype = _FORMATS.get(fmt)
    if subtype is None:
        return f"is a {fmt} image; the API accepts jpeg, png, webp, bmp, tiff, gif"
    return ImageInfo(Path(path), f"image/{subtype}", width, height, size, sha256_of(path))


def inspect_image(path: Path) -> ImageInfo | str:
    """ImageInfo for a readable image, or a message saying why the file is no image."""
    key = stat_key(path)
    return key if isinstance(key, str) else _inspect(*key)


def image_problem(info: ImageInfo, *, heif_ok: bool) -> str | None:
    """Why the API would reject this image (§9), or None when it is acceptable."""
    subtype = info.mime.split("/")[1]
    if subtype in _HEIF and not heif_ok:
        return f"{subtype} images need a 1.5 pro or 2.x model"
    if info.size >= MAX_BYTES:
        return f"is {info.size / 1048576:.1f} MB; the API takes images under 30 MB"
    w, h = info.width, info.height
    if not (MIN_SIDE <= w <= MAX_SIDE and MIN_SIDE <= h <= MAX_SIDE):
        return f"is {w}x{h}; each side must be between {MIN_SIDE} and {MAX_SIDE} pixels"
    aspect = w / h
    if not MIN_ASPECT < aspect < MAX_ASPECT:
        return f"is {w}x{h} (aspect {aspect:.2f}); width/height must be between 0.4 and 2.5"
    return None


@functools.lru_cache(maxsize=16)
def data_uri(info: ImageInfo) -> str:
    """The file's bytes as ``data:image/<fmt>;base64,...`` (lowercase format, §9).

    Memoised: every row of a variants batch plans the same shared images again; `info`
    carries the file's hash, so a changed file is a different key.
    """
    payload = base64.b64encode(info.path.read_bytes()).decode("ascii")
    return f"data:{info.mime};base64,{payload}"

"""Small local media for storyboard loader tests, generated with Pillow.

Owns: writing a `media/` directory of images (good ones and ones the API would reject) and a
stand-in music file next to a test storyboard. Must not import the storyboard package: the
files have to be what they claim independently of the code under test.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

# name -> (format, width, height); sizes chosen to sit on either side of the docs/protocol.md §9 limits
IMAGES: dict[str, tuple[str, int, int]] = {
    "a.jpg": ("JPEG", 640, 360),  # 16:9
    "b.png": ("PNG", 480, 640),  # 3:4
    "wide.png": ("PNG", 1500, 500),  # aspect 3.0 > 2.5
    "tiny.png": ("PNG", 200, 200),  # sides < 300
    "tall.png": ("PNG", 400, 1000),  # aspect exactly 0.4: outside the open interval
    "c.ppm": ("PPM", 400, 400),  # an image, but not a format the API takes
}
HUGE = 30 * 1024 * 1024  # "huge.png": a valid header padded (sparsely) to the 30 MB limit


def make_media(root: Path) -> Path:
    """Create `root/media` with the IMAGES, huge.png, a text file named .jpg and a music file."""
    media = root / "media"
    media.mkdir(exist_ok=True)
    for i, (name, (fmt, w, h)) in enumerate(IMAGES.items()):
        # distinct colours so every file has its own content hash
        Image.new("RGB", (w, h), (40 * i, 120, 200)).save(media / name, format=fmt)
    with open(media / "huge.png", "wb") as fh:
        Image.new("RGB", (640, 360)).save(fh, format="PNG")
        fh.truncate(HUGE)
    (media / "notimage.jpg").write_text("this is not a picture\n")
    (media / "rain.mp3").write_bytes(b"ID3\x04" + bytes(64))
    return media

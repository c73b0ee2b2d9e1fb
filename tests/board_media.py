"""Small local media for storyboard loader tests, generated with Pillow.

Owns: writing a `media/` directory of images (good ones and ones the API would reject) and a
stand-in music file next to a test storyboard. Must not import the storyboard package: the
files have to be what they claim independently of the code under test.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

# name -> (format, width, height); sizes chosen to sit on either side of the §9 limits
IMAGES: dict[str, tuple[str, int, int]] = {
    "a.jpg": ("JPEG", 640, 360),  # 16:9
    "b.png": ("PNG", 480, 640),  # 3:4
    "wide.png": ("PNG", 1500, 500),  # aspect 3.0 > 2.5
    "tiny.png": ("PNG", 200, 200),  # sides < 300
}


def make_media(root: Path) -> Path:
    """Create `root/media` with the IMAGES, a text file named .jpg and a music file."""
    media = root / "media"
    media.mkdir(exist_ok=True)
    for i, (name, (fmt, w, h)) in enumerate(IMAGES.items()):
        # distinct colours so every file has its own content hash
        Image.new("RGB", (w, h), (40 * i, 120, 200)).save(media / name, format=fmt)
    (media / "notimage.jpg").write_text("this is not a picture\n")
    (media / "rain.mp3").write_bytes(b"ID3\x04" + bytes(64))
    return media

"""Helpers for the emulator tests: HTTP calls, waiting, decoding clips, image comparison.

Independent of the emulator's own code on purpose (the crop of docs/protocol.md §9 and the
decoding are re-implemented here from that description), so a bug there cannot hide itself.
"""

from __future__ import annotations

import base64
import io
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import imageio_ffmpeg
import numpy as np
from PIL import Image

from storyboard.emulator import Emulator

MEDIA = Path(__file__).resolve().parents[2] / "examples" / "media"  # from the project's media set
AUTH = {"Authorization": "Bearer test-token"}
PRO = "doubao-seedance-1-0-pro-250528"
PRO15 = "doubao-seedance-1-5-pro-251215"


def data_uri(image: Path | Image.Image, fmt: str = "png") -> str:
    """A ``data:image/<fmt>;base64,`` URI of a file (as is) or of a Pillow image."""
    if isinstance(image, Path):
        raw = image.read_bytes()
        fmt = {"jpg": "jpeg"}.get(image.suffix[1:].lower(), image.suffix[1:].lower())
    else:
        buf = io.BytesIO()
        image.save(buf, format=fmt.upper())
        raw = buf.getvalue()
    return f"data:image/{fmt};base64,{base64.b64encode(raw).decode()}"


def body(prompt: str = "a red fox runs through snow", model: str = PRO, images: tuple = (), **fields: Any) -> dict:
    """A create body: text + (role, url) image items + top-level fields (480p unless given)."""
    content: list[dict[str, Any]] = [{"type": "text", "text": prompt}]
    content += [{"type": "image_url", "role": role, "image_url": {"url": url}} for role, url in images]
    return {"model": model, "content": content, "resolution": "480p", **fields}


def post(emu: Emulator, path: str, payload: Any, headers: dict[str, str] | None = AUTH, **kw: Any) -> httpx.Response:
    return httpx.post(f"{emu.url}{path}", json=payload, headers=headers, timeout=60, **kw)


def create(emu: Emulator, payload: dict[str, Any]) -> str:
    answer = post(emu, "/seedance/videos", {"async": True, **payload})
    assert answer.status_code == 200, answer.text
    return answer.json()["task_id"]


def retrieve(emu: Emulator, task_id: str) -> dict[str, Any]:
    answer = post(emu, "/seedance/tasks", {"id": task_id, "action": "retrieve"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def wait_for(emu: Emulator, task_id: str, timeout: float = 60) -> dict[str, Any]:
    """Poll until the task record has a response; the record."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = retrieve(emu, task_id)
        if record.get("response") is not None:  # null while the task runs
            return record
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not finish within {timeout} s")


def render(emu: Emulator, payload: dict[str, Any], tmp: Path) -> tuple[dict[str, Any], Path]:
    """Create, wait, download the clip; (data, clip path)."""
    data = wait_for(emu, create(emu, payload))["response"]["data"]
    clip = tmp / data["video_url"].rsplit("/", 1)[1]
    clip.write_bytes(httpx.get(data["video_url"], timeout=60).content)
    return data, clip


def decode(clip: Path) -> tuple[list[np.ndarray], tuple[int, int]]:
    """All frames of a video as (H, W, 3) uint8 arrays, and its (width, height)."""
    size = re.search(r"Video: .*?, (\d+)x(\d+)", probe(clip))
    assert size, probe(clip)
    w, h = int(size.group(1)), int(size.group(2))
    raw = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(clip),
                          "-map", "0:v", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout  # fmt: skip
    frames = np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)
    return list(frames), (w, h)


def probe(clip: Path) -> str:
    """ffmpeg's description of a media file's streams."""
    return subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(clip)],
                          capture_output=True, text=True).stderr  # fmt: skip


def has_audio(clip: Path) -> bool:
    return re.search(r"Stream #\S+.*: Audio: aac", probe(clip)) is not None


def fetch_image(url: str) -> Image.Image:
    answer = httpx.get(url, timeout=60)
    assert answer.status_code == 200, answer.text
    return Image.open(io.BytesIO(answer.content))


def psnr(a: np.ndarray | Image.Image, b: np.ndarray | Image.Image) -> float:
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert x.shape == y.shape, (x.shape, y.shape)
    mse = float(((x - y) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def reference_crop(image: Image.Image, ratio: str, size: tuple[int, int]) -> Image.Image:
    """§9 center crop (keep the full width or height, cut the other evenly), then resize."""
    a, b = map(int, ratio.split(":"))
    w, h = image.size
    if w / h < a / b:
        crop_h = round(w * b / a)
        top = (h - crop_h) // 2
        image = image.crop((0, top, w, top + crop_h))
    elif w / h > a / b:
        crop_w = round(h * a / b)
        left = (w - crop_w) // 2
        image = image.crop((left, 0, left + crop_w, h))
    return image.convert("RGB").resize(size, Image.Resampling.LANCZOS)

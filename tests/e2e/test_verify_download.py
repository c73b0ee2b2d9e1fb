"""A downloaded result enters the cache only when it is what it claims to be.

``engine.verify`` probes clips with the bundled ffmpeg and last frames with Pillow; the
scheduler calls it between the download and the cache. A bad download (an HTML "Access denied"
page, garbage) fails the shot with a clear message, stays journaled and is downloaded again,
for free, by the next render.
"""

from __future__ import annotations

import io
import subprocess
import tempfile
import textwrap
from functools import cache
from pathlib import Path

import imageio_ffmpeg
import pytest
from PIL import Image

from storyboard.engine.lastframe import LastFrames
from storyboard.engine.plan import make_plan
from storyboard.engine.scheduler import Scheduler
from storyboard.engine.verify import verify_download
from storyboard.errors import DownloadError
from storyboard.spec.load import load_text
from storyboard.store.cache import Cache
from storyboard.store.journal import Journal

from support.fake_service import FakeClock, FakeService

ACCESS_DENIED = b"<html><head><title>Access denied</title></head><body>403 Forbidden</body></html>"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "grey").save(out, "PNG")
    return out.getvalue()


PNG = _png()


@cache
def real_clip() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clip.mp4"
        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
               "testsrc=size=64x64:rate=24:duration=0.25", "-pix_fmt", "yuv420p", str(out)]  # fmt: skip
        subprocess.run(cmd, capture_output=True, check=True)
        return out.read_bytes()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_a_real_clip_and_frame_pass(tmp_path: Path) -> None:
    verify_download(write(tmp_path / "c.mp4", real_clip()), write(tmp_path / "f.png", PNG))
    verify_download(write(tmp_path / "d.mp4", real_clip()), None)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (ACCESS_DENIED, "an HTML page"),
        (b"\x00\x01garbage" * 100, "not a playable video"),
        (PNG, "not a playable video"),  # an image is no clip
        (b"", "empty"),
    ],
    ids=["html", "garbage", "png", "empty"],
)
def test_a_bad_clip_is_refused_and_removed(data: bytes, words: str, tmp_path: Path) -> None:
    clip, frame = write(tmp_path / "c.mp4", data), write(tmp_path / "f.png", PNG)
    with pytest.raises(DownloadError) as info:
        verify_download(clip, frame)
    assert words in str(info.value) and "\n" not in str(info.value)
    assert not clip.exists() and not frame.exists()


def test_a_cut_clip_is_refused(tmp_path: Path) -> None:
    data = real_clip()
    with pytest.raises(DownloadError, match="not a playable video"):
        verify_download(write(tmp_path / "c.mp4", data[: len(data) // 2]), None)


@pytest.mark.parametrize("data", [ACCESS_DENIED, PNG[:-12], b"GIF89a-not-really"], ids=["html", "cut", "fake-gif"])
def test_a_bad_last_frame_is_refused(data: bytes, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="last frame .* is not"):
        verify_download(write(tmp_path / "c.mp4", real_clip()), write(tmp_path / "f.png", data))


class Garbling(FakeService):
    """Serves an "Access denied" page as every clip until ``fixed``, then a real clip."""

    fixed = False

    def download(self, url: str, dest: Path) -> int:
        size = super().download(url, dest)
        if url.endswith(".png"):
            dest.write_bytes(PNG)
        else:
            dest.write_bytes(real_clip() if self.fixed else ACCESS_DENIED)
            size = dest.stat().st_size
        return size


def test_a_bad_download_is_not_cached_and_the_next_render_fetches_it_again_for_free(tmp_path: Path) -> None:
    text = "version: 1\nname: t\ndefaults: {model: doubao-seedance-1-0-pro-250528, duration: 3}\nshots:\n"
    shots = textwrap.indent("- {id: a, prompt: shot a}\n- {id: b, prompt: shot b, chain: true}\n", "  ")
    plan = make_plan(load_text(text + shots, label="t.yaml", base_dir=tmp_path), service="fake")
    service = Garbling(FakeClock())
    cache_ = Cache(tmp_path / "cache")
    journal = Journal(tmp_path / "cache" / "journal")

    def run() -> dict[str, str]:
        scheduler = Scheduler(
            plan, service=service, cache=cache_, journal=journal, max_in_flight=4, clock=service.clock,
            last_frames=LastFrames(cache_),
        )  # fmt: skip
        outcomes = scheduler.run()
        return {shot: o.state for shot, o in outcomes.items()} | {
            f"{shot}.error": str(o.error) for shot, o in outcomes.items() if o.error
        }

    key = plan.job("a").cache_key
    first = run()
    assert first["a"] == "failed" and first["b"] != "done"
    assert "is not a playable video" in first["a.error"] and "an HTML page" in first["a.error"]
    assert cache_.get(key) is None
    entry = journal.get(key)
    assert entry is not None and entry.task_id == "t1"  # still journaled: nothing paid twice
    service.fixed = True
    assert run() == {"a": "done", "b": "done"}
    assert len(service.creates) == 2  # a once (downloaded twice), b once
    assert journal.get(key) is None and cache_.get(key) is not None

"""Decoding a placed clip: its used frames, fitted to the output, in order, as yuv420p.

Owns: the geometry of fitting a clip into the output (contain/cover/stretch), the ffmpeg
filter chain that does it (with frame-rate conversion), ``ClipStream`` (one ffmpeg decoder per
clip, read strictly forward, every frame decoded once) and ``yuv420p_to_rgb`` for the frames
MoviePy draws on.

Why one YUV stream per clip instead of MoviePy's ``VideoFileClip``: frames nothing is drawn on
go to the encoder untouched (no RGB round trip, no Python copies of pixels); frames that are
drawn on are converted for MoviePy from the same stream, so a crossfade never re-opens and
re-decodes the outgoing clip from its keyframe the way a seeking reader does.

Must not import: moviepy, anything of storyboard but errors, and this package's
probe/timeline/encoder.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from PIL import Image

from storyboard.errors import AssembleError

from .encoder import MATRIX, widen_pipe
from .probe import ffmpeg_exe, ffmpeg_reason
from .timeline import Placed

__all__ = ["ClipStream", "fit_geometry", "yuv420p_to_rgb"]


def fit_geometry(src: tuple[int, int], out: tuple[int, int], fit: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """(scaled size, offset): contain pads at +offset, cover crops from +offset, stretch fills."""
    (w, h), (W, H) = src, out
    if fit == "stretch" or (w, h) == (W, H):
        return (W, H), (0, 0)
    if fit == "contain":
        r = min(W / w, H / h)
        sw, sh = min(W, round(w * r)), min(H, round(h * r))
        return (sw, sh), ((W - sw) // 2, (H - sh) // 2)
    r = max(W / w, H / h)
    sw, sh = max(W, round(w * r)), max(H, round(h * r))
    return (sw, sh), ((sw - W) // 2, (sh - H) // 2)


def fit_filters(
    src: tuple[int, int], src_fps: float, size: tuple[int, int], fit: str,
    bg: tuple[int, int, int], fps: int,
) -> str:  # fmt: skip
    """The ffmpeg filter chain that fits a clip into ``size`` at ``fps`` as yuv420p."""
    (sw, sh), (x, y) = fit_geometry(src, size, fit)
    chain = []
    if (sw, sh) != src:
        chain.append(f"scale={sw}:{sh}:flags=bicubic")
    if (sw, sh) != size and fit == "contain":
        chain.append(f"pad={size[0]}:{size[1]}:{x}:{y}:color=0x{bg[0]:02x}{bg[1]:02x}{bg[2]:02x}")
    elif (sw, sh) != size:
        chain.append(f"crop={size[0]}:{size[1]}:{x}:{y}")
    if abs(src_fps - fps) > 1e-6:
        chain.append(f"fps={fps}")
    chain.append("format=yuv420p")
    return ",".join(chain)


def yuv420p_to_rgb(frame: bytes, size: tuple[int, int], matrix: str) -> np.ndarray:
    """Planar limited-range yuv420p bytes as an RGB (h, w, 3) uint8 array (Pillow, in C)."""
    w, h = size
    kr, kb = MATRIX[matrix]
    kg = 1 - kr - kb
    n, q = w * h, w * h // 4
    y = Image.frombuffer("L", (w, h), frame[:n], "raw", "L", 0, 1)
    u = Image.frombuffer("L", (w // 2, h // 2), frame[n : n + q], "raw", "L", 0, 1)
    v = Image.frombuffer("L", (w // 2, h // 2), frame[n + q : n + 2 * q], "raw", "L", 0, 1)
    # nearest, not bilinear: the encoder's 2x2 box average then gives back the very same chroma,
    # so pixels MoviePy did not change survive the RGB round trip unchanged
    u, v = (c.resize((w, h), Image.Resampling.NEAREST) for c in (u, v))
    ys, cs_b, cs_r = 255 / 219, 2 * (1 - kb) * 255 / 224, 2 * (1 - kr) * 255 / 224
    g_b, g_r = -kb / kg * cs_b, -kr / kg * cs_r
    # R = ys(Y-16) + cs_r(V-128); B = ys(Y-16) + cs_b(U-128); G from the luma equation
    to_rgb = (ys, 0.0, cs_r, -16 * ys - 128 * cs_r,
              ys, g_b, g_r, -16 * ys - 128 * (g_b + g_r),
              ys, cs_b, 0.0, -16 * ys - 128 * cs_b)  # fmt: skip
    return np.asarray(Image.merge("RGB", (y, u, v)).convert("RGB", matrix=to_rgb))


class ClipStream:
    """The frames a placed clip shows, fitted, decoded once, strictly in order.

    ``frame(j)`` returns local output frame ``j`` (0 = the clip's first shown frame) as
    yuv420p bytes, ``rgb(j)`` the same frame as RGB for MoviePy; asking for an earlier frame
    than the last one read is a bug. Inside ``drawn`` (local frame ranges MoviePy draws on) the
    next frame is read and converted on a worker thread while MoviePy draws the current one.
    """

    def __init__(
        self, p: Placed, size: tuple[int, int], fit: str, bg: tuple[int, int, int], fps: int,
        matrix: str, drawn: list[range],
    ) -> None:  # fmt: skip
        self._p, self._size, self._matrix, self._drawn = p, size, matrix, drawn
        self._frame_bytes = size[0] * size[1] * 3 // 2
        self._index = -1
        self._last: bytes | None = None
        self._rgb: tuple[int, np.ndarray] | None = None
        self._ahead: tuple[int, Future[np.ndarray]] | None = None
        self._pool = ThreadPoolExecutor(max_workers=1) if drawn else None
        start = p.src_start - 0.5 / p.info.fps  # half a frame early: the frame at src_start stays
        args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"]
        if start > 0:
            args += ["-ss", f"{start:.6f}"]
        args += ["-i", str(p.spec.path), "-map", "0:v:0", "-an", "-sn",
                 "-vf", fit_filters(p.info.size, p.info.fps, size, fit, bg, fps),
                 "-fps_mode", "passthrough", "-frames:v", str(p.frames),
                 "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"]  # fmt: skip
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE)  # fmt: skip
        assert self._proc.stdout is not None and self._proc.stderr is not None  # both are PIPE
        self._stdout, self._stderr = self._proc.stdout, self._proc.stderr
        widen_pipe(self._stdout)

    def _read(self, j: int) -> bytes:
        if j < self._index:
            raise RuntimeError(f"frame {j} of {self._p.spec.path.name} asked after {self._index}")
        while self._index < j:
            data = self._stdout.read(self._frame_bytes)
            if len(data) == self._frame_bytes:
                self._last = data
            elif self._last is None:
                err = self._stderr.read()
                raise AssembleError(
                    f"clip {self._p.index + 1}: cannot decode {self._p.spec.path}: "
                    f"{ffmpeg_reason(err.decode('utf-8', 'replace'))}"
                )
            # past the decoder's last frame the clip holds its last picture: counts are exact
            self._index += 1
        last = self._last
        assert last is not None  # frame j >= 0 was read above, or decoding raised
        return last

    def _convert(self, j: int) -> np.ndarray:
        return yuv420p_to_rgb(self._read(j), self._size, self._matrix)

    def _settle(self) -> None:
        """Wait for the frame being read ahead (only one thread ever reads the pipe)."""
        if self._ahead is not None:
            j, future = self._ahead
            self._ahead = None
            self._rgb = (j, future.result())

    def frame(self, j: int) -> bytes:
        self._settle()
        return self._read(j)

    def rgb(self, j: int) -> np.ndarray:
        """Frame ``j`` as RGB (converted once, however often MoviePy asks for it)."""
        if self._rgb is not None and self._rgb[0] == j:
            return self._rgb[1]
        self._settle()
        if self._rgb is None or self._rgb[0] != j:
            self._rgb = (j, self._convert(j))
        if self._pool is not None and any(j + 1 in r for r in self._drawn):
            self._ahead = (j + 1, self._pool.submit(self._convert, j + 1))
        return self._rgb[1]

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        if self._pool is not None:
            self._pool.shutdown(wait=True)  # a pending read ends at the killed pipe's EOF
        self._stdout.close()
        self._stderr.close()
        self._proc.wait()

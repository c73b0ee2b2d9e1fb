"""The encoder: one ffmpeg process that turns raw YUV frames (stdin) into the output file.

Owns: the ffmpeg arguments for the output's codec, quality, pixel format, audio codec and
container (+faststart), the encoder process, and converting an RGB frame drawn by MoviePy to
the encoder's yuv420p input.

Why YUV on the pipe and not RGB (as MoviePy's own writer does): frames that need no drawing go
from a decoder straight to the encoder without two colour conversions, which is most of what
makes a plain MoviePy render slower than ffmpeg. Only drawn frames are converted, both ways with
the output's matrix (the first clip's: bt709 when tagged so, else untagged bt601), so drawn and
undrawn frames of a clip look the same and untouched pixels keep their meaning.

Must not import: moviepy, anything of storyboard but errors and model config classes, and
``.probe``.
"""

from __future__ import annotations

import fcntl
import queue
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image

from storyboard.errors import AssembleError
from storyboard.spec.model import Output

from .probe import ffmpeg_exe, ffmpeg_reason

__all__ = [
    "MATRIX", "Encoder", "audio_codec_args", "container_args", "rgb_to_yuv420p", "widen_pipe",
]  # fmt: skip

_PRESET_CODECS = {"libx264", "libx265"}
# (Kr, Kb) of the RGB <-> YCbCr matrices
MATRIX = {"bt709": (0.2126, 0.0722), "bt601": (0.299, 0.114)}


def widen_pipe(stream: IO[bytes] | None, size: int = 1 << 20) -> None:
    """Grow a pipe's kernel buffer (64 KiB by default): fewer context switches per frame."""
    if stream is None:
        return
    try:
        fcntl.fcntl(stream.fileno(), 1031, size)  # F_SETPIPE_SZ
    except OSError:
        pass


def rgb_to_yuv420p(rgb: np.ndarray, matrix: str) -> bytes:
    """An RGB frame (h, w, 3) as planar limited-range yuv420p bytes (chroma: 2x2 averages).

    Pillow does the matrix and the box filter in C: ~8 ms for 1248x704 against ~45 for numpy.
    """
    kr, kb = MATRIX[matrix]
    kg = 1 - kr - kb
    sy, su, sv = 219 / 255, 112 / 255 / (1 - kb), 112 / 255 / (1 - kr)
    to_yuv = (kr * sy, kg * sy, kb * sy, 16.0,
              -kr * su, -kg * su, (1 - kb) * su, 128.0,
              (1 - kr) * sv, -kg * sv, -kb * sv, 128.0)  # fmt: skip
    if rgb.dtype != np.uint8:
        rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    image = Image.fromarray(np.ascontiguousarray(rgb[..., :3]))
    y, u, v = image.convert("RGB", matrix=to_yuv).split()
    half = (rgb.shape[1] // 2, rgb.shape[0] // 2)
    box = Image.Resampling.BOX
    return y.tobytes() + u.resize(half, box).tobytes() + v.resize(half, box).tobytes()


def video_codec_args(output: Output, preset: str) -> list[str]:
    args = ["-c:v", output.codec, "-crf", str(output.crf), "-pix_fmt", output.pixel_format]
    if output.codec.startswith("libvpx"):
        args += ["-b:v", "0"]  # constant quality: without it VP8/VP9 cap the rate
    return args + (["-preset", preset] if output.codec in _PRESET_CODECS else [])


def audio_codec_args(dest: Path, output: Output) -> list[str]:
    codec = "libopus" if dest.suffix.lower() == ".webm" else "aac"
    return ["-c:a", codec, "-b:a", output.audio_bitrate, "-ar", "48000"]


def container_args(dest: Path) -> list[str]:
    suffix = dest.suffix.lower()
    if suffix in (".mp4", ".m4v", ".mov"):
        return ["-movflags", "+faststart", "-f", "mov" if suffix == ".mov" else "mp4"]
    return ["-f", {".mkv": "matroska", ".webm": "webm"}.get(suffix, "mp4")]


class Encoder:
    """ffmpeg reading raw yuv420p frames on stdin, plus an optional raw f32le audio file.

    Frames are handed to a writer thread (a short queue) which converts RGB frames and feeds
    ffmpeg: drawing the next frame overlaps with converting and piping the previous one.
    """

    def __init__(
        self, dest: Path, size: tuple[int, int], output: Output, preset: str,
        audio: Path | None, matrix: str,
    ) -> None:  # fmt: skip
        w, h = size
        self.matrix = matrix
        args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{w}x{h}",
                "-framerate", str(output.fps), "-i", "pipe:0"]  # fmt: skip
        if audio is not None:
            args += ["-f", "f32le", "-ar", "48000", "-ac", "2", "-i", str(audio)]
        args += ["-map", "0:v:0"] + (["-map", "1:a:0"] if audio is not None else [])
        args += video_codec_args(output, preset)
        if matrix == "bt709":
            args += ["-color_range", "tv", "-colorspace", "bt709", "-color_primaries", "bt709",
                     "-color_trc", "bt709"]  # fmt: skip
        if audio is not None:
            args += audio_codec_args(dest, output)
        args += container_args(dest) + [str(dest)]
        self._dest = dest
        self._log = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                      stderr=self._log)  # fmt: skip
        assert self._proc.stdin is not None  # stdin is PIPE
        self._stdin = self._proc.stdin
        widen_pipe(self._stdin)
        self._queue: queue.Queue[bytes | np.ndarray | None] = queue.Queue(maxsize=6)
        self._failed = False
        self._thread = threading.Thread(target=self._pump, name="encoder-writer", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._failed:
                continue  # drain, so that no producer blocks on a dead encoder
            try:
                data = item if isinstance(item, bytes) else rgb_to_yuv420p(item, self.matrix)
                self._stdin.write(data)
            except (OSError, ValueError):
                self._failed = True

    def write(self, frame: bytes) -> None:
        """Append one yuv420p frame; a dead encoder raises its own error message."""
        self._put(frame)

    def write_rgb(self, frame: np.ndarray) -> None:
        """Append one RGB frame drawn by MoviePy (converted on the writer thread)."""
        self._put(frame)

    def _put(self, frame: bytes | np.ndarray) -> None:
        if self._failed:
            self.close()
            raise AssembleError(f"ffmpeg stopped reading frames for {self._dest.name}")
        self._queue.put(frame)

    def _finish_writer(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        try:
            if not self._stdin.closed:
                self._stdin.close()
        except BrokenPipeError:
            pass

    def close(self) -> None:
        """Finish the file; raise ``AssembleError`` with ffmpeg's reason if it failed."""
        self._finish_writer()
        code = self._proc.wait()
        if self._log.closed:
            return
        self._log.seek(0)
        err = self._log.read().decode("utf-8", "replace")
        self._log.close()
        if code != 0:
            raise AssembleError(f"ffmpeg failed writing {self._dest.name}: {ffmpeg_reason(err)}")

    def kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._finish_writer()
        self._proc.wait()
        self._log.close()

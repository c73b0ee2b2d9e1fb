"""Reference media for tests: real wav/mp3 files made by the bundled ffmpeg, and data URIs.

A pure tone of a chosen frequency lets a test find the reference audio in a clip's sound track
(``tone_level``) without trusting the emulator's own code.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np


def tone(path: Path, seconds: float, freq: int = 1000, rate: int = 16000) -> Path:
    """Write a sine tone of ``seconds`` to ``path`` (format from its suffix: .wav or .mp3)."""
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", f"sine=frequency={freq}:sample_rate={rate}:duration={seconds}", "-ac", "1",
                    str(path)], check=True)  # fmt: skip
    return path


def audio_uri(path: Path, fmt: str | None = None) -> str:
    """``data:audio/<fmt>;base64,`` of a file (fmt from its suffix unless given)."""
    return f"data:audio/{fmt or path.suffix[1:]};base64,{base64.b64encode(path.read_bytes()).decode()}"


def pcm(clip: Path, rate: int = 16000) -> np.ndarray:
    """A media file's first audio track, decoded to mono float samples in [-1, 1]."""
    raw = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(clip), "-map", "0:a:0",
                          "-ac", "1", "-ar", str(rate), "-f", "s16le", "-"], capture_output=True, check=True).stdout  # fmt: skip
    return np.frombuffer(raw, np.int16).astype(np.float64) / 32768


def tone_level(samples: np.ndarray, freq: float, rate: int = 16000) -> float:
    """The share of the signal's energy within ±20 Hz of ``freq`` (0 … 1)."""
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    bins = np.fft.rfftfreq(len(samples), 1 / rate)
    total = float(spectrum.sum()) or 1.0
    return float(spectrum[np.abs(bins - freq) <= 20].sum()) / total

"""The output's sound track: clip audio on the frame grid, crossfades, music with ducking.

Owns: mixing every clip's own audio (gain, crossfade and fade envelopes, silence for clips that
have none) and the background music (volume, fade in/out, start offset, loop or end, ducking
under clips that carry audio) into one raw float32 48 kHz stereo file that the encoder muxes.

Why not MoviePy's audio: it is slow in Python, keeps a reader per clip open, and its clip
lengths come from two-decimal durations (audio drifts). Here every clip's audio is cut and
padded to exactly its video length, so sync cannot drift however many clips there are.
It streams: only the audio of the clip being mixed (plus an overlap) is in memory.

Must not import: moviepy, anything of storyboard but errors, model config classes, .probe,
.timeline.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from storyboard.errors import AssembleError
from storyboard.spec.model import Music

from .probe import ffmpeg_exe, ffmpeg_reason
from .timeline import Timeline

__all__ = ["RATE", "MusicPlan", "mix_audio"]

RATE = 48000
CHANNELS = 2
DUCK_RAMP = 0.1  # seconds the music takes to dip under a clip's audio (avoids clicks)


@dataclass(frozen=True)
class MusicPlan:
    path: Path
    music: Music


def _decode(path: Path, start: float, seconds: float) -> np.ndarray:
    """``seconds`` of ``path``'s audio from ``start``, as (n, 2) float32 at 48 kHz."""
    args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error"]
    if start > 0:
        args += ["-ss", f"{start:.6f}"]
    args += ["-i", str(path), "-t", f"{seconds:.6f}", "-map", "0:a:0", "-vn",
             "-af", "aresample=async=1:first_pts=0", "-ac", str(CHANNELS), "-ar", str(RATE),
             "-f", "f32le", "pipe:1"]  # fmt: skip
    proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    if proc.returncode != 0:
        reason = ffmpeg_reason(proc.stderr.decode("utf-8", "replace"))
        raise AssembleError(f"cannot read the audio of {path}: {reason}")
    return np.frombuffer(proc.stdout, dtype=np.float32).reshape(-1, CHANNELS)


def _fit(data: np.ndarray, n: int) -> np.ndarray:
    """Cut or pad with silence to exactly ``n`` samples."""
    if len(data) >= n:
        return data[:n]
    return np.concatenate([data, np.zeros((n - len(data), CHANNELS), np.float32)])


def _envelope(n: int, ramp_in: int, ramp_out: int) -> np.ndarray:
    env = np.ones(n, np.float32)
    if ramp_in:
        env[:ramp_in] = np.linspace(0, 1, ramp_in, endpoint=False, dtype=np.float32)
    if ramp_out:
        env[n - ramp_out :] = np.linspace(1, 0, ramp_out, endpoint=False, dtype=np.float32)
    return env


class _MusicStream:
    """Sequential reader of the music as 48 kHz stereo float32 (looped if asked)."""

    def __init__(self, plan: MusicPlan) -> None:
        args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error"]
        if plan.music.loop:
            args += ["-stream_loop", "-1"]
        args += ["-i", str(plan.path), "-map", "0:a:0", "-vn", "-ac", str(CHANNELS),
                 "-ar", str(RATE), "-f", "f32le", "pipe:1"]  # fmt: skip
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        # the start offset is skipped here, not with -ss: with -stream_loop, ffmpeg's seek
        # point leaks into later loops; counting samples is exact either way
        skip = round(plan.music.start * RATE)
        while skip > 0:
            skip -= len(self.read(min(skip, RATE)))

    def read(self, n: int) -> np.ndarray:
        raw = self._proc.stdout.read(n * CHANNELS * 4) if self._proc.stdout else b""
        return _fit(np.frombuffer(raw, np.float32).reshape(-1, CHANNELS), n)

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        if self._proc.stdout:
            self._proc.stdout.close()
        self._proc.wait()


def _duck_points(timeline: Timeline, duck: float) -> tuple[np.ndarray, np.ndarray]:
    """Breakpoints (seconds, gain) of the music's ducking curve."""
    spans: list[list[float]] = []
    for p in timeline.placed:
        if p.info.has_audio and p.spec.volume > 0:
            a, b = p.out_start / timeline.fps, p.out_end / timeline.fps
            if spans and a <= spans[-1][1] + 2 * DUCK_RAMP:
                spans[-1][1] = max(spans[-1][1], b)
            else:
                spans.append([a, b])
    xs: list[float] = []
    ys: list[float] = []
    for a, b in spans:
        xs += [a - DUCK_RAMP, a, b, b + DUCK_RAMP]
        ys += [1.0, duck, duck, 1.0]
    return np.array(xs or [0.0]), np.array(ys or [1.0])


def _music_gain(plan: MusicPlan, t: np.ndarray, total: float, duck: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    m = plan.music
    gain = np.full(t.shape, m.volume, np.float32)
    if m.fade_in > 0:
        gain *= np.clip(t / m.fade_in, 0, 1)
    if m.fade_out > 0:
        gain *= np.clip((total - t) / m.fade_out, 0, 1)
    if duck is not None:
        gain *= np.interp(t, duck[0], duck[1], left=1.0, right=1.0).astype(np.float32)
    return gain


def mix_audio(timeline: Timeline, music: MusicPlan | None, out: IO[bytes]) -> None:
    """Write the whole sound track to ``out`` as raw f32le, 48 kHz, stereo, frame-exact."""
    fps = timeline.fps
    total_s = timeline.duration
    total = round(total_s * RATE)

    def to_samples(frame: int) -> int:
        return round(frame * RATE / fps)

    stream = _MusicStream(music) if music else None
    duck = None
    if music is not None and music.music.duck is not None:
        duck = _duck_points(timeline, music.music.duck)
    pending = np.zeros((0, CHANNELS), np.float32)  # mixed clip audio not yet written
    pending_at = 0  # sample index of pending[0]

    def flush(upto: int) -> None:
        nonlocal pending, pending_at
        n = upto - pending_at
        if n <= 0:
            return
        chunk = _fit(pending, n)
        if stream is not None and music is not None:
            t = (pending_at + np.arange(n)) / RATE
            chunk = chunk + stream.read(n) * _music_gain(music, t, total_s, duck)[:, None]
        out.write(np.ascontiguousarray(chunk, np.float32).tobytes())
        pending, pending_at = pending[n:], upto

    try:
        for i, p in enumerate(timeline.placed):
            first, n = to_samples(p.out_start), to_samples(p.out_end) - to_samples(p.out_start)
            if p.info.has_audio and p.spec.volume > 0:
                data = _fit(_decode(p.spec.path, p.src_start, n / RATE), n)
                env = _envelope(n, to_samples(p.xfade_in + p.black_in), to_samples(p.xfade_out + p.black_out))
                data = data * (env * np.float32(p.spec.volume))[:, None]
                offset = first - pending_at
                if len(pending) < offset + n:
                    pending = _fit(pending, offset + n)
                pending[offset : offset + n] += data
            nxt = timeline.placed[i + 1].out_start if i + 1 < len(timeline.placed) else None
            flush(to_samples(nxt) if nxt is not None else total)
    finally:
        if stream is not None:
            stream.close()

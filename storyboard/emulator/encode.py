"""The emulator's ffmpeg command lines: encoding a clip's frames and sound, reading its last frame.

Owns: the encoder invocation (raw RGB frames on stdin; H.264; the synthetic tone, mixed with any
reference audio files; ``mp4`` with AAC and yuv420p, or ``mov`` with PCM audio and yuv444p as
docs/protocol.md §7 describes 2.5's mov output), the tail keyframe that makes the last frame
cheap to read, and that read.

Must not import anything from the package but ``storyboard.seedance.capabilities``, nor MoviePy
(the emulator has to start fast): it drives ``imageio_ffmpeg.get_ffmpeg_exe()``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import imageio_ffmpeg
from PIL import Image

from storyboard.seedance.capabilities import FPS

__all__ = ["decode_last_frame", "encode_command"]

# container -> (pixel format, audio codec and options); §7: mov is H.264 + PCM in yuv444p
_CONTAINERS = {
    "mp4": ("yuv420p", ["-c:a", "aac", "-b:a", "64k"]),
    "mov": ("yuv444p", ["-c:a", "pcm_s16le"]),
}


def encode_command(
    out: Path, size: tuple[int, int], frames: int, *, tone: int | None, mix: Sequence[Path] = (), container: str = "mp4"
) -> list[str]:
    """ffmpeg reading ``frames`` RGB frames of ``size`` from stdin into ``out``.

    ``tone``: the frequency of the clip's own sound (None: a silent clip); ``mix``: audio files
    mixed over it, each starting at 0 and cut at the clip's end.
    """
    pix_fmt, audio_codec = _CONTAINERS[container]
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
           "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size[0]}x{size[1]}", "-r", str(FPS), "-i", "-"]  # fmt: skip
    if tone is not None:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=44100:duration={frames / FPS}"]
        for path in mix:
            cmd += ["-i", str(path)]
        if mix:
            # amix's first input (the tone) sets the length; normalize=0 keeps each input's level
            inputs = "".join(f"[{i}:a]" for i in range(1, len(mix) + 2))
            cmd += ["-filter_complex", f"{inputs}amix=inputs={len(mix) + 1}:duration=first:normalize=0[a]",
                    "-map", "0:v", "-map", "[a]"]  # fmt: skip
        else:
            cmd += ["-map", "0:v", "-map", "1:a"]
        cmd += audio_codec
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", pix_fmt,
            "-force_key_frames", f"expr:eq(n,{_tail_key(frames)})",
            "-frames:v", str(frames), "-movflags", "+faststart", str(out)]  # fmt: skip
    return cmd


def _tail_key(frames: int) -> int:
    """A keyframe ~0.5 s before the end, so decoding the last frame reads only the tail."""
    return max(0, frames - 13)


def decode_last_frame(video: Path, size: tuple[int, int]) -> Image.Image:
    """The encoded file's last frame, decoded (so it equals what any player shows last)."""
    frame_bytes = size[0] * size[1] * 3
    # seeking 0.4 s before the end lands after the tail keyframe: ~13 frames get decoded
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-sseof", "-0.4",
           "-i", str(video), "-map", "0:v", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]  # fmt: skip
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    if len(raw) < frame_bytes:
        raise RuntimeError(f"could not decode the last frame of {video.name}")
    return Image.frombytes("RGB", size, raw[-frame_bytes:])

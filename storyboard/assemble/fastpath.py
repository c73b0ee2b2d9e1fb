"""The fast path: join clips without touching a pixel (ffmpeg concat demuxer, video stream copy).

Owns: deciding whether a job qualifies (and saying why not, for the report), and the one ffmpeg
call that copies the video packets of every clip and muxes the separately mixed sound track
(re-encoded to AAC: stream-copying AAC across joins drifts ~30 ms per join).

A copy across files is only decodable when every clip was encoded alike, so the stream
parameters ffmpeg reports (codec, profile, pixel format and colour range, size, rates) must
match clip 1's; one full-range clip among limited-range ones breaks the concat demuxer.

Must not import: moviepy, anything of storyboard but errors, model config classes and this
package's modules.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from storyboard.errors import AssembleError
from storyboard.spec.model import Output

from .encoder import audio_codec_args, container_args
from .probe import ClipInfo, ffmpeg_exe, ffmpeg_reason
from .timeline import ClipSpec, Timeline

__all__ = ["copy_join", "fast_path_blocker"]

# ffmpeg encoder name -> the codec name its streams carry
_CODEC_OF = {"libx264": "h264", "libx265": "hevc", "libvpx-vp9": "vp9", "libvpx": "vp8",
             "libaom-av1": "av1", "libsvtav1": "av1", "mpeg4": "mpeg4"}  # fmt: skip


def fast_path_blocker(
    clips: Sequence[ClipSpec], infos: Sequence[ClipInfo], timeline: Timeline, output: Output,
    preview: bool,
) -> str | None:  # fmt: skip
    """Why the clips cannot be stream-copied, or None when they can."""
    if preview:
        return "preview renders at a lower resolution"
    if output.title is not None:
        return "a title card is drawn"
    w, h = timeline.size
    want_codec = _CODEC_OF.get(output.codec, output.codec)
    for i, (spec, info, p) in enumerate(zip(clips, infos, timeline.placed, strict=True)):
        name = f"clip {i + 1} ({spec.path.name})"
        if spec.caption is not None:
            return f"{name} has a caption"
        if p.transition != "cut":
            return f"{name} has a {p.transition} transition"
        if p.dropped_frame:
            return f"{name} continues clip {i}: its duplicate first frame is dropped"
        if p.src_start > 0 or p.src_end < info.duration:
            return f"{name} is trimmed"
        if info.size != (w, h):
            return f"{name} is {info.width}x{info.height}, the output is {w}x{h}"
        if abs(info.fps - output.fps) > 1e-6:
            return f"{name} runs at {info.fps:g} fps, the output at {output.fps} fps"
        if info.codec != want_codec:
            return f"{name} is {info.codec}, the output codec is {output.codec}"
        if info.pixel_format != output.pixel_format:
            return f"{name} is {info.pixel_format}, the output pixel format is {output.pixel_format}"
        if info.signature != infos[0].signature:
            diff = [f for f in info.signature if f not in infos[0].signature]
            what = ", ".join(diff) or "stream order"
            return f"{name} is encoded differently from clip 1 ({what})"
    return None


def _quote(path: Path) -> str:
    return "'" + str(path.resolve()).replace("'", "'\\''") + "'"


def copy_join(
    timeline: Timeline, output: Output, dest: Path,
    write_audio: Callable[[IO[bytes]], None] | None, list_file: Path,
) -> None:  # fmt: skip
    """Write ``dest``: every clip's video packets in order, plus the sound track (if any) that
    ``write_audio`` streams into ffmpeg while it copies, so mixing overlaps with muxing."""
    lines = []
    for p in timeline.placed:
        # the listed duration (exact, from the frame count) sets where the next clip starts, so
        # a clip whose audio outlasts its video does not push the following clips late
        # inpoint 0: time 0 of a file is its first video frame, not the earlier start of its
        # primed AAC audio (~21 ms), which would push every clip's video late by that much
        lines += [f"file {_quote(p.spec.path)}", "inpoint 0",
                  f"duration {p.frames / timeline.fps:.6f}"]  # fmt: skip
    list_file.write_text("ffconcat version 1.0\n" + "\n".join(lines) + "\n", encoding="utf-8")
    # -copyts: ffmpeg would otherwise shift the video by the concat input's start time, which
    # a clip with B-frames and primed AAC puts ~23 ms before its first picture
    args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-copyts",
            "-f", "concat", "-safe", "0", "-i", str(list_file)]  # fmt: skip
    if write_audio is not None:
        args += ["-f", "f32le", "-ar", "48000", "-ac", "2", "-i", "pipe:0"]
    args += ["-map", "0:v:0"] + (["-map", "1:a:0"] if write_audio is not None else [])
    args += ["-c:v", "copy"]
    if write_audio is not None:
        args += audio_codec_args(dest, output)
    args += container_args(dest) + [str(dest)]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=log)  # fmt: skip
        assert proc.stdin is not None  # stdin is PIPE
        stdin = proc.stdin
        try:
            if write_audio is not None:
                write_audio(stdin)
        except BrokenPipeError:
            pass  # ffmpeg stopped reading: its exit code and log say why, below
        except BaseException:
            proc.kill()
            raise
        finally:
            try:
                stdin.close()
            except BrokenPipeError:
                pass
            code = proc.wait()
        if code != 0:
            log.seek(0)
            reason = ffmpeg_reason(log.read().decode("utf-8", "replace"))
            raise AssembleError(f"ffmpeg failed writing {dest.name}: {reason}")

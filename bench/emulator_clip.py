"""Benchmark: CPU and wall time the emulator spends synthesising one clip.

Prints one line per case: process + child (ffmpeg) CPU seconds from ``resource.getrusage``,
and wall seconds. The target (issue 3) is a 5 s 480p clip in under 2 s of CPU on 2 cores.

    python bench/emulator_clip.py [--repeat N]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from storyboard.emulator.clips import SynthesisRequest, render_clip
from storyboard.seedance.capabilities import pixel_size

MEDIA = Path(__file__).resolve().parents[1] / "examples" / "media"
MODEL = "doubao-seedance-1-5-pro-251215"


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--media", type=Path, default=MEDIA)
    args = parser.parse_args()
    first = Image.open(args.media / "vacation_2017.jpg").convert("RGB")
    last = Image.open(args.media / "image_0025.jpg").convert("RGB")
    w, h = pixel_size(MODEL, "480p", "16:9")
    base = dict(
        width=w,
        height=h,
        frames=121,
        ratio="16:9",
        seed=7,
        prompt="A slow push-in on a sunny street, cinematic, warm light",
    )
    cases = {
        "t2v 480p 5s": SynthesisRequest(**base),
        "t2v 480p 5s camerafixed": SynthesisRequest(**base, camerafixed=True),
        "first-frame 480p 5s": SynthesisRequest(**base, first=first),
        "first+last 480p 5s + watermark": SynthesisRequest(**base, first=first, last=last, watermark=True),
        "t2v 480p 5s + audio": SynthesisRequest(**base, audio=True),
        "first-frame 720p 5s (for scale)": SynthesisRequest(**{**base, "width": 1280, "height": 720}, first=first),
    }
    print(f"{args.repeat} runs per case; 480p = 864x496, 121 frames, clip + last-frame PNG")
    print(f"{'case':36} {'cpu s (min)':>11} {'wall s (min)':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in cases.items():
            cpus, walls = [], []
            for i in range(args.repeat):
                c0, w0 = _cpu(), time.perf_counter()
                render_clip(spec, Path(tmp) / f"c{i}.mp4", Path(tmp) / f"c{i}.png")
                cpus.append(_cpu() - c0)
                walls.append(time.perf_counter() - w0)
            print(f"{name:36} {min(cpus):11.2f} {min(walls):12.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: a 30-variant product batch against the emulator with latency L.

Each variant is a shared intro + 2 product shots (a photo, then a chained close-up) + a shared
end card, so the batch needs 1 + 60 + 1 unique generations. Runs `storyboard render --vars
products.csv` as a subprocess from an empty cache and prints wall time, unique generations,
create and poll requests (the emulator's own counters), 429s and the peak memory of the whole
render process tree (ffmpeg children included); then a second run, which must send nothing.

    python bench/variants_batch.py [--latency 5] [--rows 30]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from PIL import Image

from storyboard.emulator import Emulator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from assembly import measure  # noqa: E402  (the process-tree memory sampler of the assembly bench)

TEMPLATE = """\
version: 1
name: promo
defaults: {model: doubao-seedance-1-0-pro-fast-251015, resolution: 480p, duration: 2, seed: 5}
output: {path: "out/{{ product | slug }}.mp4", preset: veryfast, transition: {type: crossfade, duration: 0.3}}
shots:
  - {id: intro, prompt: "brand intro"}
  - {id: hero, prompt: "the {{ product }} turns", images: [{path: "{{ photo }}"}], caption: {text: "{{ product }}"}}
  - {id: detail, prompt: "details of the {{ product }}", chain: true}
  - {id: endcard, prompt: "end card, shop now"}
"""


def make(folder: Path, rows: int) -> tuple[Path, Path]:
    (folder / "media").mkdir(parents=True)
    lines = ["product,photo"]
    for i in range(rows):
        Image.new("RGB", (640, 400), (i * 8 % 256, 120, 255 - i * 8 % 256)).save(folder / "media" / f"p{i}.jpg")
        lines.append(f"Product {i},media/p{i}.jpg")
    (folder / "promo.yaml").write_text(TEMPLATE)
    (folder / "products.csv").write_text("\n".join(lines) + "\n")
    return folder / "promo.yaml", folder / "products.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=5.0, help="emulator latency L in seconds")
    parser.add_argument("--rows", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Emulator(latency=args.latency, workdir=Path(tmp) / "emu") as emu:
        folder = Path(tmp)
        board, csv = make(folder, args.rows)
        os.environ.update(
            ACEDATACLOUD_API_BASE_URL=emu.url,
            ACEDATACLOUD_API_TOKEN="bench",
            STORYBOARD_CACHE_DIR=str(folder / "cache"),
        )
        cmd = [sys.executable, "-m", "storyboard", "render", str(board), "--vars", str(csv), "--quiet"]
        wall, peak = measure(cmd)
        stats = emu.stats()
        summary = json.loads((folder / "out" / "promo.batch.json").read_text())
        done = sum(v["status"] == "done" for v in summary["videos"])
        print(f"{args.rows} variants x 4 shots, emulator latency L = {args.latency:g} s, 480p 2 s clips, 2 cores")
        print(
            f"first run : wall {wall:6.1f} s, {done}/{args.rows} videos, {summary['unique_generations']} unique "
            f"generations, {stats['creates']} creates, {stats['retrieve_batch'] + stats['polls']} poll requests, "
            f"{stats['creates_rate_limited']} rate-limited, peak memory {peak / 2**20:.0f} MiB (process tree)"
        )
        wall2, peak2 = measure(cmd)
        stats2 = emu.stats()
        print(
            f"second run: wall {wall2:6.1f} s, {stats2['creates'] - stats['creates']} creates, "
            f"peak memory {peak2 / 2**20:.0f} MiB"
        )


if __name__ == "__main__":
    main()

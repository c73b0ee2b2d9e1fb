"""Benchmark: 3 independent chains x 3 shots against the emulator with latency L.

Renders the same storyboard twice from an empty cache — with `--jobs 1` and with the default
concurrency — and prints both wall times, their ratio, the generation-only times and the
poll requests per task (from the emulator's own counters). Expectation: with the default, the
generation time is about 3 x (L + clip synthesis) — the length of one chain — so about a
third of `--jobs 1`.

    python bench/render_chains.py [--latency 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from storyboard.emulator import Emulator

ROOT = Path(__file__).resolve().parents[1]


def board(folder: Path) -> Path:
    (folder / "media").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "examples" / "media" / "image_0001.jpg", folder / "media" / "bird.jpg")
    lines = [
        "version: 1",
        "name: chains",
        "defaults: {model: doubao-seedance-1-0-pro-fast-251015, resolution: 480p, duration: 2}",
        "output: {path: out/chains.mp4, preset: ultrafast}",
        "shots:",
    ]
    for chain in range(3):
        lines.append(f'  - {{id: c{chain}s0, prompt: "chain {chain} shot 0", images: [{{path: media/bird.jpg}}]}}')
        for shot in (1, 2):
            lines.append(
                f'  - {{id: c{chain}s{shot}, prompt: "chain {chain} shot {shot}", images: [{{from: c{chain}s{shot - 1}}}]}}'
            )
    path = folder / "chains.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(latency: float, jobs: int | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, Emulator(latency=latency, workdir=Path(tmp) / "emu") as emu:
        folder = Path(tmp)
        path = board(folder)
        env = {
            **os.environ,
            "ACEDATACLOUD_API_BASE_URL": emu.url,
            "ACEDATACLOUD_API_TOKEN": "bench",
            "STORYBOARD_CACHE_DIR": str(folder / "cache"),
        }
        cmd = [sys.executable, "-m", "storyboard", "render", str(path), "--quiet"]
        if jobs:
            cmd += ["--jobs", str(jobs)]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, env=env, capture_output=True)
        wall = time.perf_counter() - t0
        report = json.loads((folder / "out" / "chains.report.json").read_text())
        stats = emu.stats()
        return {
            "wall": wall,
            "generation": report["timings"]["generation_seconds"],
            "assembly": report["timings"]["assembly_seconds"],
            "poll_requests": stats["retrieve_batch"] + stats["polls"],
            "creates": stats["creates"],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=3.0, help="emulator latency L in seconds")
    args = parser.parse_args()
    serial = run(args.latency, 1)
    parallel = run(args.latency, None)
    print(f"9 shots (3 chains x 3), emulator latency L = {args.latency:g} s, 480p 2 s clips")
    for name, r in (("--jobs 1", serial), ("default", parallel)):
        print(
            f"{name:>9}: wall {r['wall']:6.2f} s (generation {r['generation']:6.2f} s, assembly "
            f"{r['assembly']:5.2f} s), {r['creates']:.0f} creates, {r['poll_requests']:.0f} poll "
            f"requests = {r['poll_requests'] / 9:.2f} per task"
        )
    print(f"generation ratio default / --jobs 1: {parallel['generation'] / serial['generation']:.2f}")
    print(f"wall ratio default / --jobs 1: {parallel['wall'] / serial['wall']:.2f}")


if __name__ == "__main__":
    main()

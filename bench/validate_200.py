"""Benchmark: `storyboard validate` on a generated 200-shot storyboard.

Builds, in a temporary directory, a storyboard of 200 shots using 20 local photos (Pillow
generated, 1280x720 JPEG), `chain: true` on every other shot and `from:` references, then
prints the median of several runs of:

* load() in-process, first call in a fresh process (image headers read and hashed),
* load() in-process, repeated (image facts memoised per path/size/mtime),
* make_plan() in-process (base64 of every local image),
* `storyboard validate FILE` as a subprocess, interpreter start-up included (wall, and the
  child's CPU time, which other load on the machine disturbs less),
* `python -c "import storyboard.cli.main"` as a subprocess, for the start-up share of that.

Usage: python bench/validate_200.py [--shots N] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

PHOTOS = 20


def write_board(root: Path, shots: int) -> Path:
    media = root / "media"
    media.mkdir()
    for i in range(PHOTOS):
        Image.new("RGB", (1280, 720), (i * 12, 80, 160)).save(media / f"p{i}.jpg", quality=90)
    lines = [
        "version: 1",
        "name: bench-{{ n }}",
        "vars: {n: 200, coat: red}",
        "defaults: {model: doubao-seedance-1-0-pro-250528, resolution: 480p, ratio: '16:9', duration: 4, seed: 1}",
        "output: {transition: {type: crossfade, duration: 0.3}}",
        "shots:",
    ]
    for i in range(shots):
        lines += [f"  - id: s{i}", f"    prompt: Shot {i} of {{{{ n }}}}, a girl in a {{{{ coat }}}} coat, the fox"]
        if i % 10 == 0:
            lines += ["    images:", f"      - {{path: media/p{(i // 10) % PHOTOS}.jpg, role: first_frame}}"]
        elif i % 10 == 5:
            lines += ["    images:", f"      - {{from: s{i - 3}, role: first_frame}}",
                      f"      - {{path: media/p{i % PHOTOS}.jpg, role: last_frame}}"]  # fmt: skip
        elif i % 2 == 1:
            lines += ["    chain: true"]
        if i % 7 == 0:
            lines += ["    trim: {start: 0.5, end: 3.5}", "    caption: {text: 'scene {{ n }}'}"]
    path = root / "board.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def timed(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=200)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    # the script next to this interpreter, not a version-manager shim that re-execs (pyenv: +0.2 s)
    beside = Path(sys.executable).with_name("storyboard")
    exe = str(beside) if beside.exists() else shutil.which("storyboard")
    if exe is None:
        sys.exit("the storyboard console script is not installed (pip install -e .)")

    with tempfile.TemporaryDirectory() as tmp:
        board = write_board(Path(tmp), args.shots)
        size_kb = board.stat().st_size / 1024
        first_code = (
            "import sys, time; from storyboard.spec.load import load; t = time.perf_counter(); "
            f"b = load({str(board)!r}); print(time.perf_counter() - t, len(b.board.shots))"
        )
        firsts = []
        for _ in range(args.runs):
            out = subprocess.run([sys.executable, "-c", first_code], capture_output=True, text=True, check=True)
            seconds, count = out.stdout.split()
            assert int(count) == args.shots
            firsts.append(float(seconds))

        from storyboard.engine.plan import make_plan
        from storyboard.spec.load import load

        loaded = load(board)
        repeated = timed(lambda: load(board), args.runs)
        planning = timed(lambda: make_plan(loaded, service="bench"), args.runs)

        def run_cli() -> None:
            done = subprocess.run([exe, "validate", str(board)], capture_output=True, text=True, check=False)
            assert done.returncode == 0, done.stderr

        before = os.times()
        cli = timed(run_cli, args.runs)
        after = os.times()
        # CPU seconds of the children: less at the mercy of other load on the machine than wall time
        cli_cpu = after.children_user + after.children_system - before.children_user - before.children_system
        cli_cpu /= args.runs
        startup = timed(
            lambda: subprocess.run([sys.executable, "-c", "import storyboard.cli.main"], check=True), args.runs
        )

    print(f"storyboard: {args.shots} shots, {PHOTOS} local photos (1280x720), {size_kb:.0f} KiB of YAML; "
          f"median of {args.runs} runs")  # fmt: skip
    print(f"  load() in-process, first call        {statistics.median(firsts) * 1000:8.1f} ms")
    print(f"  load() in-process, repeated          {repeated * 1000:8.1f} ms")
    print(f"  make_plan() in-process               {planning * 1000:8.1f} ms")
    print(f"  `storyboard validate` subprocess     {cli * 1000:8.1f} ms  (CPU {cli_cpu * 1000:.0f} ms, mean)")
    print(f"  of which `import storyboard.cli.main`     {startup * 1000:8.1f} ms")


if __name__ == "__main__":
    main()

"""Benchmark: takes (1 vs 3 per shot, then a pick) and the cost of writing the review page.

Takes: 3 independent shots (480p 2 s, 1.0 pro-fast, one caption) rendered by `storyboard render`
as a subprocess from an empty cache with `defaults: {takes: 1}` and with `takes: 3`, against the
emulator with latency L; prints wall and generation time (`NAME.report.json`), creates (the
emulator's counters) and how far apart the creates were sent (its request log: ~0 s when all
takes are submitted at once). Then `storyboard pick FILE b 2` and a re-render, timed: 0 creates
expected, the video is re-assembled with take 2.

Review page: renders a copy of examples/quickstart.yaml and the 3-take board in-process, catches
the arguments of the CLI's `write_reviews` call and calls it again (median of --runs): "cold"
with NAME.review/, the poster, the sheet, the page and the captions removed first (what a first
render pays: clip links, ffmpeg first/last frames per take, one decoding pass for the poster and
sheet), "warm" with them in place (what a re-render pays: poster, sheet, page), and the HTML
alone (`render_page`). Prints the page's size and the files it links.

    python bench/takes_review.py [--latency 3] [--runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote

from storyboard.emulator import Emulator

ROOT = Path(__file__).resolve().parents[1]
BOARD = """\
version: 1
name: takes
defaults: {{model: doubao-seedance-1-0-pro-fast-251015, resolution: 480p, duration: 2, seed: 7, takes: {takes}}}
output: {{path: out/takes.mp4, preset: ultrafast}}
shots:
  - {{id: a, prompt: "a lighthouse at dawn", caption: "the lighthouse"}}
  - {{id: b, prompt: "waves on the rocks"}}
  - {{id: c, prompt: "a gull over the sea"}}
"""


def cli(*args: str) -> float:
    """Wall seconds of `storyboard ARGS` as a subprocess (environment: the emulator's, set in main)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "storyboard", *args], check=True, capture_output=True)
    return time.perf_counter() - t0


def takes_run(folder: Path, takes: int, emu: Emulator) -> dict[str, float]:
    folder.mkdir(parents=True)
    board = folder / "takes.yaml"
    board.write_text(BOARD.format(takes=takes))
    os.environ["STORYBOARD_CACHE_DIR"] = str(folder / "cache")
    before = len(emu.requests)
    wall = cli("render", str(board), "--quiet")
    report = json.loads((folder / "out" / "takes.report.json").read_text())
    sent = [r["ts"] for r in emu.requests[before:] if r["method"] == "POST" and r["path"] == "/seedance/videos"]
    return {"wall": wall, "generation": report["timings"]["generation_seconds"],
            "assembly": report["timings"]["assembly_seconds"], "creates": len(sent),
            "spread": max(sent) - min(sent) if sent else 0.0}  # fmt: skip


def median_of(runs: int, fn, before=None) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        if before is not None:
            before()
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def review_bench(board: Path, runs: int) -> None:
    """Render `board` in-process, then time the review writing of its one video again and again."""
    import storyboard.cli.render as render_cmd
    from storyboard.cli.main import main
    from storyboard.engine.review.page import beside, render_page
    from storyboard.engine.review.write import review_of

    real, caught = render_cmd.write_reviews, []

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        written = real(*args, **kwargs)
        caught.append((args, kwargs, time.perf_counter() - t0))
        return written

    render_cmd.write_reviews = spy
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["render", str(board), "--quiet"]) == 0
    finally:
        render_cmd.write_reviews = real
    (batch, result, lock), kwargs, in_render = caught[0]
    video = result.videos[0]
    files = beside(video.result.output)

    def write() -> None:
        (written,) = real(batch, result, lock, **kwargs)
        assert written.page is not None, written.error

    def clear() -> None:
        shutil.rmtree(files.folder, ignore_errors=True)
        for path in (files.page, files.poster, files.sheet, files.srt, files.vtt):
            path.unlink(missing_ok=True)

    cold = median_of(runs, write, clear)
    warm = median_of(runs, write)
    review = review_of(batch, video, result, lock, preview=False)
    extras = {name: path for name, path in (("poster", files.poster), ("sheet", files.sheet),
              ("srt", files.srt), ("vtt", files.vtt)) if path.exists()}  # fmt: skip
    html_only = median_of(runs, lambda: render_page(review, extras=extras))

    html = files.page.read_text(encoding="utf-8")
    linked = {(files.page.parent / unquote(h)).resolve() for h in re.findall(r'(?:src|href|poster)="([^"#:]+)"', html)}
    linked = {p for p in linked if p.is_file()}
    thumbs = [p for p in linked if p.parent == files.folder.resolve() and p.suffix == ".jpg"]
    clips = [p for p in linked if p.parent == files.folder.resolve() and p.suffix == ".mp4"]
    takes = sum(len(p.takes) for p in review.panels)
    size = sum(p.stat().st_size for p in thumbs)
    print(f"  {board.name}: {len(review.panels)} shots, {takes} takes; median of {runs} runs")
    print(f"    write_reviews, cold (NAME.review/ etc. removed) {cold * 1000:7.0f} ms"
          f"   (inside the render itself: {in_render * 1000:.0f} ms)")  # fmt: skip
    print(f"    write_reviews, warm (thumbnails in place)       {warm * 1000:7.0f} ms")
    print(f"    render_page alone (the HTML)                    {html_only * 1000:7.1f} ms")
    print(
        f"    {files.page.name}: {len(html.encode()):,} bytes; links {len(linked)} local files: {len(thumbs)} "
        f"thumbnails, {size:,} bytes in all; {len(clips)} clips, {sum(p.stat().st_size for p in clips):,} bytes"
    )
    for name, path in extras.items():
        print(f"    {name:>6} {path.name}: {path.stat().st_size:,} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=3.0, help="emulator latency L in seconds")
    parser.add_argument("--runs", type=int, default=5, help="runs of each in-process review measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Emulator(latency=args.latency, workdir=Path(tmp) / "emu") as emu:
        os.environ.update(ACEDATACLOUD_API_BASE_URL=emu.url, ACEDATACLOUD_API_TOKEN="bench")
        one = takes_run(Path(tmp) / "one", 1, emu)
        three = takes_run(Path(tmp) / "three", 3, emu)  # its own empty cache; STORYBOARD_CACHE_DIR stays on it
        board = Path(tmp) / "three" / "takes.yaml"
        pick = cli("pick", str(board), "b", "2")
        creates = emu.stats()["creates"]
        rerender = cli("render", str(board), "--quiet")
        report = json.loads((board.parent / "out" / "takes.report.json").read_text())
        picked = {s["shot"]: s["take"] for s in report["shots"]}

        print(f"takes: 3 independent shots, 480p 2 s, emulator latency L = {args.latency:g} s, empty cache each")
        for name, r in (("takes: 1", one), ("takes: 3", three)):
            print(f"  {name}: wall {r['wall']:6.2f} s (generation {r['generation']:6.2f} s, assembly "
                  f"{r['assembly']:5.2f} s), {r['creates']:.0f} creates sent within {r['spread']:.2f} s")  # fmt: skip
        print(f"  wall ratio takes 3 / takes 1: {three['wall'] / one['wall']:.2f}; "
              f"generation ratio: {three['generation'] / one['generation']:.2f}")  # fmt: skip
        print(f"  storyboard pick takes.yaml b 2: {pick:.2f} s; re-render: wall {rerender:.2f} s, "
              f"{emu.stats()['creates'] - creates} creates, video uses takes {picked}, "
              f"assembly {report['timings']['assembly_seconds']:.2f} s")  # fmt: skip

        quick = Path(tmp) / "quickstart"
        (quick / "media").mkdir(parents=True)
        shutil.copy(ROOT / "examples" / "quickstart.yaml", quick)
        shutil.copy(ROOT / "examples" / "media" / "image_0001.jpg", quick / "media")
        os.environ["STORYBOARD_CACHE_DIR"] = str(Path(tmp) / "qcache")
        print("review page (in-process; each board rendered once first, then write_reviews replayed):")
        review_bench(quick / "quickstart.yaml", args.runs)
        os.environ["STORYBOARD_CACHE_DIR"] = str(Path(tmp) / "three" / "cache")
        review_bench(board, args.runs)


if __name__ == "__main__":
    main()

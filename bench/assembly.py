"""Benchmark: storyboard's assembly beside plain ffmpeg doing the same job.

Joins 8 clips of 5 s (121 frames, 1248x704, 24 fps, AAC audio) three ways — all cuts (the
stream-copy fast path), 0.5 s crossfades, mixed sizes (16:9, 9:16, 1:1, 4:3 fitted with
``contain``) — and prints, for each, wall time, output fps, peak RSS of the whole process tree
(sampled from /proc every 20 ms; MoviePy runs ffmpeg children) and the ratio to ffmpeg. Then
peak memory of the crossfade job for 8 vs 32 clips.

Every job runs in a fresh process, ours included (so imports count, as in real use); ours and
ffmpeg's runs alternate, and the medians are compared.

    python bench/assembly.py [--preset veryfast] [--crf 23] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import imageio_ffmpeg

FF = imageio_ffmpeg.get_ffmpeg_exe()
ROOT = Path(__file__).resolve().parents[1]
W, H, FPS, FRAMES = 1248, 704, 24, 121
XFADE = 0.5
SIZES = [(1248, 704), (704, 1248), (960, 960), (1120, 832)]


def make_clips(folder: Path, n: int, size: tuple[int, int] = (W, H), tag: str = "") -> list[Path]:
    out = []
    for i in range(n):
        path = folder / f"clip{tag}{i}.mp4"
        if not path.exists():
            w, h = size
            subprocess.run(
                [FF, "-v", "error", "-y",
                 "-f", "lavfi", "-i", f"testsrc2=size={w}x{h}:rate={FPS},hue=h={i * 45}",
                 "-f", "lavfi", "-i", f"sine=frequency={220 + 55 * i}:sample_rate=48000",
                 "-frames:v", str(FRAMES), "-t", f"{FRAMES / FPS}", "-c:v", "libx264",
                 "-preset", "ultrafast", "-crf", "23", "-pix_fmt", "yuv420p",
                 "-c:a", "aac", "-b:a", "128k", "-shortest", str(path)],
                check=True,
            )  # fmt: skip
        out.append(path)
    return out


def tree_rss(root: int) -> int:
    """Resident memory of ``root`` and all its descendants, in bytes.

    Walks /proc/<pid>/task/<tid>/children (cheap) instead of scanning all of /proc, so the
    sampler itself does not steal a noticeable share of the 2 cores being measured.
    """
    page = os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * page
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    stack += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            continue
    return total


def measure(cmd: list[str]) -> tuple[float, int]:
    """Run ``cmd``; return (wall seconds, peak tree RSS bytes)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = [0]

    def poll() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss(proc.pid))
            time.sleep(0.02)

    watcher = threading.Thread(target=poll)
    watcher.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    watcher.join()
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{err.decode()[-2000:]}")
    return wall, peak[0]


def frames_of(path: Path) -> int:
    sys.path.insert(0, str(ROOT))
    from storyboard.assemble import probe

    return probe(path).frames


def ours(clips: list[Path], dest: Path, transition: str, preset: str, crf: int) -> list[str]:
    job = {
        "clips": [str(c) for c in clips], "dest": str(dest),
        "output": {"size": f"{W}x{H}", "preset": preset, "crf": crf,
                   "transition": {"type": transition, "duration": XFADE}},
    }  # fmt: skip
    code = (
        "import json,sys; from pathlib import Path;"
        "from storyboard.assemble import assemble, ClipSpec; from storyboard.spec.model import Output;"
        "j=json.loads(sys.argv[1]);"
        "r=assemble([ClipSpec(Path(c)) for c in j['clips']], Output(**j['output']),"
        " Path(j['dest']), base_dir=Path('.'));"
        "print(r.method, r.frames)"
    )
    return [sys.executable, "-c", code, json.dumps(job)]


def ff_cuts(clips: list[Path], dest: Path, folder: Path) -> list[str]:
    lst = folder / "list.txt"
    lst.write_text("".join(f"file '{c}'\n" for c in clips))
    return [FF, "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(lst),
            "-c:v", "copy", "-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart",
            str(dest)]  # fmt: skip


def _inputs(clips: list[Path]) -> list[str]:
    return [a for c in clips for a in ("-i", str(c))]


def _encode(preset: str, crf: int, dest: Path) -> list[str]:
    return ["-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart", str(dest)]  # fmt: skip


def ff_xfade(clips: list[Path], dest: Path, preset: str, crf: int) -> list[str]:
    d = FRAMES / FPS
    parts, v, a = [], "[0:v]", "[0:a]"
    for i in range(1, len(clips)):
        offset = i * d - i * XFADE
        parts.append(f"{v}[{i}:v]xfade=transition=fade:duration={XFADE}:offset={offset:.6f}[v{i}]")
        parts.append(f"{a}[{i}:a]acrossfade=d={XFADE}[a{i}]")
        v, a = f"[v{i}]", f"[a{i}]"
    return [FF, "-v", "error", "-y", *_inputs(clips), "-filter_complex", ";".join(parts),
            "-map", v, "-map", a, *_encode(preset, crf, dest)]  # fmt: skip


def ff_mixed(clips: list[Path], dest: Path, preset: str, crf: int) -> list[str]:
    fit = (f"scale={W}:{H}:force_original_aspect_ratio=decrease,"
           f"pad={W}:{H}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={FPS}")  # fmt: skip
    parts = [f"[{i}:v]{fit}[v{i}]" for i in range(len(clips))]
    joined = "".join(f"[v{i}][{i}:a]" for i in range(len(clips)))
    parts.append(f"{joined}concat=n={len(clips)}:v=1:a=1[v][a]")
    return [FF, "-v", "error", "-y", *_inputs(clips), "-filter_complex", ";".join(parts),
            "-map", "[v]", "-map", "[a]", *_encode(preset, crf, dest)]  # fmt: skip


def report(name: str, results: list[tuple[float, int]], dest: Path) -> tuple[float, int]:
    """Print and return the median wall time and the peak memory of ``results``."""
    results = sorted(results)
    wall, peak = results[len(results) // 2][0], max(r[1] for r in results)
    frames = frames_of(dest)
    spread = f"[{results[0][0]:.2f}-{results[-1][0]:.2f}]" if len(results) > 1 else ""
    print(f"{name:<30} {wall:7.2f} s {spread:<13} {frames / wall:7.1f} fps "
          f"{peak / 2**20:6.0f} MiB  {frames} frames", flush=True)  # fmt: skip
    return wall, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="veryfast")
    ap.add_argument("--crf", type=int, default=23)
    ap.add_argument("--keep", type=Path, help="folder for the generated clips (reused)")
    ap.add_argument("--runs", type=int, default=3, help="runs per job (median)")
    args = ap.parse_args()
    os.chdir(ROOT)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="sb-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    eight = make_clips(folder, 8)
    mixed = [make_clips(folder, 1, SIZES[i % 4], tag=f"s{i}x")[0] for i in range(8)]
    out = folder / "out"
    out.mkdir(exist_ok=True)
    p, c = args.preset, args.crf
    print(f"8 clips x {FRAMES} frames {W}x{H} {FPS} fps + AAC; preset {p}, crf {c}; "
          f"{os.cpu_count()} cores")  # fmt: skip
    measure(ours(eight[:2], out / "warmup.mp4", "cut", p, c))  # first run compiles .pyc files
    print(f"{'job':<30} {'wall (median [min-max])':<24} {'out fps':>11} {'peak RSS':>10}")
    jobs = [
        ("cuts", ours(eight, out / "cuts.mp4", "cut", p, c),
         ff_cuts(eight, out / "ff-cuts.mp4", folder)),
        ("crossfade 0.5 s", ours(eight, out / "xf.mp4", "crossfade", p, c),
         ff_xfade(eight, out / "ff-xf.mp4", p, c)),
        ("mixed sizes", ours(mixed, out / "mixed.mp4", "cut", p, c),
         ff_mixed(mixed, out / "ff-mixed.mp4", p, c)),
    ]  # fmt: skip
    for name, mine, theirs in jobs:
        # alternate the two commands, so that load from elsewhere hits both alike
        pairs = [(measure(mine), measure(theirs)) for _ in range(args.runs)]
        dest_mine = Path(json.loads(mine[-1])["dest"])
        w_mine, m_mine = report(f"storyboard {name}", [m for m, _ in pairs], dest_mine)
        w_ff, m_ff = report(f"ffmpeg {name}", [f for _, f in pairs], Path(theirs[-1]))
        print(f"{'  ratio storyboard / ffmpeg':<30} {w_mine / w_ff:7.2f}x time, "
              f"{m_mine / m_ff:.2f}x memory")  # fmt: skip
    print("memory vs clip count (crossfade job):")
    peaks = {}
    for n in (8, 32):
        clips = [eight[i % 8] for i in range(n)]
        job = ours(clips, out / f"xf{n}.mp4", "crossfade", p, c)
        _, peaks[n] = report(f"storyboard crossfade {n} clips", [measure(job)], out / f"xf{n}.mp4")
    print(f"{'  peak 32 clips / peak 8 clips':<30} {peaks[32] / peaks[8]:7.2f}x")


if __name__ == "__main__":
    main()

"""Benchmark: what Seedance 2.x references cost, from probing a file to synthesising the clip.

Prints three tables:

* probing a local reference file (`inspect_media`: the bundled ffmpeg's header probe, then a
  sha256 of the file), median of --runs: the first call (memo cleared before each) and the
  memoised repeat, for the voice of examples/cast.yaml (voice_mia.mp3), a 1 MB mp3 and a 2 s
  video. examples/media holds no video (2.x takes reference videos by URL or `from:` a shot,
  never a local file), so the video is tests/fixtures/assemble/chaplin_2s.mp4 (or --video);
* load() and make_plan() (median of --runs) of examples/cast.yaml, examples/extend.yaml and a
  generated board of --shots shots on doubao-seedance-2-0 in which every shot uses 2-3 of three
  assets (a photo, the voice, a video URL) or `from:` the shot before. load first: the loader's
  memos cleared (YAML parse, compiled templates, image and media facts, data URIs); plan first:
  after a load, only the data URIs (base64 of each local image and audio) cleared; repeat:
  memoised. Also how many ffmpeg probes and image reads a first load + plan makes (one per
  file, however many shots use it);
* the emulator's clip synthesis (as bench/emulator_clip.py: CPU s of the process and its ffmpeg,
  and wall s, best of --repeat) for 480p 16:9 clips of --seconds: 2.0 text-to-video, with
  audio, with a reference image, with a reference image and the voice mixed into the audio; 2.5
  extend and edit of a text-to-video clip of the same length (decoded as the source).

Usage: python bench/references.py [--runs N] [--shots N] [--repeat N] [--seconds S] [--video FILE]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from storyboard.emulator.clips import SourceVideo, SynthesisRequest, render_clip
from storyboard.emulator.media import probe
from storyboard.engine.plan import make_plan
from storyboard.seedance.capabilities import pixel_size
from storyboard.spec import images, media, templating
from storyboard.spec.load import _parse as parse_memo
from storyboard.spec.load import load
from storyboard.spec.localfile import sha256_of

ROOT = Path(__file__).resolve().parents[1]
MEDIA = ROOT / "examples" / "media"
V20, V25 = "doubao-seedance-2-0-260128", "doubao-seedance-2-5-260628"


def median_ms(fn: Callable[[], object], runs: int, before: Callable[[], None] = lambda: None) -> float:
    samples = []
    for _ in range(runs):
        before()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def forget() -> None:
    """Clear the loader's memos (YAML parse, templates, file facts): the next load reads and hashes files again."""
    for memo in (parse_memo, templating._compile, media._inspect, images._inspect):
        memo.cache_clear()
    forget_uris()


def forget_uris() -> None:
    """Clear the memos of data URIs (base64 of each local image and audio file), as a first plan sees them."""
    media.audio_data_uri.cache_clear()
    images.data_uri.cache_clear()


def write_board(root: Path, shots: int) -> Path:
    (root / "media").mkdir()
    for name in ("image_0001.jpg", "voice_mia.mp3"):
        shutil.copy(MEDIA / name, root / "media")
    lines = [
        "version: 1",
        "name: references-bench",
        "assets:",
        "  mia: {path: media/image_0001.jpg, note: the bird}",
        "  voice: {path: media/voice_mia.mp3}",
        "  branch: {url: 'https://example.com/branch.mp4'}",
        f"defaults: {{model: {V20}, resolution: 480p, ratio: '16:9', duration: 4, seed: 1}}",
        "shots:",
    ]
    uses = [
        ("[mia, voice]", "Mia ([Image 1]) speaks with the voice of [Audio 1]"),
        ("[mia, branch]", "Mia ([Image 1]) on the branch of [Video 1]"),
        ("[mia, voice, branch]", "Mia ([Image 1]) sings like [Audio 1] on [Video 1]"),
        ("[mia, {{from: s{prev}}}]", "Mia ([Image 1]) flies on from [Video 1]"),
    ]
    for i in range(shots):
        refs, prompt = uses[i % 4 if i else 0]
        lines += [f"  - id: s{i}", f'    prompt: "{prompt}, shot {i}"', f"    references: {refs.format(prev=i - 1)}"]
    path = root / "board.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def synthesis(tmp: Path, seconds: int, repeat: int) -> None:
    w, h = pixel_size(V20, "480p", "16:9")
    assert (w, h) == pixel_size(V25, "480p", "16:9")
    frames = 24 * seconds + 1

    def request(prompt: str = "Mia flies off the branch", **more: Any) -> SynthesisRequest:
        return SynthesisRequest(w, h, frames, "16:9", prompt, 7, **more)

    mia = Image.open(MEDIA / "image_0001.jpg").convert("RGB")
    source_path = tmp / "source.mp4"
    render_clip(request("the source clip"), source_path)
    info = probe(source_path)
    size = info.size or (w, h)
    cases = {
        "2.0 text-to-video": request(),
        "2.0 text-to-video, audio on": request(audio=True),
        "2.0 reference image": request(references=(mia,)),
        "2.0 ref image + ref audio, mixed": request(references=(mia,), audio=True, mix=(MEDIA / "voice_mia.mp3",)),
        "2.5 extend (continuation only)": request(source=SourceVideo(source_path, size, info.frames, "extend")),
        f"2.5 edit ({info.frames} source frames)": request(source=SourceVideo(source_path, size, info.frames, "edit")),
    }
    print(f"\nemulator clip synthesis, {w}x{h}, {seconds} s ({frames} frames), best of {repeat}")
    print(f"  {'case':36} {'cpu s':>7} {'wall s':>7}")
    for name, spec in cases.items():
        cpus, walls = [], []
        for i in range(repeat):
            c0, w0 = _cpu(), time.perf_counter()
            render_clip(spec, tmp / f"c{i}.mp4", tmp / f"c{i}.png")
            cpus.append(_cpu() - c0)
            walls.append(time.perf_counter() - w0)
        print(f"  {name:36} {min(cpus):7.2f} {min(walls):7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--shots", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--video", type=Path, default=ROOT / "tests" / "fixtures" / "assemble" / "chaplin_2s.mp4")
    args = parser.parse_args()

    print(f"probing a local reference file (inspect_media), median of {args.runs}")
    print(f"  {'file':28} {'size':>8} {'first ms':>9} {'of it sha256':>13} {'repeat ms':>10}")
    for path in (MEDIA / "voice_mia.mp3", MEDIA / "rain.mp3", args.video):
        first = median_ms(lambda p=path: media.inspect_media(p), args.runs, media._inspect.cache_clear)
        hashing = median_ms(lambda p=path: sha256_of(str(p)), args.runs)
        repeat = median_ms(lambda p=path: media.inspect_media(p), args.runs)
        kib = f"{path.stat().st_size / 1024:.0f} KiB"
        print(f"  {path.name:28} {kib:>8} {first:9.1f} {hashing:13.2f} {repeat:10.3f}")

    with tempfile.TemporaryDirectory() as tmp:
        examples = [ROOT / "examples" / "cast.yaml", ROOT / "examples" / "extend.yaml"]
        boards = [*examples, write_board(Path(tmp), args.shots)]
        print(f"\nload() and make_plan(), median of {args.runs} (first: memos cleared; plan first: after a load)")
        print(f"  {'storyboard':24} {'shots':>5} {'load first':>10} {'repeat':>7} {'plan first':>10} {'repeat':>7}"
              f"  {'ffmpeg probes':>13} {'image reads':>11}")  # fmt: skip
        for board in boards:
            loaded = load(board)
            load_first = median_ms(lambda b=board: load(b), args.runs, forget)
            load_again = median_ms(lambda b=board: load(b), args.runs)
            plan_first = median_ms(lambda x=loaded: make_plan(x, service="bench"), args.runs, forget_uris)
            plan_again = median_ms(lambda x=loaded: make_plan(x, service="bench"), args.runs)
            forget()
            make_plan(load(board), service="bench")
            probes, reads = media._inspect.cache_info().misses, images._inspect.cache_info().misses
            label = board.name if board.parent.name == "examples" else f"generated ({board.name})"
            print(f"  {label:24} {len(loaded.board.shots):5} {load_first:10.1f} {load_again:7.1f}"
                  f" {plan_first:10.1f} {plan_again:7.1f}  {probes:13} {reads:11}")  # fmt: skip

        synthesis(Path(tmp), args.seconds, args.repeat)


if __name__ == "__main__":
    main()

"""Benchmark: the overhead of a remote-cache hit (10 shots, S3 API of moto in server mode, s3fs).

A storyboard of 10 independent shots is rendered once against the emulator with
``--remote s3://bench/cache`` (so the remote holds every clip). Then, per shot and median of
`--repeat` runs:

- lookup, in-process (``TieredCache.lookup``): a remote hit into an empty local cache (download
  clip + meta, verify sha256, move into the local cache) vs a warm local hit (re-hash the clip)
  vs the plain local ``Cache.get``; with the S3 requests a remote hit costs;
- ``storyboard render`` as a subprocess: wall time (interpreter start-up and assembly included)
  and, from its JSON events, when every shot was settled: from the remote into an empty local
  cache vs from a warm local cache (with and without ``--remote``).

moto answers on loopback, so these figures are the client-side cost (s3fs, hashing, disk);
against a real bucket add the round trips (2 requests per hit, 3 with a last frame) and the
transfer of real clips (a few MB each).

    python bench/remote_cache.py [--shots 10] [--duration 5] [--resolution 480p] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from moto.server import DomainDispatcherApplication, ThreadedMotoServer, create_backend_app
from werkzeug.serving import make_server

from storyboard.emulator import Emulator
from storyboard.store.cache import Cache
from storyboard.store.remote import RemoteCache
from storyboard.store.tiered import TieredCache

REQUESTS: list[str] = []


class CountingMoto(ThreadedMotoServer):
    """moto's threaded server, counting the requests it answers."""

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)

        def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            REQUESTS.append(environ["REQUEST_METHOD"])
            return app(environ, start_response)  # type: ignore[no-any-return]

        self._server = make_server(self._ip_address, self._port, counted, True)
        self._server_ready_event.set()
        self._server.serve_forever()


def board(folder: Path, shots: int, duration: int, resolution: str) -> Path:
    lines = [
        "version: 1", "name: bench",
        f"defaults: {{model: doubao-seedance-1-0-pro-fast-251015, resolution: {resolution}, duration: {duration}, seed: 1}}",
        "output: {path: out/bench.mp4, preset: ultrafast}", "shots:",
    ] + [f'  - {{id: s{i}, prompt: "shot {i}: a lighthouse at dusk, take {i}"}}' for i in range(shots)]  # fmt: skip
    path = folder / "bench.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def render(path: Path, cache: Path, remote: str | None) -> tuple[float, float, float]:
    """One render's wall time, and when (JSON events, from the scheduler's start) its first and
    last shot were settled from the cache. Each run writes its own output, so every run
    assembles (cut joins: the concat fast path) and runs differ only in where the clips come from."""
    output = path.parent / "out" / f"run-{len(list(path.parent.glob('out/run-*.mp4')))}.mp4"
    cmd = [sys.executable, "-m", "storyboard", "render", str(path), "--json-events", "-o", str(output)]
    cmd += ["--remote", remote] if remote else []
    start = time.perf_counter()
    env = {**os.environ, "STORYBOARD_CACHE_DIR": str(cache)}
    done = subprocess.run(cmd, check=True, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    wall = time.perf_counter() - start
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    settled = [e["elapsed"] for e in events if e["event"] == "shot" and e["state"] in ("cached", "done")]
    return wall, min(settled), max(settled)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=10)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--resolution", default="480p")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    moto = CountingMoto(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    os.environ.update(AWS_ENDPOINT_URL=f"http://{host}:{port}", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")  # fmt: skip
    import boto3

    boto3.client("s3").create_bucket(Bucket="bench")
    url = "s3://bench/cache"
    with tempfile.TemporaryDirectory() as tmp, Emulator(latency=0.2, workdir=Path(tmp) / "emu") as emu:
        folder = Path(tmp)
        path = board(folder, args.shots, args.duration, args.resolution)
        os.environ.update(ACEDATACLOUD_API_BASE_URL=emu.url, ACEDATACLOUD_API_TOKEN="bench")
        render(path, folder / "warming", url)  # generates every shot and pushes it
        assert emu.stats()["creates"] == args.shots
        keys = [p.parent.name for p in (folder / "warming" / "clips").glob("*/*/meta.json")]
        size = sum((folder / "warming" / "clips" / k[:2] / k / "clip.mp4").stat().st_size for k in keys) / len(keys)

        pull, warm, plain, requests = [], [], [], []
        for run in range(args.repeat):
            tier = TieredCache(Cache(folder / f"empty{run}"), RemoteCache(url))
            tier.remote.require()  # type: ignore[union-attr]  # connect outside the timing, as a render does once
            before = len(REQUESTS)
            start = time.perf_counter()
            assert all(tier.lookup(k)[1] == "remote" for k in keys)
            pull.append((time.perf_counter() - start) / len(keys))
            requests.append((len(REQUESTS) - before) / len(keys))
            start = time.perf_counter()
            assert all(tier.lookup(k)[1] == "local" for k in keys)
            warm.append((time.perf_counter() - start) / len(keys))
            start = time.perf_counter()
            assert all(tier.local.get(k) is not None for k in keys)
            plain.append((time.perf_counter() - start) / len(keys))
        cli_pull, cli_warm, cli_local = [], [], []
        for run in range(3):  # interleaved, so that load from other work spreads over all three
            cli_pull.append(render(path, folder / f"cli-empty{run}", url))
            cli_warm.append(render(path, folder / f"cli-empty{run}", url))
            cli_local.append(render(path, folder / f"cli-empty{run}", None))
        assert emu.stats()["creates"] == args.shots  # nothing was generated twice

    ms = lambda xs: f"{statistics.median(xs) * 1000:7.1f} ms"  # noqa: E731
    print(f"{args.shots} shots, {args.resolution} {args.duration} s clips ({size / 1e6:.2f} MB each), "
          f"moto S3 on loopback, median of {args.repeat} (CLI: of 3)")  # fmt: skip
    print(f"lookup per shot: remote hit into an empty local cache {ms(pull)} ({statistics.median(requests):.0f} "
          f"S3 requests), warm local hit {ms(warm)}, plain local Cache.get {ms(plain)}")  # fmt: skip
    col = lambda runs, i: [r[i] for r in runs]  # noqa: E731
    print(f"storyboard render wall (assembly included): from the remote into an empty local cache "
          f"{ms(col(cli_pull, 0))}, warm local cache with --remote {ms(col(cli_warm, 0))}, without {ms(col(cli_local, 0))}")  # fmt: skip
    first, last = statistics.median(col(cli_pull, 1)), statistics.median(col(cli_pull, 2))
    print(f"storyboard render, every shot settled after: from the remote {ms(col(cli_pull, 2))} (the first at "
          f"{first * 1000:.0f} ms: importing s3fs/botocore, connecting, one pull; then "
          f"{(last - first) / max(1, args.shots - 1) * 1000:.1f} ms per shot), warm local cache {ms(col(cli_warm, 2))}")  # fmt: skip
    moto.stop()


if __name__ == "__main__":
    main()

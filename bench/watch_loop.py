"""Benchmark: `storyboard watch` edit-to-video latency, offline (the embedded emulator).

Copies examples/quickstart.yaml (3 chained 3 s shots at 480p, 1.0 pro fast) and its photo into a
temporary folder, starts `storyboard watch` on it as a subprocess with ACEDATACLOUD_API_TOKEN
unset and an empty STORYBOARD_CACHE_DIR of its own, and reads what it prints. It measures:

* start-up: process start to the first video written (3 shots generated and assembled),
* --edits prompt edits of one shot (default `fly`, the last: 1 shot generated, 2 cached; `perch`
  regenerates all three, as the others chain from it): from the save (an editor's write-and-
  rename) to `watch: … changed` (change seen), to the video path line (render finished) and to
  `watching for changes…` (watching again),
* a save that adds only a comment (nothing to generate; the render finds the video up to date),
* a save with a validation error (to its first `file:line:col:` line), then the fix (the last
  rendered text again, so again nothing to generate),

then stops the watch with SIGINT (exit 130, `watch: stopped`).

Usage: python bench/watch_loop.py [--edits N] [--shot perch|look|fly]
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
WATCHING = "watching for changes… (Ctrl-C to stop)"
TIMEOUT = 180.0


class Watch:
    """`storyboard watch` as a subprocess; each printed line with the time it was read."""

    def __init__(self, folder: Path, board: str, env: dict[str, str]) -> None:
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "storyboard", "watch", board], cwd=folder, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
            start_new_session=True,  # its own process group: Ctrl-C reaches it (and its ffmpeg) as in a terminal
        )  # fmt: skip
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put((time.perf_counter(), line.rstrip("\n")))

    def until(self, done: str) -> list[tuple[float, str]]:
        """The (time, line) pairs read from now up to and including the line equal to `done`."""
        deadline, got = time.monotonic() + TIMEOUT, []
        while True:
            try:
                stamp, line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                sys.exit(f"no {done!r} within {TIMEOUT:.0f} s; it printed:\n" + "\n".join(self.seen))
            got.append((stamp, line))
            self.seen.append(line)
            if line == done:
                return got

    def stop(self) -> tuple[int, list[str]]:
        os.killpg(self.proc.pid, signal.SIGINT)
        code = self.proc.wait(timeout=60)
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get()[1])
        return code, rest


def save(board: Path, text: str) -> float:
    """Write `text` beside `board` and rename it into place, as editors do; the time of the rename."""
    tmp = board.with_name(f".{board.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    stamp = time.perf_counter()
    os.replace(tmp, board)
    return stamp


def first_at(lines: list[tuple[float, str]], match: str | re.Pattern[str], since: float) -> float:
    """Seconds from `since` to the first line equal to (or matching) `match`; nan when none."""
    for stamp, line in lines:
        if line == match if isinstance(match, str) else match.match(line):
            return stamp - since
    return float("nan")


def assembly(lines: list[tuple[float, str]]) -> str:
    """The render's own clock: when assembly started and how long it took."""
    found = (re.match(r"\s+([\d.]+)s video \S+: (assembling|done)$", line) for _, line in lines)
    marks = {m[2]: float(m[1]) for m in found if m}
    if len(marks) < 2:
        return "assembly ?"
    return f"assembly {marks['done'] - marks['assembling']:.1f} s from {marks['assembling']:.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=3)
    parser.add_argument("--shot", default="fly", choices=["perch", "look", "fly"])
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve()
        (root / "media").mkdir()
        shutil.copy(EXAMPLES / "media" / "image_0001.jpg", root / "media")
        board = root / "quickstart.yaml"
        original = (EXAMPLES / "quickstart.yaml").read_text(encoding="utf-8")
        board.write_text(original, encoding="utf-8")
        video = str(root / "out" / "quickstart.mp4")
        env = {k: v for k, v in os.environ.items() if k not in ("ACEDATACLOUD_API_TOKEN", "STORYBOARD_REMOTE")}
        env["STORYBOARD_CACHE_DIR"] = str(root / "cache")  # empty: the first render generates every shot

        w = Watch(root, board.name, env)
        try:
            lines = w.until(WATCHING)
            print(f"start-up to the first video (3 generated): {first_at(lines, video, w.started):6.2f} s  "
                  f"(watching at {first_at(lines, WATCHING, w.started):.2f} s; {assembly(lines)})")  # fmt: skip

            # the shot's prompt is the line after its `- id:` line
            rows = original.splitlines(keepends=True)
            at = next(i for i, row in enumerate(rows) if row.strip() == f"- id: {args.shot}") + 1
            assert rows[at].lstrip().startswith('prompt: "'), rows[at]
            seen, finished, ready = [], [], []
            print(f"prompt edits of shot {args.shot}: save -> change seen / video written / watching again")
            text = original
            for k in range(1, args.edits + 1):
                rows[at] = rows[at].rstrip().removesuffix('"') + f', take {k}"\n'
                text = "".join(rows)
                t0 = save(board, text)
                lines = w.until(WATCHING)
                seen.append(first_at(lines, re.compile("watch: .* changed"), t0))
                finished.append(first_at(lines, video, t0))
                ready.append(first_at(lines, WATCHING, t0))
                report = next((line for _, line in lines if " generated, " in line), "?").split(";")[0]
                print(f"  edit {k}: {seen[-1]:5.2f} / {finished[-1]:5.2f} / {ready[-1]:5.2f} s  "
                      f"({report}; {assembly(lines)})")  # fmt: skip
            if args.edits:
                print(f"  median: {statistics.median(seen):5.2f} / {statistics.median(finished):5.2f} / "
                      f"{statistics.median(ready):5.2f} s")  # fmt: skip

            t0 = save(board, text + "# a comment: nothing to generate\n")
            lines = w.until(WATCHING)
            print(f"comment-only save: {first_at(lines, video, t0):5.2f} s to the video line, "
                  f"{first_at(lines, WATCHING, t0):5.2f} s to watching again")  # fmt: skip
            print(f"  [{lines[0][1]}]")

            t0 = save(board, text.replace("duration: 3", "duration: 33"))
            lines = w.until(WATCHING)
            error = re.compile(r"quickstart\.yaml:\d+:\d+: ")
            print(f"invalid save: {first_at(lines, error, t0):5.2f} s to the error line, "
                  f"{first_at(lines, WATCHING, t0):5.2f} s to watching again")  # fmt: skip
            print(f"  [{lines[0][1]}]")

            t0 = save(board, text)
            lines = w.until(WATCHING)
            print(f"fix (the last rendered text again): {first_at(lines, video, t0):5.2f} s to the video line")
            print(f"  [{lines[0][1]}]")

            code, rest = w.stop()
            print(f"SIGINT: exit {code}, then {rest}")
        finally:
            if w.proc.poll() is None:
                os.killpg(w.proc.pid, signal.SIGKILL)
                w.proc.wait(timeout=30)


if __name__ == "__main__":
    main()

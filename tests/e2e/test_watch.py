"""`storyboard watch` as a process: edits re-render only what changed; errors keep it watching.

Without a token the watch renders with its embedded emulator, which writes one clip per task it
creates into ``$STORYBOARD_CACHE_DIR/emulator/files/<task id>.mp4``: those files are the witness
of what was generated, independent of the render's own report. With a token the standalone
emulator's request log counts the creates.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from storyboard.emulator import Emulator

FAST = "doubao-seedance-1-0-pro-fast-251015"
WATCHING = "watching for changes… (Ctrl-C to stop)"
BOARD = f"""\
version: 1
defaults: {{model: {FAST}, resolution: 480p, duration: 2, seed: 3}}
output: {{preset: ultrafast}}
shots:
  - {{id: a, prompt: "shot a"}}
  - {{id: b, prompt: "shot b"}}
  - {{id: c, prompt: "shot c"}}
"""
TIMEOUT = 90.0


class Watch:
    """A running `storyboard watch` process and the lines it has printed (stdout and stderr)."""

    def __init__(self, folder: Path, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "storyboard", "watch", "board.yaml", *extra],
            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
            start_new_session=True,  # its own process group, killed whole at the end
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def until(self, wanted: str) -> list[str]:
        """The lines printed from now up to and including the next line equal to `wanted`."""
        deadline = time.monotonic() + TIMEOUT
        got: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {wanted!r} within {TIMEOUT} s; printed:\n" + "\n".join(self.seen)) from None
            got.append(line)
            self.seen.append(line)
            if line == wanted:
                return got

    def interrupt(self) -> tuple[int, list[str]]:
        """Ctrl-C: the exit code and the remaining lines."""
        os.killpg(self.proc.pid, signal.SIGINT)
        code = self.proc.wait(timeout=30)
        self.reader.join(timeout=30)  # it ends at the end of the output
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        return code, rest

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


@pytest.fixture
def watch(tmp_path: Path) -> Iterator[Callable[..., Watch]]:
    started: list[Watch] = []

    def start(*extra: str) -> Watch:
        started.append(Watch(tmp_path, *extra))
        return started[-1]

    yield start
    for w in started:
        w.kill()


def generated_clips() -> set[str]:
    """Task ids of the clips the embedded emulator has made (one file per created task)."""
    files = Path(os.environ["STORYBOARD_CACHE_DIR"]) / "emulator" / "files"
    return {p.stem for p in files.glob("*.mp4")}


def edit(board: Path, *replace: tuple[str, str]) -> None:
    """Save `board` once with each (old, new) replaced: one save, one cycle."""
    text = board.read_text(encoding="utf-8")
    for old, new in replace:
        assert old in text
        text = text.replace(old, new)
    # written whole and renamed into place, as editors save: a watcher never reads half a file
    tmp = board.with_name(f".{board.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, board)


def test_an_edited_prompt_regenerates_only_that_shot_and_reassembles(
    tmp_path: Path, watch: Callable[..., Watch]
) -> None:
    board = tmp_path / "board.yaml"
    board.write_text(BOARD, encoding="utf-8")
    w = watch()
    first = w.until(WATCHING)
    assert "watch: board.yaml — 3 shots to generate (a, b, c), 0 cached" in first
    video, report_path = tmp_path / "out" / "board.mp4", tmp_path / "out" / "board.report.json"
    assert first[-2:] == [str(video), WATCHING]
    made = generated_clips()
    assert len(made) == 3
    before = hashlib.sha256(video.read_bytes()).hexdigest()

    edit(board, ('"shot b"', '"shot b, closer"'))
    second = w.until(WATCHING)
    assert second[0] == "watch: board.yaml changed — 1 shot to generate (b), 2 cached"
    page = tmp_path / "out" / "board.html"
    assert f"1 generated, 2 from cache; report: {report_path}; review: {page}" in second
    assert "shot b, closer" in page.read_text()  # the review page is refreshed with the change
    new = generated_clips() - made
    report = json.loads(report_path.read_text())
    assert [s["source"] for s in report["shots"]] == ["cache", "generated", "cache"]
    assert new == {report["shots"][1]["task_id"]}  # the emulator made exactly the one clip for b
    assert hashlib.sha256(video.read_bytes()).hexdigest() != before  # re-assembled

    code, rest = w.interrupt()
    assert (code, rest) == (130, ["watch: stopped"]), "\n".join(w.seen)


def test_an_invalid_save_prints_located_errors_and_a_fix_renders_again(
    tmp_path: Path, watch: Callable[..., Watch]
) -> None:
    board = tmp_path / "board.yaml"
    board.write_text(BOARD, encoding="utf-8")
    w = watch()
    w.until(WATCHING)
    made = generated_clips()

    edit(board, ('"shot c"', '""'), ("duration: 2,", "duration: 33,"))
    assert w.until(WATCHING) == [
        "board.yaml:2:84: defaults.duration: must be at most 30 (got 33)",
        "board.yaml:7:21: shots[2].prompt: must not be empty",
        WATCHING,
    ]
    assert generated_clips() == made

    edit(board, ("duration: 33,", "duration: 2,"), ('""', '"shot c, wider"'))  # valid again, one shot changed
    fixed = w.until(WATCHING)
    assert fixed[0] == "watch: board.yaml changed — 1 shot to generate (c), 2 cached"
    out = tmp_path / "out"
    assert f"1 generated, 2 from cache; report: {out / 'board.report.json'}; review: {out / 'board.html'}" in fixed
    assert len(generated_clips() - made) == 1
    assert not any("Traceback" in line for line in w.seen)


def test_a_changed_input_file_starts_a_cycle(tmp_path: Path, watch: Callable[..., Watch]) -> None:
    """The photo a shot names is watched: replacing it regenerates that shot."""
    from PIL import Image

    (tmp_path / "media").mkdir()
    Image.new("RGB", (640, 360), (200, 40, 40)).save(tmp_path / "media" / "p.jpg")
    text = BOARD.replace('{id: b, prompt: "shot b"}', '{id: b, prompt: "shot b", images: [{path: media/p.jpg}]}')
    (tmp_path / "board.yaml").write_text(text, encoding="utf-8")
    w = watch()
    w.until(WATCHING)
    Image.new("RGB", (640, 360), (40, 40, 200)).save(tmp_path / "media" / "p.jpg")
    assert w.until(WATCHING)[0] == "watch: media/p.jpg changed — 1 shot to generate (b), 2 cached"


def test_with_a_token_a_change_shows_its_cost_and_sends_nothing_without_live(
    tmp_path: Path, watch: Callable[..., Watch], emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", emulator.url)
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", "test-token")
    (tmp_path / "board.yaml").write_text(BOARD, encoding="utf-8")
    w = watch()
    lines = w.until(WATCHING)
    assert re.fullmatch(
        r"watch: board\.yaml — 3 shots to generate \(a, b, c\), 0 cached; about \d+\.\d{4} CNY", lines[0]
    ), lines
    assert lines[1:] == ["watch: not rendered: ACEDATACLOUD_API_TOKEN is set; run with --live to pay for it", WATCHING]
    assert [r for r in emulator.requests if r["path"] == "/seedance/videos"] == []


def test_live_with_a_token_shows_the_cost_then_renders_for_real(
    tmp_path: Path, watch: Callable[..., Watch], emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", emulator.url)
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", "test-token")
    one_shot = BOARD[: BOARD.index("  - {id: b")]
    (tmp_path / "board.yaml").write_text(one_shot, encoding="utf-8")
    w = watch("--live")
    lines = w.until(WATCHING)
    assert re.fullmatch(r"watch: board\.yaml — 1 shot to generate \(a\), 0 cached; about \d+\.\d{4} CNY", lines[0])
    assert lines[-2:] == [str(tmp_path / "out" / "board.mp4"), WATCHING]
    assert [r["body"]["content"][0]["text"] for r in emulator.requests if r["path"] == "/seedance/videos"] == ["shot a"]

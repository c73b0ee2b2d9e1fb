"""Crash safety: a render killed (SIGKILL) or interrupted (Ctrl-C) after submitting never pays twice.

The render runs as a real subprocess against a standalone emulator with latency, so the tasks
are still pending on the service when the process dies.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from test_render import CHAIN4, creates, use, write_board

from storyboard.cli.main import main
from storyboard.emulator import Emulator

TWO_INDEPENDENT = '  - {id: a, prompt: "shot a"}\n  - {id: b, prompt: "shot b"}\n'


def start_render(board: Path, emu: Emulator, token: str = "test-token") -> subprocess.Popen[str]:
    env = {**os.environ, "ACEDATACLOUD_API_BASE_URL": emu.url, "ACEDATACLOUD_API_TOKEN": token}
    return subprocess.Popen(
        [sys.executable, "-m", "storyboard", "render", str(board), "--json-events"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_submitted(proc: subprocess.Popen[str], shots: set[str], timeout: float = 60) -> None:
    """Read JSON events until every shot in `shots` was submitted."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    pending = set(shots)
    while pending and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        event = json.loads(line)
        if event["state"] == "submitted":
            pending.discard(event["shot"])
    assert not pending, f"never submitted: {pending}"


@pytest.fixture
def slow_emulator(emulator_factory: Callable[..., Emulator]) -> Emulator:
    return emulator_factory(latency=4.0)


def test_sigkill_after_submit_resumes_without_paying_twice(
    tmp_path: Path, slow_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = write_board(tmp_path, TWO_INDEPENDENT)
    proc = start_render(board, slow_emulator)
    wait_submitted(proc, {"a", "b"})
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert len(creates(slow_emulator)) == 2
    assert slow_emulator.stats()["tasks"] != {"succeeded": 2}  # still pending when it died

    use(slow_emulator, monkeypatch)
    assert main(["render", str(board), "--quiet"]) == 0
    assert len(creates(slow_emulator)) == 2  # resumed polling; nothing submitted again
    report = json.loads((tmp_path / "out" / "t.report.json").read_text())
    assert [s["source"] for s in report["shots"]] == ["resumed", "resumed"]
    assert (tmp_path / "out" / "t.mp4").stat().st_size > 0


def test_ctrl_c_names_running_tasks_and_next_render_picks_them_up(
    tmp_path: Path, slow_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = write_board(tmp_path, CHAIN4[: CHAIN4.index("  - {id: b")] + '  - {id: e, prompt: "shot e"}\n')
    proc = start_render(board, slow_emulator)
    wait_submitted(proc, {"a", "e"})
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    task_ids = {r["body"]["content"][0]["text"]: None for r in creates(slow_emulator)}
    assert set(task_ids) == {"shot a", "shot e"}
    last = err.strip().splitlines()[-1]
    assert last.startswith("interrupted; still running on the service: a (")
    assert last.endswith("They are journaled: run the same render again to pick them up without paying twice")
    use(slow_emulator, monkeypatch)
    assert main(["render", str(board), "--quiet"]) == 0
    assert len(creates(slow_emulator)) == 2


def test_lost_create_answer_is_never_resubmitted_silently(
    tmp_path: Path,
    emulator_factory: Callable[..., Emulator],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emu = emulator_factory(faults="dropcreate=1")
    use(emu, monkeypatch)
    board = write_board(tmp_path, '  - {id: a, prompt: "shot a"}\n')
    assert main(["render", str(board), "--quiet"]) == 1
    capsys.readouterr()
    # the next render refuses to pay again without being told to
    assert main(["render", str(board), "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == (
        'shot "a" failed: an earlier create request for this shot was sent but got no answer, '
        "so the service may be generating it already — check the AceData console, then rerun "
        "with --force a if no task is running for it"
    )
    assert main(["render", str(board), "--quiet", "--force", "a"]) == 0

"""`storyboard emulator` as a user runs it: a real process, a real port, Ctrl-C to stop."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from storyboard.cli.main import main

BODY = {
    "model": "doubao-seedance-1-0-pro-fast-251015",
    "content": [{"type": "text", "text": "a fox in the snow"}],
    "resolution": "480p",
    "duration": 2,
    "async": True,
}


def test_emulator_command_serves_logs_injects_faults_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "storyboard", "emulator", "--port", "0", "--latency", "0.1",
         "--request-log", str(log), "--faults", "create429=1", "--token", "secret-1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.startswith("SeeDance emulator listening on http://127.0.0.1:")
        assert first.endswith(" (Ctrl-C stops it)")
        url = first.split(" ")[4]
        hint = proc.stdout.readline().strip()
        assert hint == (
            f"render against it: ACEDATACLOUD_API_BASE_URL={url} ACEDATACLOUD_API_TOKEN=any storyboard render FILE"
        )
        auth = {"Authorization": "Bearer secret-1"}
        assert httpx.post(f"{url}/seedance/videos", json=BODY, headers=auth).status_code == 429
        created = httpx.post(f"{url}/seedance/videos", json=BODY, headers=auth)
        assert created.status_code == 200 and created.json()["success"] is True
        wrong = httpx.post(f"{url}/seedance/videos", json=BODY, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_token"
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert out.strip().endswith("emulator stopped")
    assert "Traceback" not in err
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["path"], r["status"]) for r in records] == [
        ("/seedance/videos", 429),
        ("/seedance/videos", 200),
        ("/seedance/videos", 401),
    ]


def test_emulator_command_rejects_a_bad_fault_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "--faults", "boom=1"]) == 2
    assert capsys.readouterr().err.strip() == (
        '--faults: unknown fault "boom" (known: create429, create500, dropcreate, poll429, poll500, dropdl, fail)'
    )

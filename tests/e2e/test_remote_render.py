"""The shared remote cache end to end: a real S3 API (moto in server mode, through s3fs) and a
``file://`` share, the emulator over HTTP, the CLI in-process and as a killed subprocess.

The emulator's request log is the witness: tests count create requests.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from test_render import ROOT, creates, use

from storyboard.cli.main import main
from storyboard.emulator import Emulator
from storyboard.store.remote import RemoteCache

from support.moto_s3 import SECRET, MotoS3

FAST = "doubao-seedance-1-0-pro-fast-251015"
THREE = """\
  - {id: a, prompt: "shot a", images: [{path: media/bird.jpg}]}
  - {id: b, prompt: "shot b", chain: true}
  - {id: c, prompt: "shot c"}
"""
ONE = '  - {id: a, prompt: "shot a"}\n'


def write_board(folder: Path, shots: str) -> Path:
    (folder / "media").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "examples" / "media" / "image_0001.jpg", folder / "media" / "bird.jpg")
    path = folder / "board.yaml"
    path.write_text(
        f"version: 1\nname: t\ndefaults: {{model: {FAST}, resolution: 480p, frames: 29, seed: 3}}\n"
        f"output: {{path: out/t.mp4, preset: ultrafast}}\nshots:\n{shots}",
        encoding="utf-8",
    )
    return path


def local_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> Path:
    """Switch to another machine's (empty) local cache."""
    root = tmp_path / name
    monkeypatch.setenv("STORYBOARD_CACHE_DIR", str(root))
    return root


def shots(report: Path) -> list[dict[str, object]]:
    data: list[dict[str, object]] = json.loads(report.read_text())["shots"]
    return data


@pytest.fixture(params=["s3", "file"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "s3":
        url: str = request.getfixturevalue("s3_remote")
        return url
    return f"file://{tmp_path / 'team-share'}"


def test_a_teammate_with_an_empty_cache_renders_with_zero_creates_and_identical_clips(
    tmp_path: Path, remote: str, emulator: Emulator, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    use(emulator, monkeypatch)
    board = write_board(tmp_path, THREE)
    local_cache(tmp_path, monkeypatch, "machine-a")
    assert main(["render", str(board), "--remote", remote, "--quiet"]) == 0
    assert len(creates(emulator)) == 3
    capsys.readouterr()

    local_cache(tmp_path, monkeypatch, "machine-b")
    out_b = tmp_path / "b" / "t.mp4"
    assert main(["render", str(board), "--remote", remote, "-o", str(out_b)]) == 0
    assert len(creates(emulator)) == 3  # nothing generated again
    err = capsys.readouterr().err
    assert f"remote cache {remote}: 3 pulled, 0 pushed" in err.splitlines()
    assert "warning" not in err
    a, b = shots(tmp_path / "out" / "t.report.json"), shots(out_b.with_suffix(".report.json"))
    assert [s["source"] for s in b] == ["cache"] * 3
    assert [s["clip_sha256"] for s in a] == [s["clip_sha256"] for s in b]
    for one, other in zip(a, b, strict=True):
        assert str(other["clip"]).startswith(str(tmp_path / "machine-b"))
        assert Path(str(one["clip"])).read_bytes() == Path(str(other["clip"])).read_bytes()
    for file in tmp_path.rglob("*"):  # the remote, both caches, the outputs
        assert not file.is_file() or SECRET.encode() not in file.read_bytes(), file


def test_a_corrupt_remote_object_is_a_miss_with_a_warning_then_generated_and_replaced(
    tmp_path: Path, s3_remote: str, moto_s3: MotoS3, emulator: Emulator, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    use(emulator, monkeypatch)
    board = write_board(tmp_path, ONE)
    local_cache(tmp_path, monkeypatch, "machine-a")
    assert main(["render", str(board), "--remote", s3_remote, "--quiet"]) == 0
    key = str(shots(tmp_path / "out" / "t.report.json")[0]["cache_key"])
    bucket = s3_remote.removeprefix("s3://").split("/")[0]
    s3 = moto_s3.client()
    name = f"cache/clips/{key[:2]}/{key}/clip.mp4"
    data = bytearray(s3.get_object(Bucket=bucket, Key=name)["Body"].read())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, same size
    s3.put_object(Bucket=bucket, Key=name, Body=bytes(data))
    capsys.readouterr()

    local_cache(tmp_path, monkeypatch, "machine-b")
    assert main(["render", str(board), "--remote", s3_remote, "-o", str(tmp_path / "b.mp4")]) == 0
    assert len(creates(emulator)) == 2  # the corrupt clip was never used: generated again
    err = capsys.readouterr().err.splitlines()
    assert f"warning: remote cache entry {key[:12]} is corrupt (clip checksum mismatch); not used" in err
    assert f"remote cache {s3_remote}: 0 pulled, 1 pushed" in err  # ... and the remote entry replaced

    local_cache(tmp_path, monkeypatch, "machine-c")
    assert main(["render", str(board), "--remote", s3_remote, "-o", str(tmp_path / "c.mp4")]) == 0
    assert len(creates(emulator)) == 2
    assert f"remote cache {s3_remote}: 1 pulled, 0 pushed" in capsys.readouterr().err.splitlines()


def test_a_remote_that_refuses_connections_is_one_warning_and_a_local_render(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "a-secret-that-must-not-be-printed")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("STORYBOARD_REMOTE", "s3://team/cache")
    use(emulator, monkeypatch)
    board = write_board(tmp_path, ONE)
    assert main(["render", str(board)]) == 0
    assert len(creates(emulator)) == 1
    assert (tmp_path / "out" / "t.mp4").stat().st_size > 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "a-secret-that-must-not-be-printed" not in err
    assert [line for line in err.splitlines() if line.startswith(("warning: remote", "remote cache"))] == [
        f"warning: remote cache s3://team/cache is unreachable (EndpointConnectionError: Could not connect to the "
        f'endpoint URL: "http://127.0.0.1:{port}/team"); going on with the local cache',
        "remote cache s3://team/cache: 0 pulled, 0 pushed (unreachable: used the local cache only)",
    ]


def test_sigkill_during_a_push_leaves_no_visible_half_entry_and_the_next_run_is_clean(
    tmp_path: Path, s3_remote: str, moto_s3: MotoS3, emulator: Emulator, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    board = write_board(tmp_path, ONE)
    local_cache(tmp_path, monkeypatch, "machine-a")
    # the clip is stored on the remote, then its PUT never answers: the process is inside its push
    moto_s3.hold = lambda method, path: method == "PUT" and path.endswith("/clip.mp4")
    env = {**os.environ, "ACEDATACLOUD_API_BASE_URL": emulator.url, "ACEDATACLOUD_API_TOKEN": "test-token"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "storyboard", "render", str(board), "--remote", s3_remote, "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        assert moto_s3.held.wait(timeout=60), "the push never started"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        moto_s3.hold = None
        moto_s3.release.set()
        if proc.poll() is None:
            proc.kill()
    assert len(creates(emulator)) == 1
    bucket = s3_remote.removeprefix("s3://").split("/")[0]
    written = moto_s3.keys(bucket)
    assert [k.rsplit("/", 1)[-1] for k in written] == ["clip.mp4"]  # no commit mark: no entry
    key = written[0].split("/")[-2]
    assert RemoteCache(s3_remote).fetch(key, tmp_path) is None
    capsys.readouterr()
    assert main(["cache", "ls", "--remote", s3_remote]) == 0
    assert capsys.readouterr().out.strip() == f"no entries ({s3_remote})"

    use(emulator, monkeypatch)
    assert main(["render", str(board), "--remote", s3_remote]) == 0  # same machine: its local cache has the clip
    assert len(creates(emulator)) == 1
    assert f"remote cache {s3_remote}: 0 pulled, 1 pushed" in capsys.readouterr().err.splitlines()  # completed
    assert [k.rsplit("/", 1)[-1] for k in moto_s3.keys(bucket)] == ["clip.mp4", "meta.json"]

    local_cache(tmp_path, monkeypatch, "machine-b")
    assert main(["render", str(board), "--remote", s3_remote, "-o", str(tmp_path / "b.mp4"), "--quiet"]) == 0
    assert len(creates(emulator)) == 1

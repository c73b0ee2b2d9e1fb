"""Sharded batches: N render processes, each with its own local cache (as on N machines), share
one remote cache; every unique shot is created once across all of them, and their shard
reports merge into the batch report an unsharded run writes.

The shards are real processes against one emulator; its request log is the witness.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from test_concurrency import PROMO
from test_render import created_prompts

from storyboard.cli.main import main
from storyboard.emulator import Emulator

PRODUCTS = ["Red Shoe", "Blue Hat", "Green Bag", "Gold Ring", "Grey Coat"]


def make_batch(folder: Path) -> tuple[Path, Path]:
    board = folder / "promo.yaml"
    board.write_text(PROMO, encoding="utf-8")
    rows = folder / "products.csv"
    rows.write_text("product\n" + "".join(f"{p}\n" for p in PRODUCTS), encoding="utf-8")
    return board, rows


def shard(emu: Emulator, board: Path, rows: Path, spec: str, remote: str, cache: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "ACEDATACLOUD_API_BASE_URL": emu.url,
        "ACEDATACLOUD_API_TOKEN": "test-token",
        "STORYBOARD_CACHE_DIR": str(cache),  # a machine of its own
    }
    command = [sys.executable, "-m", "storyboard", "render", str(board), "--vars", str(rows)]
    command += ["--shard", spec, "--remote", remote, "--shard-timeout", "90", "--quiet"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_three_shards_create_every_unique_shot_once_and_merge_into_the_batch_report(
    tmp_path: Path, emulator_factory
) -> None:
    emu = emulator_factory(latency=0.3)
    board, rows = make_batch(tmp_path)
    remote = (tmp_path / "team-cache").as_uri()
    procs = [shard(emu, board, rows, f"{i}/3", remote, tmp_path / f"machine{i}") for i in (1, 2, 3)]
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    prompts = created_prompts(emu)
    # the unsharded batch needs 1 intro + 5 product shots + 1 end card
    assert sorted(prompts) == sorted(["brand intro", "end card, shop now"] + [f"the {p} turns" for p in PRODUCTS])
    for product in PRODUCTS:
        assert (tmp_path / "out" / f"{product.lower().replace(' ', '-')}.mp4").stat().st_size > 0

    reports = sorted((tmp_path / "out").glob("promo.shard-*-of-3.json"))
    assert [r.name for r in reports] == [f"promo.shard-{i}-of-3.json" for i in (1, 2, 3)]
    parts = [json.loads(r.read_text()) for r in reports]
    assert [[v["row"] for v in p["videos"]] for p in parts] == [[1, 4], [2, 5], [3]]
    assert sum(p["unique_generations"] for p in parts) == 7  # each shot counted by its generator only
    assert main(["merge", *map(str, reports)]) == 0
    merged = json.loads((tmp_path / "out" / "promo.batch.json").read_text())
    assert [(v["row"], v["status"]) for v in merged["videos"]] == [(i, "done") for i in range(1, 6)]
    assert merged["unique_generations"] == 7
    assert "shard" not in merged


def test_a_shard_needs_a_remote_and_refuses_force(tmp_path: Path, capsys) -> None:
    board, rows = make_batch(tmp_path)
    assert main(["render", str(board), "--vars", str(rows), "--shard", "1/2"]) == 2
    assert capsys.readouterr().err.strip() == (
        "--shard: needs a shared remote cache (--remote URL or STORYBOARD_REMOTE) so the shards can share shots"
    )
    remote = (tmp_path / "r").as_uri()
    assert main(["render", str(board), "--vars", str(rows), "--shard", "2/2", "--remote", remote, "--force"]) == 2
    assert capsys.readouterr().err.strip() == (
        "--shard: cannot be combined with --force (the other shards would keep using the old clips)"
    )
    assert main(["render", str(board), "--vars", str(rows), "--shard", "two/2"]) == 2
    assert capsys.readouterr().err.strip() == "--shard: expected I/N such as 1/3 (got 'two/2')"


def test_merge_refuses_missing_and_duplicate_shards(tmp_path: Path, capsys) -> None:
    line = {"row": 1, "label": "row 1", "output": "out/a.mp4", "status": "done", "error": None,
            "shots_generated": 1, "shots_reused": 0, "tokens": 10, "seconds": 1.0}  # fmt: skip
    for name, shard_spec in (("a.json", "1/3"), ("b.json", "1/3")):
        report = {"videos": [line], "unique_generations": 1, "poll_requests": 1, "seconds": 1.0, "shard": shard_spec}
        (tmp_path / name).write_text(json.dumps(report))
    assert main(["merge", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path / 'b.json'}: shard 1/3 is also in {tmp_path / 'a.json'}",
        "merge: shard(s) 2, 3 of 3 missing",
    ]


def test_a_shard_that_must_wait_on_an_unreachable_remote_stops_before_sending_anything(
    tmp_path: Path, capsys, monkeypatch, emulator_factory
) -> None:
    emu = emulator_factory()
    monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", emu.url)
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", "test-token")
    for name, value in (("AWS_ENDPOINT_URL", "http://127.0.0.1:9"), ("AWS_ACCESS_KEY_ID", "x"),
                        ("AWS_SECRET_ACCESS_KEY", "y"), ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
        monkeypatch.setenv(name, value)
    board, rows = make_batch(tmp_path)
    # shard 2/3 needs the intro and end card that shard 1/3 generates
    code = main(["render", str(board), "--vars", str(rows), "--shard", "2/3", "--remote", "s3://team/cache"])
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: remote cache s3://team/cache is unreachable: ")
    assert created_prompts(emu) == []

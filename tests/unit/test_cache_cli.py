"""`storyboard cache pull|push|ls|verify|gc` and `--remote` / STORYBOARD_REMOTE: exact output, exit
codes and one-line errors, against a ``file://`` remote with small stand-in clips."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from storyboard.cli.main import main
from storyboard.engine.variants import load_batch
from storyboard.spec.variables import variable_sets
from storyboard.store.cache import Cache, ClipOrigin
from storyboard.store.inventory import folder_bytes
from storyboard.store.remote import RemoteCache
from storyboard.store.tiered import TieredCache

FAST = "doubao-seedance-1-0-pro-fast-251015"
BOARD = f"""\
version: 1
name: t
defaults: {{model: {FAST}, resolution: 480p, frames: 29, seed: 3}}
shots:
  - {{id: a, prompt: "shot a"}}
  - {{id: b, prompt: "shot b", chain: true}}
  - {{id: c, prompt: "shot c"}}
"""
DAY = 86400.0


@pytest.fixture
def board(tmp_path: Path) -> Path:
    path = tmp_path / "board.yaml"
    path.write_text(BOARD, encoding="utf-8")
    return path


@pytest.fixture
def keys(board: Path) -> dict[str, str]:
    return {j.id: j.cache_key for j in load_batch(str(board), variable_sets([], None), service="emulator").plan.jobs}


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"file://{tmp_path / 'team'}"


def freed(*keys: str) -> str:
    """How gc words the size of these entries (clip and meta.json)."""
    return f"{sum(folder_bytes(local().entry_dir(k)) for k in keys) / 1000:.1f} kB"


def local() -> Cache:
    return Cache(Path(os.environ["STORYBOARD_CACHE_DIR"]))


def put(cache: Cache | TieredCache, key: str, shot: str, size: int = 1500, age_days: float = 0.0) -> None:
    staging = cache.staging_dir()
    (staging / "in.mp4").write_bytes(shot.encode() * (size // len(shot)))
    origin = ClipOrigin(shot=shot, task_id=None, model=FAST, tokens=None, service="emulator", request_digest={},
                        created=time.time() - age_days * DAY - 30)  # fmt: skip
    cache.put(key, staging / "in.mp4", None, origin)


def seed_remote(tmp_path: Path, url: str, items: dict[str, str]) -> None:
    """Entries pushed by a teammate (another local cache)."""
    teammate = TieredCache(Cache(tmp_path / "teammate"), RemoteCache(url))
    for shot, key in items.items():
        put(teammate, key, shot)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    code = main(["cache", *argv])
    printed = capsys.readouterr()
    return code, printed.out.splitlines(), printed.err.splitlines()


def test_pull_fetches_what_the_storyboard_needs_and_generates_nothing(
    tmp_path: Path, board: Path, keys: dict[str, str], url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_remote(tmp_path, url, {"a": keys["a"], "b": keys["b"], "elsewhere": "ff" * 32})
    assert run(capsys, "pull", str(board), "--remote", url) == (
        0, [f"2 pulled, 0 already local, 1 missing of 3 clips from {url}", "missing: c (render generates them)"], []
    )  # fmt: skip
    assert local().get(keys["a"]) is not None and local().get("ff" * 32) is None
    assert run(capsys, "pull", str(board), "--remote", url)[1][0] == (
        f"0 pulled, 2 already local, 1 missing of 3 clips from {url}"
    )


def test_pull_takes_the_remote_from_the_environment_and_the_flag_wins(
    tmp_path: Path, board: Path, keys: dict[str, str], url: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    seed_remote(tmp_path, url, {"a": keys["a"]})
    monkeypatch.setenv("STORYBOARD_REMOTE", url)
    assert run(capsys, "pull", str(board))[1][0] == f"1 pulled, 0 already local, 2 missing of 3 clips from {url}"
    monkeypatch.setenv("STORYBOARD_REMOTE", "ftp://not-used")
    assert run(capsys, "pull", str(board), "--remote", url)[0] == 0


@pytest.mark.parametrize("command", [["pull", "FILE"], ["push"]])
def test_no_remote_is_an_input_error(board: Path, command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(board) if a == "FILE" else a for a in command]
    assert run(capsys, *argv) == (2, [], ["--remote: no remote cache: pass --remote URL or set STORYBOARD_REMOTE"])


def test_a_bad_url_is_an_input_error_naming_where_it_came_from(
    board: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, "push", "--remote", "ftp://host/x") == (
        2, [], ["--remote: unsupported scheme \"ftp://\" in 'ftp://host/x' (use s3://, gs://, az:// or file://)"]
    )  # fmt: skip
    monkeypatch.setenv("STORYBOARD_REMOTE", "team-bucket")
    assert run(capsys, "pull", str(board))[2] == [
        "STORYBOARD_REMOTE: 'team-bucket' is not a URL: expected s3://bucket/prefix, gs://bucket/prefix, "
        "az://container/prefix or file:///path"
    ]
    assert main(["render", str(board), "--remote", "s3://"]) == 2
    assert capsys.readouterr().err.strip() == "--remote: 's3://' names no bucket: expected s3://bucket/prefix"


def test_an_unreachable_remote_is_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    assert run(capsys, "ls", "--remote", f"file://{blocker}/cache") == (
        1, [], [f"error: remote cache file://{blocker}/cache is unreachable: NotADirectoryError: [Errno 20] "
                f"Not a directory: '{blocker}/cache'"],
    )  # fmt: skip


def test_push_uploads_what_the_remote_lacks(
    tmp_path: Path, keys: dict[str, str], url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_remote(tmp_path, url, {"a": keys["a"]})
    put(local(), keys["a"], "a")
    put(local(), keys["c"], "c")
    assert run(capsys, "push", "--remote", url) == (
        0, [f"1 pushed, 1 already on the remote of 2 local entries to {url}"], []
    )  # fmt: skip
    assert sorted(k for k, _ in RemoteCache(url).entries()) == sorted([keys["a"], keys["c"]])
    assert run(capsys, "push", "--remote", url)[1] == [f"0 pushed, 2 already on the remote of 2 local entries to {url}"]


def test_ls_lists_local_entries_newest_first_and_the_remote_with_remote(
    tmp_path: Path, keys: dict[str, str], url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = local().root
    assert run(capsys, "ls") == (0, [f"no entries (local: {root})"], [])
    put(local(), keys["a"], "a", size=1500, age_days=3.2)
    put(local(), keys["c"], "c", size=2_500_000)
    code, out, _ = run(capsys, "ls")
    assert (code, out) == (0, [
        "key           shot  model                size    age",
        f"{keys['c'][:12]}  c     1-0-pro-fast-251015  2.5 MB  30 s",
        f"{keys['a'][:12]}  a     1-0-pro-fast-251015  1.5 kB  3 d",
        f"2 entries, 2.5 MB (local: {root})",
    ])  # fmt: skip
    seed_remote(tmp_path, url, {"b": keys["b"]})
    assert run(capsys, "ls", "--remote", url)[1] == [
        "key           shot  model                size    age",
        f"{keys['b'][:12]}  b     1-0-pro-fast-251015  1.5 kB  30 s",
        f"1 entry, 1.5 kB ({url})",
    ]


def test_verify_drops_corrupt_local_entries_and_reports_corrupt_remote_ones(
    tmp_path: Path, keys: dict[str, str], url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = local().root
    put(local(), keys["a"], "a")
    put(local(), keys["c"], "c")
    (local().entry_dir(keys["c"]) / "clip.mp4").write_bytes(b"flipped")
    assert run(capsys, "verify") == (1, [
        f"corrupt: {keys['c'][:12]} (c): clip is 7 bytes, meta.json says 1500; dropped",
        f"verified 2 entries: 1 ok, 1 corrupt (local: {root})",
    ], [])  # fmt: skip
    assert not local().entry_dir(keys["c"]).exists()
    assert run(capsys, "verify")[:2] == (0, [f"verified 1 entry: 1 ok, 0 corrupt (local: {root})"])

    seed_remote(tmp_path, url, {"b": keys["b"]})
    clip = tmp_path / "team" / "clips" / keys["b"][:2] / keys["b"] / "clip.mp4"
    clip.write_bytes(clip.read_bytes()[:-1] + b"!")
    assert run(capsys, "verify", "--remote", url) == (1, [
        f"corrupt: {keys['b'][:12]} (b): clip checksum mismatch; left on the remote (the next render that needs "
        "it generates it again and replaces it)",
        f"verified 1 entry: 0 ok, 1 corrupt ({url})",
    ], [])  # fmt: skip


def test_gc_drops_entries_no_given_storyboard_uses(
    board: Path, keys: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root = local().root
    put(local(), keys["a"], "a")
    put(local(), "ff" * 32, "old-project", size=4000)
    size = freed("ff" * 32)
    assert run(capsys, "gc", str(board), "--dry-run")[1] == [
        "would drop ffffffffffff (old-project)",
        f"would drop 1 of 2 entries, {size}; kept 1 (local: {root})",
    ]
    assert local().get("ff" * 32) is not None
    assert run(capsys, "gc", str(board)) == (0, [f"dropped 1 of 2 entries, {size}; kept 1 (local: {root})"], [])
    assert local().get("ff" * 32) is None and local().get(keys["a"]) is not None


def test_gc_older_than_and_both_criteria(board: Path, keys: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    root = local().root
    put(local(), keys["a"], "a", age_days=10)
    put(local(), "ff" * 32, "x", age_days=10)
    put(local(), "ee" * 32, "y", age_days=1)
    x, a = freed("ff" * 32), freed(keys["a"])
    assert run(capsys, "gc", str(board), "--older-than", "7")[1] == [
        f"dropped 1 of 3 entries, {x}; kept 2 (local: {root})"  # unused and old: x only
    ]
    assert run(capsys, "gc", "--older-than", "7")[1] == [f"dropped 1 of 2 entries, {a}; kept 1 (local: {root})"]
    assert local().get("ee" * 32) is not None


def test_gc_refuses_without_criteria_and_drops_nothing_for_a_broken_storyboard(
    tmp_path: Path, keys: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    put(local(), keys["a"], "a")
    assert run(capsys, "gc") == (2, [], [
        "cache gc: name the storyboards whose clips to keep (FILE...), --older-than DAYS, or both; nothing was dropped"
    ])  # fmt: skip
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nname: x\nshots: []\n")
    code, out, err = run(capsys, "gc", str(broken))
    assert code == 2 and out == [] and err
    assert local().get(keys["a"]) is not None


def test_gc_clears_incomplete_entry_folders_left_by_a_crash(capsys: pytest.CaptureFixture[str]) -> None:
    root = local().root
    folder = local().entry_dir("dd" * 32)
    folder.mkdir(parents=True)
    (folder / "clip.mp4").write_bytes(b"x" * 100)  # moved in, then the process died before meta.json
    hours_ago = time.time() - 7200
    os.utime(folder / "clip.mp4", (hours_ago, hours_ago))
    assert run(capsys, "gc", "--older-than", "30")[1] == [
        f"dropped 0 of 0 entries and 1 incomplete entry folders, 100 B; kept 0 (local: {root})"
    ]
    assert not folder.exists()


@pytest.mark.parametrize("command", ["pull", "push", "ls", "verify", "gc"])
def test_every_cache_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["cache", command, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: storyboard cache {command} [-h]")

"""`storyboard init`: the starter it writes, what it prints, and that it never writes over a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from storyboard.cli.main import main
from storyboard.engine.plan import make_plan
from storyboard.spec.load import load

STARTER = Path(__file__).resolve().parents[2] / "storyboard" / "starter"


def test_init_writes_a_starter_that_loads_and_says_what_to_do_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init", "film"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "wrote film/storyboard.yaml and film/media/ (a photo, music and their credits)",
        "next:",
        "  storyboard render film/storyboard.yaml   # without ACEDATACLOUD_API_TOKEN: a free offline animatic",
        "  storyboard watch film/storyboard.yaml    # re-renders what changed on every save",
    ]
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["film/media/CREDITS.md", "film/media/music.mp3", "film/media/photo.jpg", "film/storyboard.yaml"]
    assert (tmp_path / "film" / "media" / "photo.jpg").read_bytes() == (STARTER / "photo.jpg").read_bytes()
    loaded = load(tmp_path / "film" / "storyboard.yaml")
    assert loaded.warnings == ()
    board = loaded.board
    assert board.name == "storyboard"  # no `name:` in the starter: the file's stem
    assert [s.caption.text if s.caption else None for s in board.shots] == ["A quiet morning", None, "Off it goes"]
    assert [s.chain for s in board.shots] == [False, True, True]
    assert board.output.music is not None and board.output.music.path == "media/music.mp3"
    assert [j.depends_on for j in make_plan(loaded, service="emulator").jobs] == [(), ("perch",), ("look",)]


def test_init_defaults_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    assert (
        capsys.readouterr().out.splitlines()[0] == "wrote storyboard.yaml and media/ (a photo, music and their credits)"
    )
    assert (tmp_path / "storyboard.yaml").is_file() and (tmp_path / "media" / "music.mp3").is_file()


def test_init_writes_nothing_when_a_starter_file_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "photo.jpg").write_bytes(b"mine")
    assert main(["init"]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", "init: media/photo.jpg already exists; nothing was written\n")
    assert (tmp_path / "media" / "photo.jpg").read_bytes() == b"mine"
    assert not (tmp_path / "storyboard.yaml").exists()


def test_starter_media_stay_small() -> None:
    assert all(p.stat().st_size <= 200_000 for p in STARTER.iterdir())

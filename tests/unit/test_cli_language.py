"""The command line of the storyboard language: help for every command, schema, --var/--vars errors."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import pytest

from storyboard import __version__
from storyboard.cli.main import _parser, main
from storyboard.spec.schema import schema_text

BOARD = 'version: 1\nname: t\nvars: {d: 4}\nshots:\n  - prompt: a fox\n    duration: "{{ d }}"\n'


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """The subcommands as the parser defines them, so new ones are covered without edits here."""
    actions = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return dict(actions[0].choices)


def test_the_language_commands_exist() -> None:
    assert {"validate", "plan", "schema"} <= set(subcommands())


def test_console_script_help() -> None:
    exe = shutil.which("storyboard")
    assert exe is not None, "the storyboard console script is not installed (pip install -e .)"
    done = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0
    assert done.stderr == ""
    assert done.stdout.startswith("usage: storyboard")
    for name in subcommands():
        assert f"    {name}" in done.stdout


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"storyboard {__version__}\n"


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_subcommand_has_help_listing_its_flags(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: storyboard {name}")
    flags = [flag for action in subcommands()[name]._actions for flag in action.option_strings]
    assert "--help" in flags
    for flag in flags:
        assert flag in out


@pytest.mark.parametrize(
    ("name", "flags"),
    [("validate", ["--var", "--vars"]), ("plan", ["--var", "--vars", "--json"]), ("schema", ["-o", "--out"])],
)
def test_language_subcommands_document_their_flags(
    name: str, flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([name, "--help"])
    out = capsys.readouterr().out
    for flag in flags:
        assert f"{flag} " in out or f"{flag}," in out


def test_unknown_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_schema_to_a_file_and_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sub" / "s.json"
    out.parent.mkdir()
    assert main(["schema", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == schema_text()
    assert capsys.readouterr().out == ""
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == schema_text()


@pytest.fixture
def board(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    Path("board.yaml").write_text(BOARD, encoding="utf-8")
    return "board.yaml"


@pytest.mark.parametrize("command", ["validate", "plan"])
@pytest.mark.parametrize(
    ("flags", "files", "expected"),
    [
        (["--var", "oops"], {}, ["--var: expected NAME=VALUE (got 'oops')"]),
        (["--var", "1x=2", "--var", "=3"], {},
         ["--var: expected NAME=VALUE (got '1x=2')", "--var: expected NAME=VALUE (got '=3')"]),
        (["--vars", "missing.yaml"], {}, ["missing.yaml: vars file not found"]),
        (["--vars", "list.yaml"], {"list.yaml": "- a\n- b\n"},
         ["list.yaml: vars file must be a mapping of names to values, or a list of such mappings"]),
        (["--vars", "bad.json"], {"bad.json": '{\n  "d": }\n'}, ["bad.json:2:8: not valid JSON: Expecting value"]),
        (["--vars", "bad.yaml"], {"bad.yaml": "d: [4\n"},
         ["bad.yaml:2:1: not valid YAML: expected ',' or ']', but got '<stream end>'"]),
        (["--var", "d=20"], {}, ["board.yaml:6:15: shots[0].duration: must be between 2 and 12 for "
                                 "doubao-seedance-1-0-pro-250528"]),
    ],
    ids=["no-equals", "bad-names", "missing-file", "not-a-mapping", "bad-json", "bad-yaml", "bad-value"],
)  # fmt: skip
def test_variable_flag_errors_exit_2_with_one_line_each(
    board: str,
    capsys: pytest.CaptureFixture[str],
    command: str,
    flags: list[str],
    files: dict[str, str],
    expected: list[str],
) -> None:
    for name, text in files.items():
        Path(name).write_text(text, encoding="utf-8")
    assert main([command, board, *flags]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == expected
    assert captured.out == ""


def test_plan_table_output(board: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", board, "--var", "d=6"]) == 0
    out = capsys.readouterr().out
    tokens = 1920 * 1088 * (24 * 6 + 1) // 1024  # 1.0 pro defaults to 1080p
    assert f"{tokens:,}" in out
    assert '"duration": 6' in out
    assert out.splitlines()[-2] == f"total: {tokens:,} tokens, estimated cost {tokens / 1e6 * 15:.4f} CNY"
    assert out.splitlines()[-1].startswith("prices: Volcengine Ark online tier, CNY per million tokens")


def test_user_text_is_printed_as_typed(board: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Rich must not turn `:fox_face:` into an emoji or `[bold]` into markup in a quoted value."""
    Path(board).write_text('version: 1\nname: t\nshots:\n  - prompt: a\n    model: "[bold]:fox_face:"\n')
    assert main(["validate", board]) == 2
    assert capsys.readouterr().err.startswith('board.yaml:5:12: shots[0].model: unknown model "[bold]:fox_face:" (')


def test_brackets_in_a_storyboard_name_are_text(board: str, capsys: pytest.CaptureFixture[str]) -> None:
    Path(board).write_text('version: 1\nname: "My [draft] story [/x]"\nshots:\n  - prompt: a\n')
    assert main(["plan", board]) == 0
    assert capsys.readouterr().out.splitlines()[0].strip() == "My [draft] story [/x]: 1 shots (emulator)"

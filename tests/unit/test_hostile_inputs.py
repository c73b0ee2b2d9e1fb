"""Hostile inputs and a hostile service (issue 12, security and limits): echoed secrets, output
paths that escape the storyboard's folder or collide, and templates that try to run away.

Each test names the exact text the user sees; all are fast (no emulator, no ffmpeg).
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import httpx
import pytest

from storyboard.cli.main import main
from storyboard.errors import APIError
from storyboard.seedance.client import SeedanceClient
from storyboard.seedance.config import ServiceConfig

TOKEN = "sk-echoed-secret-77a1"
BASE = "https://api.example.test"
BODY = {"model": "doubao-seedance-1-0-pro-250528", "content": [{"type": "text", "text": "a fox"}]}


def client_answering(status: int, answer: dict[str, object]) -> SeedanceClient:
    http = httpx.Client(transport=httpx.MockTransport(lambda _r: httpx.Response(status, json=answer)))
    return SeedanceClient(ServiceConfig(token=TOKEN, base_url=BASE), http=http, sleep=lambda _s: None, max_retries=0)


# --- the token, echoed by the service -----------------------------------------------------------


def test_token_echoed_in_error_code_and_trace_id_is_scrubbed() -> None:
    answer = {"success": False, "error": {"code": f"bad_{TOKEN}", "message": f"no {TOKEN}"}, "trace_id": f"t-{TOKEN}"}
    with pytest.raises(APIError) as caught:
        client_answering(400, answer).create(BODY)  # type: ignore[arg-type]
    error = caught.value
    assert str(error) == "HTTP 400 bad_***: no *** (trace id t-***)"
    assert (error.code, error.message, error.trace_id) == ("bad_***", "no ***", "t-***")


def test_token_echoed_in_a_task_failure_is_scrubbed() -> None:
    record = {
        "id": "t1",
        "trace_id": f"rec-{TOKEN}",
        "finished_at": 1.0,
        "response": {
            "success": False,
            "trace_id": f"r-{TOKEN}",
            "error": {"code": f"c-{TOKEN}", "message": f"refused: Bearer {TOKEN}"},
        },
    }
    result = client_answering(200, record).retrieve("t1")
    assert result.status == "failed" and result.error is not None
    assert str(result.error) == "c-***: refused: Bearer *** (trace id r-***)"
    assert TOKEN not in repr(result.raw)


def test_token_echoed_in_a_batch_answer_is_scrubbed() -> None:
    answer = {"items": [{"id": "t1", "response": {"success": False, "error": f"x {TOKEN}", "finished_at": 2}}]}
    result = client_answering(200, answer).retrieve_batch(["t1"])["t1"]
    assert str(result.error) == "x ***"


def test_a_short_stand_in_token_does_not_mangle_the_protocol() -> None:
    record = {
        "id": "t1",
        "response": {"success": True, "data": [{"status": "succeeded", "video_url": "https://c/v.mp4"}]},
    }
    http = httpx.Client(transport=httpx.MockTransport(lambda _r: httpx.Response(200, json=record)))
    client = SeedanceClient(ServiceConfig(token="t", base_url=BASE), http=http, sleep=lambda _s: None)
    result = client.retrieve("t1")
    assert (result.task_id, result.status, result.video_url) == ("t1", "succeeded", "https://c/v.mp4")


# --- output paths -------------------------------------------------------------------------------

BOARD = "version: 1\nname: t\noutput:\n  path: out/{{ product }}.{{ ext }}\nshots:\n  - prompt: a fox\n"


def validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, board: str, csv: str | None = None) -> int:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "board.yaml").write_text(board)
    args = ["validate", "board.yaml"]
    if csv is not None:
        (tmp_path / "rows.csv").write_text(csv)
        args += ["--vars", "rows.csv"]
    return main(args)


def test_templated_output_path_escaping_the_folder_is_a_located_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = "product,ext\nfox,mp4\n../../../../tmp/x/escaped,mp4\n"
    assert validate(tmp_path, monkeypatch, BOARD, csv) == 2
    assert capsys.readouterr().err.splitlines() == [
        "board.yaml:4:9: output.path: 'out/../../../../tmp/x/escaped.mp4' leads outside the storyboard's "
        "folder; a templated output path must stay inside it (e.g. out/{{ name | slug }}.mp4) (rows.csv row 2)"
    ]


def test_templated_absolute_output_path_is_a_located_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    board = (
        "version: 1\nname: t\nvars: {where: /tmp/abs}\noutput:\n  path: '{{ where }}/v.mp4'\nshots:\n  - prompt: a\n"
    )
    assert validate(tmp_path, monkeypatch, board) == 2
    assert capsys.readouterr().err.splitlines() == [
        "board.yaml:5:9: output.path: '/tmp/abs/v.mp4' leads outside the storyboard's folder; a templated "
        "output path must stay inside it (e.g. out/{{ name | slug }}.mp4)"
    ]


def test_plain_output_path_outside_the_folder_is_still_allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    board = "version: 1\nname: t\noutput:\n  path: ../renders/t.mp4\nshots:\n  - prompt: a fox\n"
    (tmp_path / "sub").mkdir()
    assert validate(tmp_path / "sub", monkeypatch, board) == 0


def test_two_variants_sharing_a_report_file_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert validate(tmp_path, monkeypatch, BOARD, "product,ext\na,mp4\na,mov\n") == 2
    report = tmp_path / "out" / "a.report.json"
    assert capsys.readouterr().err.splitlines() == [
        f"rows.csv row 2: output.path: {report} is also written by rows.csv row 1"
    ]


# --- template limits ----------------------------------------------------------------------------


def prompt_board(prompt: str) -> str:
    return textwrap.dedent(
        f"""\
        version: 1
        name: t
        shots:
          - prompt: "{prompt}"
        """
    )


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("{{ 'a' | center(10**10) }}", "template limit: a number argument over 1,000,000 (10000000000) to 'center'"),
        ("{{ 'a'.ljust(10**9) }}", "template limit: a number argument over 1,000,000 (1000000000) to 'ljust'"),
        ("{{ 'ab' * 10**8 }}", "template limit: 'ab' * 100000000 would be longer than 1,000,000 characters"),
        ("{{ 10 ** 99999999 }}", "template limit: 10 ** 99999999 is too large a power"),
        ("{{ '%099999999d' % 1 }}", "template limit: a width over 1,000,000 in the format string '%099999999d'"),
        (
            "{{ '{:>99999999}'.format(1) }}",
            "template limit: a width over 1,000,000 in the format string '{:>99999999}'",
        ),
        (
            "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
            "template limit: more than 100,000 loop iterations",
        ),
        (
            "{% for i in range(99999) %}{{ 'x' * 20 }}{% endfor %}",
            "template limit: the rendered text is longer than 1,000,000 characters",
        ),
        (
            "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
            "template limit: a value longer than 1,000,000 characters",
        ),
        (
            "{% macro d(s, n) %}{{ d(s ~ s, n - 1) if n else s | length }}{% endmacro %}{{ d('ab', 40) }}",
            "template limit: a value longer than 1,000,000 characters",
        ),
    ],  # fmt: skip
    ids=[
        "center",
        "ljust",
        "repeat",
        "power",
        "percent-width",
        "format-width",
        "nested-loops",
        "output-size",
        "namespace-doubling",
        "macro-doubling",
    ],  # fmt: skip
)
def test_template_limits_are_located_errors(
    prompt: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    assert validate(tmp_path, monkeypatch, prompt_board(prompt)) == 2
    assert capsys.readouterr().err.splitlines() == [f"board.yaml:4:13: shots[0].prompt: {message}"]
    assert time.monotonic() - started < 5


def test_template_render_time_is_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    from storyboard.spec import templating

    monkeypatch.setattr(templating, "MAX_RENDER_SECONDS", 0.01)
    # each iteration is cheap and under every other limit; only the clock stops it
    text = "{% for i in range(99999) %}{% set x = (i | string) | length %}{% endfor %}"
    problems: list[templating.TemplateProblem] = []
    started = time.monotonic()
    templating.render_tree({"p": text}, {}, on_problem=problems.append)
    assert [p.message for p in problems] == ["template limit: rendering took longer than 0.01 s"]
    assert time.monotonic() - started < 5


def test_ordinary_templates_still_render() -> None:
    from storyboard.spec.templating import render_tree

    problems: list[object] = []
    data = {"p": "{% for i in range(3) %}{{ name | center(7) }}{% endfor %}", "q": "{{ '%5d' % 42 }}{{ 'ab' * 3 }}"}
    assert render_tree(data, {"name": "fox"}, on_problem=problems.append) == {
        "p": "  fox    fox    fox  ",
        "q": "   42ababab",
    }
    assert problems == []

"""Template variables from the command line: `--var NAME=VALUE` flags and `--vars FILE`.

Owns: turning those into one or more *variable sets* — one per video. A `--vars` file holding
a mapping (YAML/JSON) is one set; a list of mappings (YAML/JSON) or a CSV file (header row =
variable names) is one set per row, each labelled with its row number for messages. `--var`
flags override every set. Values are YAML scalars (`--var n=5` is the number 5, a CSV cell
`true` a boolean), so they mean what the same value would mean under `vars:`. Must not import
the loader or anything above it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from storyboard.errors import ConfigError, Issue

__all__ = ["VariableSet", "parse_var_flags", "read_vars_file", "variable_sets"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class VariableSet:
    """Variables for one video; `label` names its row (``variants.csv row 3``) in a batch."""

    values: dict[str, Any]
    label: str | None = None
    row: int | None = None


def _scalar(text: str) -> Any:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (str, int, float, bool)) else text


def parse_var_flags(flags: Iterable[str]) -> dict[str, Any]:
    """`["coat=red", "n=3"]` -> `{"coat": "red", "n": 3}`; ConfigError on a malformed flag."""
    out: dict[str, Any] = {}
    problems = []
    for flag in flags:
        name, sep, value = flag.partition("=")
        if not sep or not _NAME.match(name):
            problems.append(Issue("--var", 0, 0, "", f"expected NAME=VALUE (got {flag!r})"))
            continue
        out[name] = _scalar(value)
    if problems:
        raise ConfigError(problems)
    return out


def _fail(label: str, message: str, line: int = 0, col: int = 0) -> ConfigError:
    return ConfigError([Issue(label, line, col, "", message)])


def _read_csv(label: str, text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    names = reader.fieldnames or []
    if not names:
        raise _fail(label, "CSV file has no header row (variable names)")
    bad = [n for n in names if not _NAME.match(n or "")]
    if bad:
        raise _fail(label, f"CSV header {bad[0]!r} is not a variable name", 1, 1)
    rows = []
    for row in reader:
        if None in row:  # more cells than header names
            raise _fail(label, f"row {reader.line_num - 1} has more cells than the header", reader.line_num, 1)
        # a short row leaves its last variables undefined (an error naming them), not empty
        rows.append({k: _scalar(v) for k, v in row.items() if v is not None})
    if not rows:
        raise _fail(label, "CSV file has a header but no rows")
    return rows


def read_vars_file(path: Path) -> dict[str, Any] | list[dict[str, Any]]:
    """A mapping (one set of variables) or a list of mappings (one per video) from `path`."""
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise _fail(label, "vars file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(label, f"vars file cannot be read: {exc}") from None
    if path.suffix.lower() == ".csv":
        return _read_csv(label, text)
    is_json = path.suffix.lower() == ".json"
    try:
        data = json.loads(text) if is_json else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (getattr(exc, "lineno", 0), getattr(exc, "colno", 0))
        reason = getattr(exc, "problem", None) or getattr(exc, "msg", str(exc))
        raise _fail(label, f"not valid {'JSON' if is_json else 'YAML'}: {reason}", line, col) from None
    if isinstance(data, dict) and all(isinstance(k, str) for k in data):
        return data
    if (
        isinstance(data, list)
        and data
        and all(isinstance(item, dict) and all(isinstance(k, str) for k in item) for item in data)
    ):
        return data
    raise _fail(label, "vars file must be a mapping of names to values, or a list of such mappings")


def variable_sets(flags: Iterable[str], vars_file: Path | None) -> list[VariableSet]:
    """The variable sets the command line asks for: one, or one per row of a variants file."""
    overrides = parse_var_flags(flags)
    if vars_file is None:
        return [VariableSet(overrides)]
    data = read_vars_file(vars_file)
    if isinstance(data, dict):
        return [VariableSet({**data, **overrides})]
    return [VariableSet({**row, **overrides}, f"{vars_file} row {n}", n) for n, row in enumerate(data, start=1)]

"""Template variables from the command line: `--var NAME=VALUE` flags and `--vars FILE`.

Owns: parsing those into a mapping, with one-line errors that name the flag or the file.
Values are YAML scalars (`--var n=5` is the number 5, `--var on=true` a boolean), so they mean
what the same value would mean under `vars:`. Must not import the loader or anything above it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from storyboard.errors import ConfigError, Issue

__all__ = ["parse_var_flags", "read_vars_file"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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


def read_vars_file(path: Path) -> dict[str, Any]:
    """A YAML or JSON mapping of variables; ConfigError naming the file otherwise."""
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Issue(label, 0, 0, "", "vars file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Issue(label, 0, 0, "", f"vars file cannot be read: {exc}")]) from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (getattr(exc, "lineno", 0), getattr(exc, "colno", 0))
        reason = getattr(exc, "problem", None) or getattr(exc, "msg", str(exc))
        raise ConfigError([Issue(label, line, col, "", f"not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {reason}")]) from None
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ConfigError([Issue(label, 0, 0, "", "vars file must be a mapping of names to values")])
    return data

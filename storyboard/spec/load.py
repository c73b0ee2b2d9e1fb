"""`load()`: storyboard file -> validated, frozen `Storyboard`, or every problem, located.

Owns: reading the file, the order of the stages (YAML with positions -> Jinja per string value
-> pydantic -> model-aware rules) and turning each stage's failures into one-line `Issue`s
``file:line:col: key.path: message``. Raises `ConfigError` holding all errors (and warnings)
when anything is wrong. Must not import plan, client, render, assemble or the CLI.
"""

from __future__ import annotations

import difflib
import functools
import os
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel

from storyboard.errors import ConfigError, Issue
from storyboard.spec import rules
from storyboard.spec.model import Storyboard
from storyboard.spec.templating import TemplateProblem, render_tree
from storyboard.spec.yamlpos import KeyPath, Positions, YamlProblem, format_path, parse

__all__ = ["Loaded", "load", "load_text"]


@dataclass(frozen=True)
class Loaded:
    """A validated storyboard and what came with it."""

    board: Storyboard
    file: Path
    base_dir: Path
    variables: Mapping[str, Any]
    warnings: tuple[Issue, ...]


def load(file: str | os.PathLike[str], *, overrides: Mapping[str, Any] | None = None) -> Loaded:
    """Load and validate a storyboard file; `overrides` replace its `vars`."""
    label = os.fspath(file)
    try:
        raw = Path(label).read_bytes()
    except FileNotFoundError:
        raise ConfigError([Issue(label, 0, 0, "", "file not found")]) from None
    except IsADirectoryError:
        raise ConfigError([Issue(label, 0, 0, "", "is a directory, not a storyboard file")]) from None
    except OSError as exc:
        raise ConfigError([Issue(label, 0, 0, "", f"cannot be read: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - raw.rfind(b"\n", 0, exc.start)
        raise ConfigError([Issue(label, line, col, "", "is not UTF-8 text")]) from None
    return load_text(text, label=label, base_dir=Path(label).resolve().parent, overrides=overrides)


def load_text(
    text: str,
    *,
    label: str,
    base_dir: Path,
    overrides: Mapping[str, Any] | None = None,
) -> Loaded:
    """Load a storyboard from text; `label` names it in messages (its stem is the default `name`),
    paths resolve in `base_dir`."""
    issues: list[Issue] = []

    def add(line: int, col: int, path: KeyPath, message: str, severity: Literal["error", "warning"] = "error") -> None:
        issues.append(Issue(label, line, col, format_path(path), message, severity))

    try:
        data, positions = _parse(text)
    except YamlProblem as problem:
        add(problem.line, problem.col, problem.path, problem.message)
        raise ConfigError(issues) from None
    if data is None:
        raise ConfigError([Issue(label, 0, 0, "", "the file is empty (expected a storyboard mapping)")])
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        add(1, 1, (), f"the top level must be a mapping of keys (found {kind})")
        raise ConfigError(issues)

    file_vars = data.get("vars") or {}
    if not isinstance(file_vars, dict):  # pydantic reports it; render the rest without them
        file_vars = {}
    variables = {**file_vars, **(overrides or {})}

    def on_template(problem: TemplateProblem) -> None:
        line, col = positions.of_value(problem.path)
        if problem.path in positions.blocks:  # `|` and `>` text starts below its key
            line, col, literal = positions.blocks[problem.path]
            if literal:  # only `|` keeps the file's lines in the string
                line += problem.line_offset
        add(line, col, problem.path, problem.message)

    rendered = render_tree(data, variables, skip=lambda p: p[:1] == ("vars",), on_problem=on_template)
    if "name" not in rendered:  # the file's name is right there: board.yaml is "board"
        rendered = {**rendered, "name": Path(label).stem[:200] or "storyboard"}
    try:
        board = Storyboard.model_validate(rendered)
    except pydantic.ValidationError as exc:
        for line, col, path, message in _validation_issues(exc, positions):
            add(line, col, path, message)
        raise ConfigError(_sorted(issues)) from None
    if issues:  # template problems leave raw strings behind; don't judge them further
        raise ConfigError(_sorted(issues))

    def report(path: KeyPath, message: str, severity: Literal["error", "warning"]) -> None:
        line, col = positions.of_value(path)
        add(line, col, path, message, severity)

    rules.check(board, base_dir, report)
    _check_templated_output(data, board, base_dir, report)
    issues = _sorted(issues)
    if any(i.severity == "error" for i in issues):
        raise ConfigError(issues)
    return Loaded(board, Path(label), base_dir, variables, tuple(issues))


def _check_templated_output(
    raw: dict[str, Any], board: Storyboard, base_dir: Path, report: Callable[[KeyPath, str, Literal["error"]], None]
) -> None:
    """A variable (a CSV row, --var) must not move the video out of the storyboard's folder;
    a path written out in the file may go anywhere its author chose."""
    output = raw.get("output")
    template = output.get("path") if isinstance(output, dict) else None
    rendered = board.output.path
    if not rendered or not isinstance(template, str) or not ("{{" in template or "{%" in template):
        return
    base = base_dir.resolve()
    if not (base / rendered).resolve().is_relative_to(base):
        message = f"{rendered!r} leads outside the storyboard's folder; a templated output path must stay inside it"
        report(("output", "path"), message + " (e.g. out/{{ name | slug }}.mp4)", "error")


@functools.lru_cache(maxsize=8)
def _parse(text: str) -> tuple[Any, Positions]:
    """`parse`, once per text: every row of a variants batch loads the same file. Callers only
    read the result (templating builds new containers), so sharing it is safe."""
    return parse(text)


def _sorted(issues: list[Issue]) -> list[Issue]:
    unique = list(dict.fromkeys(issues))
    return sorted(unique, key=lambda i: (i.line, i.col, i.path))


# --- pydantic errors -> plain messages ------------------------------------------------------


def _validation_issues(exc: pydantic.ValidationError, positions: Positions) -> list[tuple[int, int, KeyPath, str]]:
    errors = exc.errors(include_url=False)
    failing = [tuple(e["loc"]) for e in errors]
    out = []
    for err in errors:
        loc: KeyPath = tuple(err["loc"])
        # a tuple that lost a failing item reports "too short" as well: noise, not a problem
        if err["type"] == "too_short" and any(len(f) > len(loc) and f[: len(loc)] == loc for f in failing):
            continue
        kind = err["type"]
        if kind == "missing":
            parent = loc[:-1]
            line, col = positions.of_value(parent)
            out.append((line, col, parent, f'missing required key "{loc[-1]}"'))
        elif kind == "extra_forbidden":
            line, col = positions.of_key(loc)
            known = _known_keys(loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
            hint = f' (did you mean "{close[0]}"?)' if close else f" (valid keys: {', '.join(known)})"
            out.append((line, col, loc, f"unknown key{hint}"))
        else:
            line, col = positions.of_value(loc)
            out.append((line, col, loc, _message(err)))
    return out


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(value, (dict, list)):
        text = "a mapping" if isinstance(value, dict) else "a list"
    return text if len(text) <= 40 else text[:37] + "..."


_TYPE_WORDS = {
    "int": "an integer", "float": "a number", "bool": "true or false", "string": "a string",
    "dict": "a mapping", "model": "a mapping", "tuple": "a list", "list": "a list",
}  # fmt: skip
_PATTERN_WORDS = {
    "id": "must be letters, digits, _ . - (starting with a letter or digit)",
    "size": "must be WIDTHxHEIGHT, e.g. 1280x720",
    "audio_bitrate": "must be like 192k",
}


def _message(err: Any) -> str:
    kind: str = err["type"]
    ctx = err.get("ctx") or {}
    got = f" (got {_show(err['input'])})" if not isinstance(err.get("input"), (dict, type(None))) else ""
    loc = err["loc"]
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "")
        if loc and loc[-1] == "version":
            return f"must be 1 (the only storyboard format version){got}"
        return f"must be one of {expected}{got}"
    if kind == "model_type" and loc and loc[-1] == "caption":  # the one model with a string shorthand
        return f"must be a string (its text) or a mapping{got}"
    for prefix, words in _TYPE_WORDS.items():
        if kind.startswith(prefix + "_") and kind.endswith(("_type", "_parsing", "_from_float", "_fraction")):
            return f"must be {words}{got}"
    if kind == "model_type" or kind == "dict_type":
        return f"must be a mapping{got}"
    bounds = {
        "greater_than_equal": ("at least", "ge"), "less_than_equal": ("at most", "le"),
        "greater_than": ("greater than", "gt"), "less_than": ("less than", "lt"),
    }  # fmt: skip
    if kind in bounds:
        words, key = bounds[kind]
        return f"must be {words} {ctx.get(key)}{got}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item"
    if kind == "too_long":
        most = ctx.get("max_length")
        return f"takes at most {most} item{'' if most == 1 else 's'} (got {ctx.get('actual_length')})"
    if kind == "string_pattern_mismatch":
        return _PATTERN_WORDS.get(str(loc[-1]), f"must match {ctx.get('pattern')}") + got
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    return str(err["msg"]).replace("Input should be", "must be") + got


def _known_keys(loc: KeyPath) -> list[str]:
    """Keys valid at `loc` (a path into a Storyboard document), for "did you mean"."""
    cls: Any = Storyboard
    keyed = False  # the previous part named a mapping field (assets:): this part is one of its keys
    for part in loc:
        if isinstance(part, int) or keyed:
            keyed = False
            continue
        field = cls.model_fields.get(_field_name(cls, str(part)))
        if field is None:
            return []
        keyed = typing.get_origin(field.annotation) is dict
        cls = _model_in(field.annotation)
        if cls is None:
            return []
    return [f.alias or name for name, f in cls.model_fields.items()]


def _field_name(cls: type[BaseModel], key: str) -> str:
    for name, f in cls.model_fields.items():
        if key in (name, f.alias):
            return name
    return key


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None

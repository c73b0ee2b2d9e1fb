"""Jinja2 templating of string values, after YAML parsing (so line numbers stay true).

Owns: the sandboxed environment (StrictUndefined, the `slug` filter), rendering every string
leaf of a parsed document, and turning Jinja failures into located problems. Must not import
pydantic models, the loader or anything that does I/O.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from storyboard.spec.yamlpos import KeyPath

__all__ = ["TemplateProblem", "render_tree", "slug"]

_MARKERS = ("{{", "{%", "{#")


class TemplateProblem(Exception):
    """A Jinja problem in the string at `path`; `line_offset` is the line within that string."""

    def __init__(self, path: KeyPath, message: str, line_offset: int = 0) -> None:
        super().__init__(message)
        self.path, self.message, self.line_offset = path, message, line_offset


def slug(value: object) -> str:
    """`Red Fox Coat!` -> `red-fox-coat`: safe in file names and URLs."""
    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _environment() -> SandboxedEnvironment:
    # keep_trailing_newline: a templated `|` block keeps its last newline like a plain one
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters["slug"] = slug
    return env


_ENV = _environment()


@functools.lru_cache(maxsize=4096)
def _compile(text: str) -> jinja2.Template:
    """Compiled once per source string: a batch renders the same templates for every row."""
    return _ENV.from_string(text)


def _render_one(text: str, variables: Mapping[str, Any], path: KeyPath) -> str:
    try:
        return _compile(text).render(variables)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(path, f"template syntax error: {exc.message}", (exc.lineno or 1) - 1) from None
    except jinja2.UndefinedError as exc:
        name = re.search(r"'([^']+)' is undefined", str(exc.message))
        what = f"undefined variable '{name.group(1)}'" if name else str(exc.message)
        raise TemplateProblem(path, what) from None
    except jinja2.TemplateError as exc:
        raise TemplateProblem(path, f"template error: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a filter can raise anything on user data
        raise TemplateProblem(path, f"template error: {type(exc).__name__}: {exc}") from None


def render_tree(
    data: Any,
    variables: Mapping[str, Any],
    *,
    skip: Callable[[KeyPath], bool] = lambda _p: False,
    on_problem: Callable[[TemplateProblem], None],
    path: KeyPath = (),
) -> Any:
    """Return `data` with every templated string rendered; problems go to `on_problem`.

    A string that fails to render is kept as it was, so validation can go on and report
    everything else in the same run.
    """
    if skip(path):
        return data
    if isinstance(data, dict):
        return {
            k: render_tree(v, variables, skip=skip, on_problem=on_problem, path=(*path, k)) for k, v in data.items()
        }
    if isinstance(data, list):
        return [
            render_tree(v, variables, skip=skip, on_problem=on_problem, path=(*path, i)) for i, v in enumerate(data)
        ]
    if isinstance(data, str) and any(m in data for m in _MARKERS):
        try:
            return _render_one(data, variables, path)
        except TemplateProblem as problem:
            on_problem(problem)
    return data

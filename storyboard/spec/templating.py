"""Jinja2 templating of string values, after YAML parsing (so line numbers stay true).

Owns: the sandboxed environment (StrictUndefined, the `slug` filter) and its resource limits
(rendered size, loop iterations, render time, checked before anything huge is built), rendering
every string leaf of a parsed document, and turning Jinja failures into located problems. Must
not import pydantic models, the loader or anything that does I/O.
"""

from __future__ import annotations

import functools
import math
import re
import string
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import Namespace

from storyboard.spec.yamlpos import KeyPath

__all__ = ["MAX_LOOP_ITERATIONS", "MAX_RENDER_SECONDS", "MAX_STRING", "TemplateProblem", "render_tree", "slug"]

_MARKERS = ("{{", "{%", "{#")

MAX_STRING = 1_000_000
"""Characters one templated value may render to; also the largest width, padding or repeat."""
MAX_LOOP_ITERATIONS = 100_000
"""`{% for %}` iterations in one templated value, nested loops counted together."""
MAX_RENDER_SECONDS = 2.0
"""Wall-clock time one templated value may take to render."""
_MAX_POWER_BITS = 100_000
_GROWING = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs", "indent", "format", "format_map"})
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?")


class TemplateProblem(Exception):
    """A Jinja problem in the string at `path`; `line_offset` is the line within that string."""

    def __init__(self, path: KeyPath, message: str, line_offset: int = 0) -> None:
        super().__init__(message)
        self.path, self.message, self.line_offset = path, message, line_offset


def slug(value: object) -> str:
    """`Red Fox Coat!` -> `red-fox-coat`: safe in file names and URLs."""
    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


class _Limit(Exception):
    """A template went over one of the limits above."""


class _Budget(threading.local):
    iterations = 0
    deadline = math.inf


_BUDGET = _Budget()


def _tick() -> None:
    if time.monotonic() > _BUDGET.deadline:
        raise _Limit(f"rendering took longer than {MAX_RENDER_SECONDS:g} s")


def _loop_guard(iterable: Iterable[Any]) -> Iterator[Any]:
    """What every `{% for %}` iterates (see `_LimitedEnvironment._parse`): counts and times it."""
    for item in iterable:
        _BUDGET.iterations += 1
        if _BUDGET.iterations > MAX_LOOP_ITERATIONS:
            raise _Limit(f"more than {MAX_LOOP_ITERATIONS:,} loop iterations")
        _tick()
        yield item


def _check_numbers(name: str, args: Iterable[Any]) -> None:
    for value in args:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_STRING:
            raise _Limit(f"a number argument over {MAX_STRING:,} ({value}) to '{name}'")


def _check_format(text: str, percent: bool) -> None:
    """No width or precision in a format string may exceed ``MAX_STRING``."""
    if percent:
        numbers = [n for m in _PERCENT_SPEC.finditer(text) for n in m.groups() if n]
    else:
        try:
            specs = [spec or "" for _, _, spec, _ in string.Formatter().parse(text)]
        except ValueError:
            return  # the call itself reports the broken format string
        numbers = [n for spec in specs for n in re.findall(r"\d+", spec)]
    if any(n.isdigit() and int(n) > MAX_STRING for n in numbers):
        raise _Limit(f"a width over {MAX_STRING:,} in the format string {_short(text)}")


def _check_sizes(values: Iterable[Any]) -> None:
    if any(isinstance(v, str) and len(v) > MAX_STRING for v in values):
        raise _Limit(f"a value longer than {MAX_STRING:,} characters")


class _LimitedNamespace(Namespace):
    """`namespace()`, whose attributes cannot hold a runaway string (`ns.s = ns.s ~ ns.s`)."""

    def __setitem__(self, name: str, value: Any) -> None:
        _tick()
        _check_sizes([value])
        super().__setitem__(name, value)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


class _LimitedEnvironment(SandboxedEnvironment):
    """The sandbox with resource limits: every call, operator and loop is checked before it runs."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in list(tree.find_all(nodes.For)):
            guard = nodes.ImportedName(f"{__name__}._loop_guard", lineno=loop.lineno)
            loop.iter = nodes.Call(guard, [loop.iter], [], None, None, lineno=loop.lineno)
        return tree

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _tick()
        _check_sizes([*args, *kwargs.values()])  # e.g. a macro doubling its argument as it recurses
        target = getattr(__obj, "__wrapped__", __obj)
        name = getattr(target, "__name__", "")
        owner = getattr(target, "__self__", None)
        if isinstance(owner, str) and name in _GROWING:
            _check_numbers(name, [*args, *kwargs.values()])
            if name in ("format", "format_map"):
                _check_format(owner, percent=False)
        if isinstance(owner, str) and name == "replace" and len(args) >= 2 and isinstance(args[1], str):
            if (len(owner) + 1) * len(args[1]) + len(owner) > MAX_STRING:
                raise _Limit(f"the replacement would be longer than {MAX_STRING:,} characters")
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "*":
            seq, times = (left, right) if isinstance(right, int) else (right, left)
            if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * times > MAX_STRING:
                raise _Limit(f"{_short(left)} * {_short(right)} would be longer than {MAX_STRING:,} characters")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1:
            if right * math.log2(abs(left)) > _MAX_POWER_BITS:
                raise _Limit(f"{left} ** {right} is too large a power")
        elif operator == "%" and isinstance(left, str):
            _check_format(left, percent=True)
            if "*" in left:
                _check_numbers("%", right if isinstance(right, tuple) else (right,))
        return super().call_binop(context, operator, left, right)


def _limited_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def limited(value: Any, *args: Any, **kwargs: Any) -> Any:
        _tick()
        _check_numbers(name, [*args, *kwargs.values()])
        if name == "format" and isinstance(value, str):
            _check_format(value, percent=True)
        if name == "replace" and len(args) >= 2 and isinstance(args[1], str):
            if (len(str(value)) + 1) * len(args[1]) + len(str(value)) > MAX_STRING:
                raise _Limit(f"the replacement would be longer than {MAX_STRING:,} characters")
        return original(value, *args, **kwargs)

    return functools.update_wrapper(limited, original)


def _environment() -> SandboxedEnvironment:
    # keep_trailing_newline: a templated `|` block keeps its last newline like a plain one
    env = _LimitedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters["slug"] = slug
    env.globals["namespace"] = _LimitedNamespace
    for name in ("center", "indent", "format", "replace"):
        env.filters[name] = _limited_filter(name, env.filters[name])
    return env


_ENV = _environment()


@functools.lru_cache(maxsize=4096)
def _compile(text: str) -> jinja2.Template:
    """Compiled once per source string: a batch renders the same templates for every row."""
    return _ENV.from_string(text)


def _render_one(text: str, variables: Mapping[str, Any], path: KeyPath) -> str:
    _BUDGET.iterations, _BUDGET.deadline = 0, time.monotonic() + MAX_RENDER_SECONDS
    try:
        return _collect(_compile(text).generate(variables))
    except _Limit as exc:
        raise TemplateProblem(path, f"template limit: {exc}") from None
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
    finally:
        _BUDGET.deadline = math.inf


def _collect(chunks: Iterator[str]) -> str:
    parts, size = [], 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_STRING:
            raise _Limit(f"the rendered text is longer than {MAX_STRING:,} characters")
        parts.append(chunk)
    return "".join(parts)


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

"""YAML parsing that keeps source positions and rejects duplicate keys.

Owns: turning YAML text into plain Python data plus a map from key path to the 1-based
(line, column) of each value and each key. Anchors, aliases and merge keys (``<<``) work as in
PyYAML's safe loader. Must not import pydantic models, Jinja or anything that does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = ["KeyPath", "Positions", "YamlProblem", "format_path", "parse"]

KeyPath = tuple[str | int, ...]
MAX_VALUES = 100_000  # a 200-shot storyboard has about 6000
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


class YamlProblem(Exception):
    """A YAML-level problem at a 1-based position (syntax, duplicate key, unsupported key)."""

    def __init__(self, line: int, col: int, path: KeyPath, message: str) -> None:
        super().__init__(message)
        self.line, self.col, self.path, self.message = line, col, path, message


@dataclass
class Positions:
    """Where each value (and each mapping key) of a document starts, by key path."""

    values: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    blocks: dict[KeyPath, tuple[int, int, bool]] = field(default_factory=dict)
    """Where the text of a block scalar (``|`` or ``>``) starts, the line after its indicator,
    and whether its lines are the file's lines (``|``; ``>`` folds them)."""

    def of_value(self, path: KeyPath) -> tuple[int, int]:
        """Position of the value at `path`, or of its nearest existing ancestor."""
        return self._nearest(self.values, path)

    def of_key(self, path: KeyPath) -> tuple[int, int]:
        """Position of the key that names `path` (falls back to the value's position)."""
        if path in self.keys:
            return self.keys[path]
        return self.of_value(path)

    @staticmethod
    def _nearest(table: dict[KeyPath, tuple[int, int]], path: KeyPath) -> tuple[int, int]:
        for n in range(len(path), -1, -1):
            if path[:n] in table:
                return table[path[:n]]
        return (1, 1)


def format_path(path: KeyPath) -> str:
    """``("shots", 2, "duration")`` -> ``shots[2].duration``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    def __init__(self, text: str) -> None:
        self.loader = yaml.SafeLoader("")
        self.positions = Positions()
        self.lines = _LINE_BREAK.split(text)  # YAML's line breaks, which is how marks count lines
        self.open: set[int] = set()  # ids of the collections being built, to catch `&a [*a]`
        self.built = 0  # every alias is built again (it has its own key paths): cap the total

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self.positions.values.setdefault(path, _mark(node))
        self.built += 1
        if self.built > MAX_VALUES:
            line, col = _mark(node)
            message = f"the document expands to more than {MAX_VALUES} values (aliases of aliases?)"
            raise YamlProblem(line, col, path, message)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            if id(node) in self.open:
                line, col = _mark(node)
                raise YamlProblem(line, col, path, "an alias refers to a node that contains it")
            self.open.add(id(node))
            try:
                if isinstance(node, yaml.MappingNode):
                    return self._mapping(node, path)
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            finally:
                self.open.discard(id(node))
        if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
            self.positions.blocks.setdefault(path, (*self._block_start(node), node.style == "|"))
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: KeyPath) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            line, col = _mark(node)
            raise YamlProblem(line, col, path, str(exc.problem)) from None
        except Exception:  # noqa: BLE001 - `!!int x`, `!!int` (empty), `!!timestamp x`: user data
            line, col = _mark(node)
            kind = node.tag.rsplit(":", 1)[-1]
            raise YamlProblem(line, col, path, f"{node.value!r} is not a valid {kind}") from None

    def _block_start(self, node: yaml.Node) -> tuple[int, int]:
        # the text starts on the first non-blank line after the `|`/`>` indicator
        for n in range(node.start_mark.line + 1, min(node.end_mark.line + 1, len(self.lines))):
            stripped = self.lines[n].lstrip(" ")
            if stripped:
                return n + 1, len(self.lines[n]) - len(stripped) + 1
        return _mark(node)

    def _key(self, key_node: yaml.Node, path: KeyPath) -> str:
        key = self._scalar(key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
        if not isinstance(key, (str, int, float, bool)):
            line, col = _mark(key_node)
            raise YamlProblem(line, col, path, "keys must be plain strings")
        return str(key)

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        seen: dict[str, tuple[int, int]] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self._key(key_node, path)
            if key in seen:  # `1` and `"1"` name the same key once loaded
                line, col = _mark(key_node)
                first = seen[key][0]
                raise YamlProblem(line, col, (*path, key), f"duplicate key (first defined on line {first})")
            seen[key] = _mark(key_node)
        # flatten_mapping resolves `<<` merges in place; explicit keys win over merged ones.
        try:
            self.loader.flatten_mapping(node)
        except yaml.constructor.ConstructorError as exc:  # `<<:` given something not a mapping
            mark = exc.problem_mark or node.start_mark
            raise YamlProblem(mark.line + 1, mark.column + 1, path, str(exc.problem)) from None
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            name = self._key(key_node, path)  # merged keys were not checked above
            sub = (*path, name)
            # merged entries come first, so an explicit key's position overwrites a merged one
            self.positions.keys[sub] = _mark(key_node)
            self.positions.values[sub] = _mark(value_node)
            out[name] = self.build(value_node, sub)
        return out


def parse(text: str) -> tuple[Any, Positions]:
    """Parse one YAML document into data and positions; raises YamlProblem on any problem."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = str(exc.problem)
        if problem.startswith("but ") and exc.context:  # "but found another document" alone says little
            problem = f"{exc.context}, {problem}"
        raise YamlProblem(line, col, (), f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:  # e.g. a character YAML does not allow
        raise YamlProblem(1, 1, (), f"YAML error: {exc}") from None
    except RecursionError:
        raise YamlProblem(1, 1, (), _TOO_DEEP) from None
    builder = _Builder(text)
    if node is None:
        return None, builder.positions
    try:
        return builder.build(node, ()), builder.positions
    except RecursionError:
        raise YamlProblem(1, 1, (), _TOO_DEEP) from None


_TOO_DEEP = "YAML error: lists and mappings are nested too deeply"

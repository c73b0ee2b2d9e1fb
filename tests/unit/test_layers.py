"""The packages import one way only, without circles, in modules of a readable size.

The layers (README, Architecture): errors -> seedance (wire) and spec (the language) -> store ->
engine -> cli, with assemble and the emulator beside them. A module's imports are read from its
source (every import statement, also those inside functions, resolved when relative), so a
lazy import cannot hide a wrong direction.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import storyboard

PACKAGE = Path(storyboard.__file__).parent
MAX_LINES = 400

# package -> the storyboard packages (or modules) it may import besides itself
ALLOWED: dict[str, set[str]] = {
    "storyboard.errors": set(),
    "storyboard.seedance": {"storyboard.errors"},
    "storyboard.spec": {"storyboard.errors", "storyboard.seedance.capabilities"},
    "storyboard.store": {"storyboard.errors"},
    "storyboard.engine": {
        "storyboard.errors",
        "storyboard.seedance",
        "storyboard.spec",
        "storyboard.store",
        "storyboard.assemble",  # only inside finish and review functions, when a video is made or reviewed
    },
    "storyboard.assemble": {"storyboard.errors", "storyboard.spec.model"},
    "storyboard.emulator": {"storyboard.seedance.capabilities"},
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, top_level_only: bool = False) -> set[str]:
    """storyboard modules `path` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if base.startswith("storyboard"):
                names.add(base)
                # `from storyboard.spec import rules` imports the module storyboard.spec.rules
                names.update(
                    f"{base}.{a.name}"
                    for a in node.names
                    if (PACKAGE.parent / base.replace(".", "/") / f"{a.name}.py").exists()
                )
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("storyboard"))
    return names


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_package_has_a_layer_and_says_what_it_owns_and_must_not_import() -> None:
    packages = {_module_name(p) for p in PACKAGE.glob("*/__init__.py")}
    assert packages == set(ALLOWED) - {"storyboard.errors"} | {"storyboard.cli"}
    for name in packages:
        doc = ast.get_docstring(ast.parse((PACKAGE / name.split(".")[1] / "__init__.py").read_text())) or ""
        words = " ".join(doc.lower().split())
        assert "owns" in words and ("must not import" in words or "nothing imports it" in words), name


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path: Path) -> None:
    module = _module_name(path)
    layer = next((pkg for pkg in ALLOWED if _within(module, pkg)), None)
    imported = _imports(path)
    if module not in ("storyboard.cli", "storyboard.__main__") and not _within(module, "storyboard.cli"):
        assert not {m for m in imported if _within(m, "storyboard.cli")}, f"{module} imports the CLI"
    if layer is None:  # the CLI, the package root and __main__ may import anything
        return
    wrong = {m for m in imported if not _within(m, layer) and not any(_within(m, ok) for ok in ALLOWED[layer])}
    assert not wrong, f"{module} imports {sorted(wrong)}"


def test_only_assemble_and_the_emulator_import_moviepy_at_module_level() -> None:
    for path in MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names}
        top |= {n.module or "" for n in tree.body if isinstance(n, ast.ImportFrom)}
        if any(_within(m, "moviepy") for m in top):
            assert _within(_module_name(path), "storyboard.assemble") or _within(
                _module_name(path), "storyboard.emulator"
            ), path


def test_no_import_circle() -> None:
    graph = {_module_name(p): _imports(p, top_level_only=True) for p in MODULES}
    known = set(graph)
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node] & known):
            if state.get(nxt) == "open":
                raise AssertionError("import circle: " + " -> ".join([*trail[trail.index(nxt) :], nxt]))
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_no_module_over_400_lines() -> None:
    long = {str(p.relative_to(PACKAGE)): n for p in MODULES if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, long

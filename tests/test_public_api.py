"""The package's public names resolve, and the layers import one way only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import storyboard

PACKAGE = Path(storyboard.__file__).parent


def test_every_public_name_resolves() -> None:
    assert storyboard.__all__ == sorted(storyboard.__all__)
    for name in storyboard.__all__:
        assert getattr(storyboard, name) is not None


def test_import_storyboard_loads_neither_httpx_nor_moviepy() -> None:
    code = "import sys, storyboard.cli; print(sorted(m for m in ('httpx', 'moviepy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("storyboard"):
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("storyboard"))
    return names


def test_nothing_imports_the_cli_and_the_lower_layers_stay_below() -> None:
    forbidden = {
        # module: package modules it must not import (DESIGN.md's dependency direction)
        "errors": {"storyboard."},
        "capabilities": {"storyboard."},
        "model": {"storyboard.load", "storyboard.plan", "storyboard.client", "storyboard.render"},
        "load": {"storyboard.plan", "storyboard.client", "storyboard.render", "storyboard.assemble"},
        "plan": {"storyboard.client", "storyboard.render", "storyboard.scheduler", "storyboard.assemble"},
        "client": {"storyboard.model", "storyboard.load", "storyboard.plan", "storyboard.emulator"},
        "scheduler": {"storyboard.assemble", "storyboard.render"},
    }
    for path in PACKAGE.rglob("*.py"):
        imported = _imports(path)
        cli_layer = imported & {"storyboard.cli", "storyboard.render_cli", "storyboard.progress"}
        assert not cli_layer or path.stem in ("cli", "render_cli", "__main__"), f"{path.name} imports {cli_layer}"
        for banned in forbidden.get(path.stem, set()) if path.parent == PACKAGE else set():
            hits = [m for m in imported if (m == banned or m.startswith(banned + ".") or banned.endswith(".")
                    and m.startswith(banned)) and m != f"storyboard.{path.stem}"]
            assert not hits, f"{path.name} imports {hits}"
    for path in (PACKAGE / "emulator").rglob("*.py"):
        outside = {m for m in _imports(path) if not m.startswith(("storyboard.emulator", "storyboard.capabilities"))}
        assert not outside, f"emulator/{path.name} imports {outside}"
    for path in (PACKAGE / "assemble").rglob("*.py"):
        bad = {m for m in _imports(path) if m.startswith(("storyboard.plan", "storyboard.client", "storyboard.scheduler", "storyboard.render", "storyboard.load"))}
        assert not bad, f"assemble/{path.name} imports {bad}"

"""The package's public names resolve, and importing it stays light."""

from __future__ import annotations

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
    code = "import sys, storyboard.cli.main; print(sorted(m for m in ('httpx', 'moviepy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

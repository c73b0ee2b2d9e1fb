"""An image whose header claims absurd dimensions is a located load error, never decoded."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from storyboard.cli.main import main


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR says width x height (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [100_000, 12_000], ids=["bomb", "warning-size"])
@pytest.mark.parametrize("command", ["validate", "plan", "render"])
def test_a_decompression_bomb_is_a_located_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str, side: int
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bomb.png").write_bytes(png_claiming(side, side))
    Path("board.yaml").write_text(
        "version: 1\nname: t\nshots:\n  - prompt: a fox\n    images:\n      - {path: bomb.png, role: first_frame}\n",
        encoding="utf-8",
    )
    assert main([command, "board.yaml"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("board.yaml:6:"), err
    assert f"claims {side * side:,} pixels in its header, too many to decode safely" in err
    assert "Traceback" not in err and "DecompressionBomb" not in err and len(err.splitlines()) == 1

"""Shared pytest fixtures.

- ``_isolated_env`` (autouse): no real token, base URL or user cache dir leaks into a test.
- ``emulator``: a started in-process SeeDance emulator on a free loopback port, stopped after.
- ``emulator_factory``: start emulators with custom options (faults, token, latency, ...).

Tests under ``tests/e2e`` are marked ``e2e`` (loopback HTTP, ffmpeg, subprocesses); the rest are
fast unit tests: ``pytest -m "not e2e"``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from storyboard.emulator import Emulator

E2E_DIR = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for name in ("ACEDATACLOUD_API_TOKEN", "ACEDATACLOUD_API_BASE_URL", "STORYBOARD_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STORYBOARD_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def emulator_factory(tmp_path: Path) -> Iterator[Callable[..., Emulator]]:
    """``emulator_factory(faults="create429=1", token="t", ...)`` -> a started Emulator."""
    started: list[Emulator] = []

    def start(**options: Any) -> Emulator:
        options.setdefault("latency", 0.05)
        options.setdefault("workdir", tmp_path / f"emulator{len(started)}")
        emu = Emulator(**options).start()
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()


@pytest.fixture
def emulator(emulator_factory: Callable[..., Emulator]) -> Emulator:
    """A started emulator (latency 0.05 s, any bearer token accepted)."""
    return emulator_factory()

"""Shared pytest fixtures.

- ``_isolated_env`` (autouse): no real token, base URL or user cache dir leaks into a test.
- ``emulator``: a started in-process SeeDance emulator on a free loopback port, stopped after.
- ``emulator_factory``: start emulators with custom options (faults, token, latency, ...).
- ``moto_s3`` / ``s3_remote``: a moto S3 server on loopback (one per session), and a fresh bucket
  with the AWS settings pointing at it: ``s3://<bucket>/cache`` (``support.moto_s3``).

Tests under ``tests/e2e`` are marked ``e2e`` (loopback HTTP, ffmpeg, subprocesses); the rest are
fast unit tests: ``pytest -m "not e2e"``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from storyboard.emulator import Emulator

if TYPE_CHECKING:
    from support.moto_s3 import MotoS3

E2E_DIR = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for name in ("ACEDATACLOUD_API_TOKEN", "ACEDATACLOUD_API_BASE_URL", "STORYBOARD_CACHE_DIR", "STORYBOARD_REMOTE"):
        monkeypatch.delenv(name, raising=False)
    # no real AWS account, profile or endpoint of the machine's user reaches a test
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    nowhere = str(tmp_path_factory.getbasetemp() / "no-aws-config")
    monkeypatch.setenv("AWS_CONFIG_FILE", nowhere)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", nowhere)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("STORYBOARD_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def emulator_factory(tmp_path: Path) -> Iterator[Callable[..., Emulator]]:
    """``emulator_factory(faults="create429=1", token="t", ...)`` -> a started Emulator."""
    started: list[Emulator] = []

    def start(**options: Any) -> Emulator:
        options.setdefault("latency", 0.05)
        options.setdefault("strict", True)  # refuse `service_tier` & co: our client never sends them
        options.setdefault("workdir", tmp_path / f"emulator{len(started)}")
        emu = Emulator(**options).start()
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()


@pytest.fixture
def emulator(emulator_factory: Callable[..., Emulator]) -> Emulator:
    """A started emulator (latency 0.05 s, any bearer token accepted, strict: no `service_tier`)."""
    return emulator_factory()


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    """A moto S3 server in server mode on 127.0.0.1 (a free port), for the whole session."""
    from support.moto_s3 import MotoS3

    server = MotoS3().start()
    yield server
    server.stop()


@pytest.fixture
def s3_remote(moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch) -> str:
    """``s3://<fresh bucket>/cache`` with AWS_ENDPOINT_URL and keys pointing at `moto_s3`."""
    moto_s3.hold = None
    moto_s3.held.clear()
    moto_s3.release.clear()
    moto_s3.env(monkeypatch)
    return f"s3://{moto_s3.bucket()}/cache"

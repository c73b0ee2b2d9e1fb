"""Fixtures of the end-to-end tests.

- ``chromium``: Debian's chromium at /usr/bin/chromium, for the review page tests. A fresh
  machine (CI) gets it installed here with apt-get when the tests run as root; otherwise the
  test fails saying how to install it — never skipped.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from filelock import FileLock

CHROMIUM = Path("/usr/bin/chromium")


def _apt(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(["apt-get", *args], capture_output=True, text=True, env=env, check=False, timeout=900)


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The chromium binary; installed with apt-get (as root) when missing."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0:
        pytest.fail(f"{CHROMIUM} is missing and the tests do not run as root: run `apt-get install -y chromium`")
    # pytest-xdist runs a session fixture once per worker: one installs, the others wait for it
    with FileLock("/tmp/storyboard-tests-chromium.lock"):
        return CHROMIUM if CHROMIUM.exists() else _install()


def _install() -> Path:
    done = _apt("install", "-y", "--no-install-recommends", "chromium")
    if done.returncode != 0:  # a fresh image has no package lists yet
        _apt("update")
        done = _apt("install", "-y", "--no-install-recommends", "chromium")
    if done.returncode != 0 or not CHROMIUM.exists():
        pytest.fail(f"`apt-get install -y chromium` failed: {(done.stderr or done.stdout).strip()[-2000:]}")
    return CHROMIUM

"""Where the SeeDance service is and how to authenticate to it.

Owns: reading ``ACEDATACLOUD_API_TOKEN`` and ``ACEDATACLOUD_API_BASE_URL`` into a frozen
``ServiceConfig`` whose repr/str never shows the token, and the service *identity* used in
cache keys. Must not import the client, the emulator, the models or anything above them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from storyboard.errors import ConfigError, Issue

__all__ = ["BASE_URL_ENV", "DEFAULT_BASE_URL", "TOKEN_ENV", "ServiceConfig"]

DEFAULT_BASE_URL = "https://api.acedata.cloud"
TOKEN_ENV = "ACEDATACLOUD_API_TOKEN"
BASE_URL_ENV = "ACEDATACLOUD_API_BASE_URL"


@dataclass(frozen=True)
class ServiceConfig:
    """The service endpoint and the bearer token (``None`` when none is configured)."""

    token: str | None = field(default=None, repr=False)
    base_url: str = DEFAULT_BASE_URL

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError([Issue(BASE_URL_ENV, 0, 0, "", f"must be an http(s) URL, got {self.base_url!r}")])
        # Paths are joined as base + "/seedance/...", so one canonical spelling avoids "//".
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServiceConfig:
        """Read the configuration from ``environ`` (default: the process environment).

        An empty or blank token counts as no token, so ``ACEDATACLOUD_API_TOKEN=`` in a
        shell does not send ``Bearer `` to the service.
        """
        env = os.environ if environ is None else environ
        token = (env.get(TOKEN_ENV) or "").strip() or None
        base_url = (env.get(BASE_URL_ENV) or "").strip() or DEFAULT_BASE_URL
        return cls(token=token, base_url=base_url)

    @property
    def identity(self) -> str:
        """Which service produced a result, for cache keys: host and path prefix.

        The port is left out on purpose: the embedded emulator binds a fresh free port on
        every run, and its clips should stay cached across runs, while a real service is
        told apart from the emulator (and from another gateway) by its host name.
        """
        parts = urlsplit(self.base_url)
        return f"{(parts.hostname or '').lower()}{parts.path}"

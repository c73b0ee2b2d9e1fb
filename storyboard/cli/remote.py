"""The shared remote cache on the command line: ``--remote URL`` and ``STORYBOARD_REMOTE``.

Owns: the flag, where the URL comes from (the flag wins over the environment variable; an
empty value means none), turning a bad URL into a one-line input error (exit 2) and building
the local cache with the remote behind it. Part of the command-line layer; imported by the
``render`` and ``cache`` commands only.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from storyboard.errors import ConfigError, Issue
from storyboard.store.cache import Cache
from storyboard.store.remote import RemoteCache, check_url
from storyboard.store.tiered import TieredCache

__all__ = ["REMOTE_ENV", "add_remote", "open_cache", "open_remote", "remote_summary"]

REMOTE_ENV = "STORYBOARD_REMOTE"


def add_remote(p: argparse.ArgumentParser, *, env: bool = True) -> None:
    where = f" (default: ${REMOTE_ENV})" if env else ""
    p.add_argument(
        "--remote", metavar="URL",
        help=f"shared remote cache: s3://bucket/prefix, gs://..., az://... or file:///path{where}",
    )  # fmt: skip


def open_remote(args: argparse.Namespace, *, env: bool = True) -> RemoteCache | None:
    """The remote cache `args` (or, with `env`, STORYBOARD_REMOTE) names; None when none.

    Only the URL is checked here (ConfigError, exit 2); the remote is contacted on first use.
    """
    flag: str | None = getattr(args, "remote", None)
    source, url = ("--remote", flag) if flag is not None else (REMOTE_ENV, os.environ.get(REMOTE_ENV) if env else None)
    if url is None or not url.strip():
        return None
    try:
        check_url(url)
    except ValueError as exc:
        raise ConfigError([Issue(source, 0, 0, "", str(exc))]) from None
    return RemoteCache(url)


def open_cache(root: Path, args: argparse.Namespace, *, env: bool = True) -> TieredCache:
    """The local cache at `root` with the remote cache `args` names (if any) behind it."""
    remote = open_remote(args, env=env)  # a bad URL is an input error before anything else
    return TieredCache(Cache(root), remote)


def remote_summary(cache: TieredCache) -> str | None:
    """What a render did with the remote cache, in one line (None without a remote)."""
    if cache.remote is None:
        return None
    state = "" if cache.remote.available else " (unreachable: used the local cache only)"
    return f"remote cache {cache.remote.url}: {cache.pulled} pulled, {cache.pushed} pushed{state}"

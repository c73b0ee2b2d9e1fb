"""Fetching one result file (clip or last frame) completely, or not at all.

Owns: streaming a URL into a part file next to the destination (``.<dest name>.<random>.part``,
unique to this download: two processes fetching one file never share a part), checking the byte
count against Content-Length / Content-Range, resuming a cut-off transfer with ``Range`` (or
starting over when the server ignores it), bounded retries, and the atomic move into place. It
does not decide headers (the client decides whether a host may see the token) nor how long to
back off (the caller's ``pause``). Must not import the client, the emulator or the models.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from storyboard.errors import DownloadError

__all__ = ["DOWNLOAD_TIMEOUT", "download_file"]

# Reads time out per chunk, not per file, so a long read timeout only bounds a stalled peer.
DOWNLOAD_TIMEOUT = httpx.Timeout(120.0, connect=10.0)
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")

log = logging.getLogger(__name__)


@dataclass
class _Progress:
    """How far the transfer got: bytes in the part file, and the full size once known."""

    offset: int = 0
    total: int | None = None


def download_file(
    http: httpx.Client,
    url: str,
    dest: Path,
    *,
    headers: Mapping[str, str] | None = None,
    max_retries: int = 4,
    pause: Callable[[int], None] = lambda attempt: None,
) -> int:
    """Download ``url`` to ``dest`` and return the number of bytes written.

    Up to ``max_retries`` further attempts follow a failed one (``pause(attempt)`` runs
    before each). ``dest`` appears only when complete; on failure the partial file is
    removed and ``DownloadError`` says how far it got.
    """
    where = _short(url)
    if urlsplit(url).scheme not in ("http", "https"):
        raise DownloadError(f"cannot download {where}: not an http(s) URL")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")  # never another's, never stale
    progress = _Progress()
    failure, status = "", 0
    try:
        for attempt in range(max_retries + 1):
            if attempt:
                log.info("download %s: retry %d/%d after: %s", where, attempt, max_retries, failure)
                pause(attempt - 1)
            try:
                failure, status = _attempt(http, url, part, progress, headers)
            except httpx.TransportError as exc:
                progress.offset = part.stat().st_size if part.exists() else 0
                failure, status = f"{type(exc).__name__} at byte {progress.offset}", 0
                continue
            if not failure:
                _finish(part, dest)
                return progress.offset
            if status and not _retryable(status):
                break
    finally:
        # Whatever ends the download early (gave up, disk full, Ctrl-C) leaves no part behind.
        part.unlink(missing_ok=True)
    got = f"{progress.offset} bytes"
    if progress.total is not None:
        got = f"{progress.offset} of {progress.total} bytes"
    raise DownloadError(
        f"could not download {where}: {failure} (got {got} after {attempt + 1} attempt(s))",
        status=status,
    )


def _attempt(
    http: httpx.Client,
    url: str,
    part: Path,
    progress: _Progress,
    headers: Mapping[str, str] | None,
) -> tuple[str, int]:
    """One GET, appending to ``part``; returns (failure or "", HTTP error status or 0)."""
    # identity: Content-Length must count the bytes we store, not a compressed form.
    request_headers = {"Accept-Encoding": "identity", **(headers or {})}
    if progress.offset:
        request_headers["Range"] = f"bytes={progress.offset}-"
    with http.stream("GET", url, headers=request_headers, timeout=DOWNLOAD_TIMEOUT, follow_redirects=True) as resp:
        if resp.status_code == 206 and progress.offset:
            start, progress.total = _content_range(resp, progress.offset)
            if start != progress.offset:  # a range we did not ask for: only a restart is safe
                return _restart(part, progress, f"server sent a range from byte {start}"), 0
        elif resp.status_code == 200:
            if progress.offset:
                log.info("download %s: server ignored Range, starting over", _short(url))
            progress.offset, progress.total = 0, _expected_length(resp)
        elif resp.status_code == 416 and progress.offset:
            return _restart(part, progress, "server refused the resume range"), 0
        else:
            return resp.reason_phrase or "error", resp.status_code
        with part.open("r+b" if progress.offset else "wb") as fh:
            fh.seek(progress.offset)
            fh.truncate()
            # No chunk size: bytes are written as they arrive, so a cut loses none of them.
            for chunk in resp.iter_bytes():
                fh.write(chunk)
                progress.offset += len(chunk)
            fh.flush()
            os.fsync(fh.fileno())
    total = progress.total
    if total is not None and progress.offset > total:
        return _restart(part, progress, f"got {progress.offset} bytes, more than {total}"), 0
    if total is not None and progress.offset < total:
        return f"transfer cut off at byte {progress.offset} of {total}", 0
    return "", 0


def _content_range(resp: httpx.Response, offset: int) -> tuple[int, int | None]:
    """(first byte, full size) of a 206 answer; without Content-Range, trust Content-Length."""
    match = _CONTENT_RANGE.fullmatch(resp.headers.get("content-range", "").strip())
    if match:
        size = None if match.group(3) == "*" else int(match.group(3))
        return int(match.group(1)), size
    length = _expected_length(resp)
    return offset, None if length is None else offset + length


def _expected_length(resp: httpx.Response) -> int | None:
    """Content-Length, when it counts the bytes we store (no compression applied)."""
    if resp.headers.get("content-encoding", "identity").strip().lower() != "identity":
        return None
    value = resp.headers.get("content-length", "").strip()
    return int(value) if value.isdigit() else None


def _restart(part: Path, progress: _Progress, why: str) -> str:
    part.unlink(missing_ok=True)
    progress.offset, progress.total = 0, None
    return why


def _retryable(status: int) -> bool:
    # Result CDNs answer 403/404 for expired or wrong URLs: retrying cannot help.
    return status in (408, 429) or status >= 500


def _finish(part: Path, dest: Path) -> None:
    # The bytes are fsynced above; the rename becomes durable when the cache commits the entry
    # (its meta.json write syncs the entry's folder), so a staging rename needs no sync of its own.
    os.replace(part, dest)


def _short(url: str) -> str:
    """The URL without query or fragment: signed CDN URLs carry credentials in the query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"

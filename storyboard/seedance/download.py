"""Fetching one result file (clip or last frame) completely, or not at all.

Owns: streaming a URL into a part file next to the destination (``.<dest name>.<random>.part``,
unique to this download: two processes fetching one file never share a part), checking the byte
count against Content-Length / Content-Range, resuming a cut-off transfer with ``Range`` (or
starting over when the server ignores it), bounded retries, and the atomic move into place; the
limits (a byte cap, a total deadline, a bounded number of redirects, each one's target checked
by ``url_check``, and stopping as soon as ``cancelled()`` says so); and ``url_problem``, what
makes a URL unfit to download (not http(s), malformed, or private when that is not allowed).
Every failure, whatever the network answered, is a one-line ``DownloadError``. It does not
decide headers (the client decides whether a host may see the token) nor how long to back off
(the caller's ``pause``). Must not import the client, the emulator or the models.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from storyboard.errors import DownloadError
from storyboard.seedance.limits import DOWNLOAD_DEADLINE, MAX_RESULT_BYTES

__all__ = ["DOWNLOAD_TIMEOUT", "MAX_REDIRECTS", "download_file", "url_problem"]

# Reads time out per chunk, not per file, so a long read timeout only bounds a stalled peer.
DOWNLOAD_TIMEOUT = httpx.Timeout(120.0, connect=10.0)
MAX_REDIRECTS = 5
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")

log = logging.getLogger(__name__)


@dataclass
class _Progress:
    """How far the transfer got: bytes in the part file, and the full size once known."""

    offset: int = 0
    total: int | None = None


@dataclass(frozen=True)
class _Limits:
    """What one download may take: bytes, a monotonic end time, redirects, a stop signal."""

    max_bytes: int
    deadline: float  # seconds, for the message
    ends_at: float  # time.monotonic() value
    max_redirects: int
    url_check: Callable[[str], str | None]
    cancelled: Callable[[], bool]

    def check(self) -> None:
        if self.cancelled():
            raise _GiveUp("stopped (the render was interrupted)")
        if time.monotonic() >= self.ends_at:
            raise _GiveUp(f"did not finish within {self.deadline:g} s")

    def timeout(self) -> httpx.Timeout:
        left = max(0.001, self.ends_at - time.monotonic())
        return httpx.Timeout(min(DOWNLOAD_TIMEOUT.read or left, left), connect=min(10.0, left))


class _GiveUp(Exception):
    """A failure no retry can mend (a limit reached, a refused URL, a lying server)."""


def url_problem(url: str, *, allow_private: bool) -> str | None:
    """Why ``url`` must not be downloaded, or None: not http(s), malformed, or (unless
    ``allow_private``) pointing at a loopback, link-local, private or otherwise non-public address."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when out of range
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "not an http(s) URL"
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return "not a valid URL (no host)"
    if not allow_private and _internal(host):
        return "not a public address (loopback, link-local or private network)"
    return None


def _internal(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        try:  # the legacy forms a resolver still takes: 2130706433, 127.1, 0x7f.0.0.1
            ip = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return False  # a name (resolved later by the HTTP client)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def download_file(
    http: httpx.Client,
    url: str,
    dest: Path,
    *,
    headers: Mapping[str, str] | None = None,
    max_retries: int = 4,
    pause: Callable[[int], None] = lambda attempt: None,
    max_bytes: int = MAX_RESULT_BYTES,
    deadline: float = DOWNLOAD_DEADLINE,
    max_redirects: int = MAX_REDIRECTS,
    url_check: Callable[[str], str | None] = lambda url: url_problem(url, allow_private=True),
    cancelled: Callable[[], bool] = lambda: False,
) -> int:
    """Download ``url`` to ``dest`` and return the number of bytes written.

    Up to ``max_retries`` further attempts follow a failed one (``pause(attempt)`` runs
    before each). ``dest`` appears only when complete; on failure the partial file is
    removed and ``DownloadError`` says how far it got. More than ``max_bytes``, more than
    ``deadline`` seconds in all, more than ``max_redirects`` redirects, a URL (or redirect
    target) ``url_check`` names a problem with, or ``cancelled()`` end it at once.
    """
    where = _short(url)
    problem = url_check(url)
    if problem:
        raise DownloadError(f"cannot download {where}: {problem}")
    limits = _Limits(max_bytes, deadline, time.monotonic() + deadline, max_redirects, url_check, cancelled)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")  # never another's, never stale
    progress = _Progress()
    failure, status = "", 0
    try:
        for attempt in range(max_retries + 1):
            try:
                if attempt:
                    log.info("download %s: retry %d/%d after: %s", where, attempt, max_retries, failure)
                    pause(attempt - 1)
                limits.check()
                failure, status = _attempt(http, url, part, progress, headers, limits)
            except httpx.TransportError as exc:
                progress.offset = part.stat().st_size if part.exists() else 0
                failure, status = f"{type(exc).__name__} at byte {progress.offset}", 0
                if time.monotonic() >= limits.ends_at:  # the read timed out on the deadline
                    failure = f"did not finish within {deadline:g} s ({failure})"
                    break
                continue
            except httpx.DecodingError as exc:
                failure, status = f"the body does not match its Content-Encoding ({_line(exc)})", 0
                break
            except httpx.TooManyRedirects:
                failure, status = f"too many redirects (more than {max_redirects})", 0
                break
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                failure, status = f"{type(exc).__name__}: {_line(exc)}", 0
                break
            except _GiveUp as exc:
                failure, status = str(exc), 0
                break
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
    limits: _Limits,
) -> tuple[str, int]:
    """One GET (following redirects), appending to ``part``; returns (failure or "", HTTP
    error status or 0). Raises ``_GiveUp`` when a limit is reached."""
    # identity: Content-Length must count the bytes we store, not a compressed form.
    request_headers = {"Accept-Encoding": "identity", **(headers or {})}
    if progress.offset:
        request_headers["Range"] = f"bytes={progress.offset}-"
    for _hop in range(limits.max_redirects + 1):
        with http.stream("GET", url, headers=request_headers, timeout=limits.timeout()) as resp:
            location = resp.headers.get("location")
            if not (resp.is_redirect and location):
                return _receive(resp, part, progress, limits)
            target = urljoin(str(resp.url), location)
        problem = limits.url_check(target)
        if problem:
            raise _GiveUp(f"redirected to {_short(target)}: {problem}")
        if _origin(target) != _origin(url):  # credentials stay with the origin they were meant for
            request_headers = {k: v for k, v in request_headers.items() if k.lower() != "authorization"}
        url = target
        limits.check()
    raise _GiveUp(f"too many redirects (more than {limits.max_redirects})")


def _receive(resp: httpx.Response, part: Path, progress: _Progress, limits: _Limits) -> tuple[str, int]:
    """Store the body of a final (non-redirect) answer; see ``_attempt``."""
    url = str(resp.url)
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
    if progress.total is not None and progress.total > limits.max_bytes:
        raise _GiveUp(f"the file has {progress.total} bytes, more than {limits.max_bytes} bytes (the limit)")
    with part.open("r+b" if progress.offset else "wb") as fh:
        fh.seek(progress.offset)
        fh.truncate()
        # No chunk size: bytes are written as they arrive, so a cut loses none of them.
        for chunk in resp.iter_bytes():
            if progress.offset + len(chunk) > limits.max_bytes:
                raise _GiveUp(f"the server sent more than {limits.max_bytes} bytes (the limit)")
            fh.write(chunk)
            progress.offset += len(chunk)
            limits.check()
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
    try:
        parts = urlsplit(url)
    except ValueError:
        return repr(url.split("?")[0][:200])
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)  # only for URLs url_problem accepted: the port is valid
    return parts.scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(parts.scheme)


def _line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__

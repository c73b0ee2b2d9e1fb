"""What a running emulator's HTTP handler shares with its server object, behind public methods.

Owns: ``EmulatorState`` (the task store, the fault budget, the request log, the stats counters,
the bearer token check, the address the server listens on and so the URLs of its own files, and
the lookup of the files it serves) and ``FILE_NAME`` (the names those files may have).
``server.py`` creates one for each ``Emulator`` and hands it to ``routes.py``'s handler: the
routes never see the server object, and neither side reaches into the other's private state.

Must not import anything from the package except ``storyboard.seedance.capabilities`` (via its
siblings), and nothing from the client: the emulator is written from docs/protocol.md.
"""

from __future__ import annotations

import hmac
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .faults import FaultSpec, FaultState, parse_faults
from .requestlog import RequestLog
from .taskstore import TaskStore

__all__ = ["FILE_NAME", "EmulatorState"]

FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_COUNTERS = (
    "requests", "creates", "creates_rejected", "creates_rate_limited", "creates_invalid", "polls",
    "polls_rejected", "retrieve_batch", "retrieve_batch_ids", "retrieve_batch_max_ids", "downloads",
    "downloads_dropped", "unauthorized", "callbacks", "callbacks_failed",
)  # fmt: skip


class EmulatorState:
    """The tasks, faults, request log, counters and files of one emulator; safe from many threads.

    ``token``: the only bearer accepted (any when None); ``max_body``: the largest request body
    in bytes; ``request_log``: JSON-lines file mirroring ``requests``; ``strict``: refuse the
    create fields the service ignores (``service_tier``); the rest configures the ``TaskStore``.
    ``listen_at`` must be called once the server is bound, before it serves.
    """

    def __init__(
        self,
        *,
        files_dir: Path,
        latency: float,
        token: str | None,
        faults: FaultSpec,
        request_log: Path | None,
        max_body: int,
        limits: bool,
        rate: tuple[int, float] | None,
        strict: bool = False,
    ) -> None:
        self.files_dir = files_dir
        self.max_body = max_body
        self.strict = strict
        self._token = token
        self._faults = FaultState(faults)
        self._log = RequestLog(request_log)
        self._counts: dict[str, int] = {}
        self._counts_lock = threading.Lock()
        self._host, self._port, self._url = "", 0, ""
        self.tasks = TaskStore(latency=latency, files_dir=files_dir, file_url=self.file_url,
                               local_file=self.local_file, faults=self._faults, count=self.count,
                               limits=limits, rate=rate)  # fmt: skip

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request logged so far, oldest first (the live list, appended to as they come)."""
        return self._log.records

    def listen_at(self, host: str, port: int, url: str) -> None:
        """Where the server is bound: ``url`` prefixes its file URLs, ``host:port`` recognises them."""
        self._host, self._port, self._url = host, port, url

    def close(self) -> None:
        """Stop the task workers and close the request log file."""
        self.tasks.stop()
        self._log.close()

    # -- requests, counters --------------------------------------------------------------

    def log_request(self, method: str, path: str, status: int, body: Any) -> None:
        """Record one request (``status`` 0: the connection was dropped without an answer)."""
        self._log.add(method, path, status, body)

    def authorize(self, header: str | None) -> str | None:
        """The error code for this Authorization header, or None when it is accepted."""
        if not header:
            return "no_token"
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "invalid_token"
        if self._token is not None and not hmac.compare_digest(token.strip(), self._token):
            return "invalid_token"
        return None

    def authorize_control(self, header: str | None) -> str | None:
        """Like ``authorize`` for ``/_emulator/*``: open to anyone unless a token was set."""
        return None if self._token is None else self.authorize(header)

    def count(self, name: str, n: int = 1) -> None:
        """Add ``n`` to the counter ``name`` (one of the keys of ``stats()``)."""
        with self._counts_lock:
            self._counts[name] = self._counts.get(name, 0) + n

    def note_batch(self, ids: int) -> None:
        """Count a retrieve_batch of ``ids`` ids: ``retrieve_batch_max_ids`` keeps the largest."""
        with self._counts_lock:
            self._counts["retrieve_batch_max_ids"] = max(self._counts.get("retrieve_batch_max_ids", 0), ids)

    def stats(self) -> dict[str, Any]:
        """Counts of requests by kind and of tasks by status, and the faults left."""
        with self._counts_lock:
            out: dict[str, Any] = {name: self._counts.get(name, 0) for name in _COUNTERS}
        out["tasks"] = self.tasks.status_counts()
        out["faults_left"] = self._faults.remaining()
        return out

    # -- faults --------------------------------------------------------------------------

    def take_fault(self, name: str) -> bool:
        """Spend one fault of this kind if any is left; True when the request must fault."""
        return self._faults.take(name)

    def faults_left(self) -> dict[str, object]:
        """The remaining fault budget."""
        return self._faults.remaining()

    def set_faults(self, faults: str | FaultSpec) -> None:
        """Replace the remaining fault budget (ValueError for a bad spec)."""
        self._faults.replace(parse_faults(faults) if isinstance(faults, str) else faults)

    # -- files ---------------------------------------------------------------------------

    def file_url(self, name: str) -> str:
        """The URL under which the stored file ``name`` is served."""
        return f"{self._url}/files/{name}"

    def served_file(self, name: str) -> Path | None:
        """The stored file ``GET /files/<name>`` serves; None for a bad name or a missing file."""
        path = self.files_dir / name
        if not FILE_NAME.match(name) or name.startswith(".") or not path.is_file():
            return None
        return path

    def local_file(self, url: str) -> Path | None:
        """The stored file an image URL names, when the URL points at this emulator."""
        parts = urlsplit(url)
        own_hosts = {self._host, "127.0.0.1", "localhost"}
        if parts.hostname not in own_hosts or parts.port != self._port:
            return None
        name = parts.path.removeprefix("/files/")
        return None if name == parts.path else self.served_file(name)

"""The emulator's server object: configuration, lifecycle, auth decision, stats.

Owns: ``Emulator`` (bind, start/stop/serve_forever, the token check, the fault budget, the
request log, the stats counters, which URLs name its own files). The HTTP routes live in
``routes.py``.

Must not import anything from the package except ``storyboard.capabilities`` (via its
siblings), and nothing from the client: the emulator is written from the reference.
"""

from __future__ import annotations

import hmac
import shutil
import tempfile
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .faults import FaultSpec, FaultState, parse_faults
from .requestlog import RequestLog
from .routes import FILE_NAME, Handler
from .tasks import TaskStore

__all__ = ["DEFAULT_MAX_BODY", "Emulator"]

DEFAULT_MAX_BODY = 64 * 1024 * 1024  # §9: "Request body ≤ 64 MB"
_POLL = 0.05  # seconds between shutdown checks: stop() returns quickly


class Emulator:
    """An offline AceData SeeDance server on a loopback port.

    ``latency``: seconds a task runs before it ends; ``token``: the only bearer accepted (any
    when None); ``faults``: see ``faults.py``; ``request_log``: JSON-lines file of requests;
    ``workdir``: where clips and frames go (a temporary directory, removed on stop, if None);
    ``max_body``: create/poll bodies above this many bytes get 413; ``limits``: apply the
    models' concurrency (extra tasks wait, pending) and requests-per-minute (429) of §11.3;
    ``rate``: (N, W) replaces every model's RPM by "N creates per W seconds", so tests and
    benchmarks can exercise the limit with time scaled down.
    """

    url: str
    requests: list[dict[str, Any]]

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.3,
        token: str | None = None,
        faults: str | FaultSpec = "",
        request_log: Path | None = None,
        workdir: Path | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        limits: bool = True,
        rate: tuple[int, float] | None = None,
    ) -> None:
        self.host, self.port, self.max_body = host, port, max_body
        self._token = token
        self._faults = FaultState(parse_faults(faults) if isinstance(faults, str) else faults)
        self._log = RequestLog(request_log)
        self.requests = self._log.records
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="storyboard-emulator-")
        self.workdir = Path(workdir or self._tmp.name)  # type: ignore[union-attr]
        self.files_dir = self.workdir / "files"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self._counts: dict[str, int] = {}
        self._counts_lock = threading.Lock()
        self.tasks = TaskStore(latency=latency, files_dir=self.files_dir, file_url=self._file_url,
                               local_file=self._local_file, faults=self._faults,
                               count=self.count, limits=limits, rate=rate)  # fmt: skip
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._close_lock = threading.Lock()
        self.url = ""

    def __repr__(self) -> str:  # no token in here, ever
        return f"Emulator(url={self.url or 'not started'!r}, latency={self.tasks.latency})"

    # -- lifecycle -----------------------------------------------------------------------

    def _bind(self) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        server.emulator = self  # type: ignore[attr-defined]
        self.port = server.server_address[1]
        shown = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        self.url = f"http://{shown}:{self.port}"
        self._server = server
        return server

    def start(self) -> Emulator:
        """Serve in a background daemon thread; returns self."""
        server = self._bind()
        self._thread = threading.Thread(target=server.serve_forever, args=(_POLL,), name="emulator",
                                        daemon=True)  # fmt: skip
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until KeyboardInterrupt, then shut down cleanly."""
        server = self._bind()
        try:
            server.serve_forever(_POLL)
        except KeyboardInterrupt:
            pass
        finally:
            self._close()

    def stop(self) -> None:
        """Stop serving (from any thread), finish with the workers, remove a temporary workdir."""
        server = self._server
        if server is not None:
            server.shutdown()
        if self._thread is not None:
            self._thread.join()
        self._close()

    def _close(self) -> None:
        with self._close_lock:
            if self._server is not None:
                self._server.server_close()
                self._server = None
            self.tasks.stop()
            self._log.close()
            if self._tmp is not None:
                shutil.rmtree(self._tmp.name, ignore_errors=True)
                self._tmp = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- state shared with the handler ---------------------------------------------------

    def set_faults(self, faults: str | FaultSpec) -> None:
        """Replace the remaining fault budget (ValueError for a bad spec)."""
        self._faults.replace(parse_faults(faults) if isinstance(faults, str) else faults)

    def count(self, name: str, n: int = 1) -> None:
        with self._counts_lock:
            self._counts[name] = self._counts.get(name, 0) + n

    def stats(self) -> dict[str, Any]:
        """Counts of requests by kind and of tasks by status (also ``GET /_emulator/stats``)."""
        names = ("requests", "creates", "creates_rejected", "creates_rate_limited", "creates_invalid", "polls",
                 "polls_rejected", "retrieve_batch", "retrieve_batch_ids", "retrieve_batch_max_ids",
                 "downloads", "downloads_dropped", "unauthorized", "callbacks", "callbacks_failed")  # fmt: skip
        with self._counts_lock:
            out: dict[str, Any] = {name: self._counts.get(name, 0) for name in names}
        out["tasks"] = self.tasks.status_counts()
        out["faults_left"] = self._faults.remaining()
        return out

    def _max_batch(self, n: int) -> None:
        with self._counts_lock:
            self._counts["retrieve_batch_max_ids"] = max(self._counts.get("retrieve_batch_max_ids", 0), n)

    def _file_url(self, name: str) -> str:
        return f"{self.url}/files/{name}"

    def _local_file(self, url: str) -> Path | None:
        """The stored file an image URL names, when the URL points at this emulator."""
        parts = urlsplit(url)
        own_hosts = {self.host, "127.0.0.1", "localhost"}
        if parts.hostname not in own_hosts or parts.port != self.port:
            return None
        name = parts.path.removeprefix("/files/")
        if name == parts.path or not FILE_NAME.match(name):
            return None
        path = self.files_dir / name
        return path if path.is_file() else None

    def _authorized(self, header: str | None) -> str | None:
        """The error code for this Authorization header, or None when it is accepted."""
        if not header:
            return "no_token"
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "invalid_token"
        if self._token is not None and not hmac.compare_digest(token.strip(), self._token):
            return "invalid_token"
        return None

"""The emulator's server object: configuration and lifecycle.

Owns: ``Emulator`` (the work directory, bind, start/stop/serve_forever, and the public face of
its ``EmulatorState``: stats, request log, faults). The state the HTTP handler shares (tasks,
faults, request log, counters, token check, file lookup) lives in ``state.py``; the HTTP routes
live in ``routes.py``, which gets that state and never this object.

Must not import anything from the package except ``storyboard.seedance.capabilities`` (via its
siblings), and nothing from the client: the emulator is written from docs/protocol.md (the §
numbers below refer to it).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .faults import FaultSpec, parse_faults
from .routes import make_server
from .state import EmulatorState
from .taskstore import TaskStore

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
    benchmarks can exercise the limit with time scaled down; ``strict``: refuse the create
    fields the service ignores (``service_tier``, §1.2) instead of ignoring them too.
    """

    url: str
    requests: list[dict[str, Any]]
    tasks: TaskStore

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
        strict: bool = False,
    ) -> None:
        self.host, self.port = host, port
        spec = parse_faults(faults) if isinstance(faults, str) else faults
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="storyboard-emulator-")
            workdir = Path(self._tmp.name)
        self.workdir = Path(workdir)
        self.files_dir = self.workdir / "files"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self._state = EmulatorState(files_dir=self.files_dir, latency=latency, token=token, faults=spec,
                                    request_log=request_log, max_body=max_body, limits=limits,
                                    rate=rate, strict=strict)  # fmt: skip
        self.tasks = self._state.tasks
        self.requests = self._state.requests
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._close_lock = threading.Lock()
        self.url = ""

    def __repr__(self) -> str:  # no token in here, ever
        return f"Emulator(url={self.url or 'not started'!r}, latency={self.tasks.latency})"

    # -- lifecycle -----------------------------------------------------------------------

    def _bind(self) -> ThreadingHTTPServer:
        server = make_server((self.host, self.port), self._state)
        self.port = server.server_address[1]
        shown = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        self.url = f"http://{shown}:{self.port}"
        self._state.listen_at(self.host, self.port, self.url)
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
            self._state.close()
            if self._tmp is not None:
                shutil.rmtree(self._tmp.name, ignore_errors=True)
                self._tmp = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the state shared with the handler ------------------------------------------------

    @property
    def max_body(self) -> int:
        """Create/poll bodies above this many bytes get 413."""
        return self._state.max_body

    @property
    def strict(self) -> bool:
        """True when create fields the service ignores (``service_tier``) are refused."""
        return self._state.strict

    def set_faults(self, faults: str | FaultSpec) -> None:
        """Replace the remaining fault budget (ValueError for a bad spec)."""
        self._state.set_faults(faults)

    def count(self, name: str, n: int = 1) -> None:
        """Add ``n`` to the stats counter ``name``."""
        self._state.count(name, n)

    def stats(self) -> dict[str, Any]:
        """Counts of requests by kind and of tasks by status (also ``GET /_emulator/stats``)."""
        return self._state.stats()

"""The emulator's HTTP server: routes, auth, error bodies, file downloads, stats.

Owns: ``Emulator`` (configuration, start/stop, stats) and the request handler speaking the
AceData protocol of seedance-api.md: ``POST /seedance/videos`` (§1), ``POST /seedance/tasks``
(§2), the error shape and codes (§4), ``GET /files/<name>`` with Range support (the CDN the
result URLs point at), and the emulator's own ``GET /_emulator/stats`` and
``POST /_emulator/faults`` (``{"spec": "create429=1"}`` replaces the remaining faults).

Must not import anything from the package except ``storyboard.capabilities`` (via its
siblings), and nothing from the client: the emulator is written from the reference.
"""

from __future__ import annotations

import hmac
import json
import re
import shutil
import socket
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .faults import FaultSpec, FaultState, parse_faults
from .requestlog import RequestLog
from .tasks import TaskStore
from .validate import BadRequest, validate_create

__all__ = ["DEFAULT_MAX_BODY", "Emulator"]

DEFAULT_MAX_BODY = 64 * 1024 * 1024  # §9: "Request body ≤ 64 MB"
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 64 * 1024
_POLL = 0.05  # seconds between shutdown checks: stop() returns quickly
_MESSAGES = {
    "bad_request": (400, "Bad request."),
    "no_token": (400, "No token specified for the request."),
    "invalid_token": (401, "The specified token is invalid or wrong."),
    "no_api": (404, "API does not exist, please make sure url is correct."),
    "not_found": (404, "The specified task ID was not found."),
    "request_too_large": (413, "Request body is too large."),
    "too_many_requests": (429, "You have exceeded the rate limit."),
    "api_error": (500, "Internal server error."),
}
_CONTENT_TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime", ".png": "image/png"}


class Emulator:
    """An offline AceData SeeDance server on a loopback port (see the module docstring)."""

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
                               count=self.count)  # fmt: skip
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._close_lock = threading.Lock()
        self.url = ""

    def __repr__(self) -> str:  # no token in here, ever
        return f"Emulator(url={self.url or 'not started'!r}, latency={self.tasks.latency})"

    # -- lifecycle -----------------------------------------------------------------------

    def _bind(self) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer((self.host, self.port), _Handler)
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
        names = ("requests", "creates", "creates_rejected", "creates_invalid", "polls",
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
        if name == parts.path or not _FILE_NAME.match(name):
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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients can reuse connections
    server_version = "storyboard-emulator"
    sys_version = ""

    @property
    def emu(self) -> Emulator:
        return self.server.emulator  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # the request log replaces this
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # -- plumbing ------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        self.trace_id = str(uuid.uuid4())
        self.logged_body: Any = None
        self.status = 0  # 0 in the log: the connection was dropped without an answer
        path = urlsplit(self.path).path
        self.emu.count("requests")
        try:
            self._route(method, path)
        finally:
            self.emu._log.add(method, path, self.status, self.logged_body)

    def _route(self, method: str, path: str) -> None:
        routes = {
            ("POST", "/seedance/videos"): self._create,
            ("POST", "/seedance/tasks"): self._tasks,
            ("GET", "/_emulator/stats"): lambda: self._json(200, self.emu.stats()),
            ("POST", "/_emulator/faults"): self._set_faults,
        }
        if (method, path) in routes:
            routes[(method, path)]()
        elif method in ("GET", "HEAD") and path.startswith("/files/"):
            self._file(path.removeprefix("/files/"), head=method == "HEAD")
        else:
            self._drain(int(self.headers.get("Content-Length") or 0))
            self._error("no_api")

    def _json(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.status = status
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-trace-id", self.trace_id)
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, code: str, message: str | None = None) -> None:
        status, default = _MESSAGES[code]
        error = {"code": code, "message": message or default}
        self._json(status, {"success": False, "error": error, "trace_id": self.trace_id})

    def _drain(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(length, 1024 * 1024))
            if not chunk:
                break
            length -= len(chunk)

    def _body(self, *, authenticated: bool = True) -> tuple[bool, Any]:
        """Read the JSON body after the gateway checks (size, auth); (ok, body or None)."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.emu.max_body:
            self._drain(length)
            self.close_connection = True
            self._error("request_too_large")
            return False, None
        raw = self.rfile.read(length) if length else b""
        try:
            self.logged_body = json.loads(raw) if raw else None
        except ValueError:
            self.logged_body = raw[:200].decode(errors="replace")
        if authenticated:
            problem = self.emu._authorized(self.headers.get("Authorization"))
            if problem is not None:
                self.emu.count("unauthorized")
                self._error(problem)
                return False, None
        if not raw or isinstance(self.logged_body, str):
            self._error("bad_request", "the request body is not valid JSON.")
            return False, None
        return True, self.logged_body

    def _drop(self) -> None:
        """Close the connection without answering (a fault)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- routes --------------------------------------------------------------------------

    def _create(self) -> None:
        ok, body = self._body()
        if not ok:
            self.emu.count("creates_invalid")
            return
        faults = self.emu._faults
        if faults.take("dropcreate"):
            self.emu.count("creates_rejected")
            return self._drop()
        for fault, code in (("create429", "too_many_requests"), ("create500", "api_error")):
            if faults.take(fault):
                self.emu.count("creates_rejected")
                return self._error(code)
        try:
            job = validate_create(body)
        except BadRequest as exc:
            self.emu.count("creates_invalid")
            return self._error("bad_request", str(exc))
        self.emu.count("creates")
        task = self.emu.tasks.create(job, body, self.trace_id)
        if job.is_async:
            return self._json(200, {"success": True, "task_id": task.id, "trace_id": self.trace_id})
        if self.emu.tasks.wait(task):  # synchronous mode (§1.4): answer with the final result
            assert task.response is not None
            self._json(task.http_status, task.response)
        else:
            self._drop()

    def _tasks(self) -> None:
        ok, body = self._body()
        if not ok:
            return
        faults = self.emu._faults
        for fault, code in (("poll429", "too_many_requests"), ("poll500", "api_error")):
            if faults.take(fault):
                self.emu.count("polls_rejected")
                return self._error(code)
        if not isinstance(body, dict):
            return self._error("bad_request", "the request body must be a JSON object.")
        action = body.get("action", "retrieve")
        if action == "retrieve":
            task_id = body.get("id")
            if not isinstance(task_id, str) or not task_id:
                return self._error("bad_request", "id is required (a task id string).")
            self.emu.count("polls")
            record = self.emu.tasks.get(task_id)
            return self._json(200, record) if record else self._error("not_found")
        if action == "retrieve_batch":
            ids = body.get("ids")
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                return self._error("bad_request", "ids is required (an array of task id strings).")
            self.emu.count("retrieve_batch")
            self.emu.count("retrieve_batch_ids", len(ids))
            self.emu._max_batch(len(ids))
            items = [r for r in map(self.emu.tasks.get, ids) if r is not None]
            return self._json(200, {"items": items, "count": len(items)})
        self._error("bad_request", "action must be retrieve or retrieve_batch.")

    def _set_faults(self) -> None:
        ok, body = self._body(authenticated=False)
        if not ok:
            return
        spec = body.get("spec") if isinstance(body, dict) else None
        if not isinstance(spec, str):
            return self._error("bad_request", 'expected {"spec": "<faults spec>"}.')
        try:
            self.emu.set_faults(spec)
        except ValueError as exc:
            return self._error("bad_request", str(exc))
        self._json(200, {"success": True, "faults_left": self.emu._faults.remaining()})

    def _file(self, name: str, *, head: bool) -> None:
        path = self.emu.files_dir / name
        if not _FILE_NAME.match(name) or name.startswith(".") or not path.is_file():
            return self._error("not_found", "The specified file was not found.")
        size = path.stat().st_size
        start, end = 0, size - 1
        status = 200
        wanted = self.headers.get("Range")
        if wanted:
            span = _parse_range(wanted, size)
            if span is None:
                self.status = 416
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.send_header("x-trace-id", self.trace_id)
                self.end_headers()
                return
            (start, end), status = span, 206
        length = end - start + 1
        self.status = status
        self.send_response(status)
        self.send_header("Content-Type", _CONTENT_TYPES.get(path.suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("x-trace-id", self.trace_id)
        self.end_headers()
        if head:
            return
        self.emu.count("downloads")
        cut = self.emu._faults.take("dropdl")
        budget = length // 2 if cut else length
        with path.open("rb") as f:
            f.seek(start)
            while budget > 0:
                chunk = f.read(min(_CHUNK, budget))
                if not chunk:
                    break
                self.wfile.write(chunk)
                budget -= len(chunk)
        if cut:
            self.emu.count("downloads_dropped")
            self.wfile.flush()
            self._drop()


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single ``bytes=`` range, or None when it cannot be served."""
    match = _RANGE.match(header.strip())
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":  # suffix range: the last N bytes
        n = int(last)
        return (max(0, size - n), size - 1) if n > 0 and size > 0 else None
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    return (start, end) if start <= end and start < size else None

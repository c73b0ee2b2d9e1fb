"""The emulator's HTTP routes: the AceData SeeDance protocol on the wire.

Owns: the request handler for ``POST /seedance/videos`` (docs/protocol.md §1: faults, validation,
async/callback/sync modes), ``POST /seedance/tasks`` (§2: retrieve, retrieve_batch), the error
body and codes (§4), ``GET|HEAD /files/<name>`` with single Range requests (the CDN the result
URLs point at; ``dropdl`` cuts it), ``GET /_emulator/stats`` and ``POST /_emulator/faults``
(``{"spec": "create429=1"}`` replaces the remaining faults); those two need the bearer token
when one is set. Every request is logged once,
before its answer is sent. ``make_server`` binds a threading HTTP server whose handlers get the
emulator's ``EmulatorState`` (``state.py``), the one thing they share with the server object.

Must not import anything from the package except ``storyboard.seedance.capabilities`` (via its
siblings), and nothing from the client: the emulator is written from docs/protocol.md.
"""

from __future__ import annotations

import functools
import json
import re
import socket
import socketserver
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .state import EmulatorState
from .validate import BadRequest, validate_create

__all__ = ["Handler", "make_server"]

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 64 * 1024
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


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients can reuse connections
    # Headers and body go out in two writes; with Nagle on, a keep-alive client's delayed ACK
    # would stall every answer by ~40 ms.
    disable_nagle_algorithm = True
    server_version = "storyboard-emulator"
    sys_version = ""

    def __init__(
        self,
        request: socket.socket,
        client_address: tuple[str, int],
        server: socketserver.BaseServer,
        *,
        state: EmulatorState,
    ) -> None:
        self.state = state  # before the base class, which handles the request in its __init__
        super().__init__(request, client_address, server)

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
        self.method_path = (method, path)
        self.recorded = False
        self.state.count("requests")
        try:
            self._route(method, path)
        finally:
            self._record()

    def _record(self) -> None:
        """Log the request once, before its answer is sent: whoever has the answer sees the record."""
        if not self.recorded:
            self.recorded = True
            self.state.log_request(*self.method_path, self.status, self.logged_body)

    def _route(self, method: str, path: str) -> None:
        routes = {
            ("POST", "/seedance/videos"): self._create,
            ("POST", "/seedance/tasks"): self._tasks,
            ("GET", "/_emulator/stats"): lambda: self._json(200, self.state.stats()),
            ("POST", "/_emulator/faults"): self._set_faults,
        }
        if (method, path) in routes:
            if path.startswith("/_emulator/") and not self._control_allowed():
                return
            routes[(method, path)]()
        elif method in ("GET", "HEAD") and path.startswith("/files/"):
            self._file(path.removeprefix("/files/"), head=method == "HEAD")
        else:
            self._drain(max(self._length(), 0))
            self._error("no_api")

    def _json(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.status = status
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-trace-id", self.trace_id)
        self._record()
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, code: str, message: str | None = None) -> None:
        status, default = _MESSAGES[code]
        error = {"code": code, "message": message or default}
        self._json(status, {"success": False, "error": error, "trace_id": self.trace_id})

    def _length(self) -> int:
        """The declared body length; -1 when the header is not a number."""
        try:
            return int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return -1

    def _drain(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(length, 1024 * 1024))
            if not chunk:
                break
            length -= len(chunk)

    def _body(self, *, authenticated: bool = True) -> tuple[bool, Any]:
        """Read the JSON body after the gateway checks (size, auth); (ok, body or None)."""
        length = self._length()
        if length < 0:
            self.close_connection = True
            self._error("bad_request", "Content-Length is not a number.")
            return False, None
        if length > self.state.max_body:
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
            problem = self.state.authorize(self.headers.get("Authorization"))
            if problem is not None:
                self.state.count("unauthorized")
                self._error(problem)
                return False, None
        if not raw or isinstance(self.logged_body, str):
            self._error("bad_request", "the request body is not valid JSON.")
            return False, None
        return True, self.logged_body

    def _control_allowed(self) -> bool:
        """The control endpoints need the token when one is set (anyone may call them otherwise)."""
        problem = self.state.authorize_control(self.headers.get("Authorization"))
        if problem is None:
            return True
        self._drain(max(self._length(), 0))
        self.state.count("unauthorized")
        self._error(problem)
        return False

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
            self.state.count("creates_invalid")
            return
        if self.state.take_fault("dropcreate"):
            self.state.count("creates_rejected")
            return self._drop()
        for fault, code in (("create429", "too_many_requests"), ("create500", "api_error")):
            if self.state.take_fault(fault):
                self.state.count("creates_rejected")
                return self._error(code)
        try:
            job = validate_create(body, strict=self.state.strict)
        except BadRequest as exc:
            self.state.count("creates_invalid")
            return self._error("bad_request", str(exc))
        if not self.state.tasks.admit(job.model):
            self.state.count("creates_rate_limited")
            return self._error("too_many_requests")
        self.state.count("creates")
        task = self.state.tasks.create(job, body, self.trace_id)
        if job.is_async:
            return self._json(200, {"success": True, "task_id": task.id, "trace_id": self.trace_id})
        if self.state.tasks.wait(task):  # synchronous mode (§1.4): answer with the final result
            assert task.response is not None
            self._json(task.http_status, task.response)
        else:
            self._drop()

    def _tasks(self) -> None:
        ok, body = self._body()
        if not ok:
            return
        for fault, code in (("poll429", "too_many_requests"), ("poll500", "api_error")):
            if self.state.take_fault(fault):
                self.state.count("polls_rejected")
                return self._error(code)
        if not isinstance(body, dict):
            return self._error("bad_request", "the request body must be a JSON object.")
        action = body.get("action", "retrieve")
        if action == "retrieve":
            task_id = body.get("id")
            if not isinstance(task_id, str) or not task_id:
                return self._error("bad_request", "id is required (a task id string).")
            self.state.count("polls")
            record = self.state.tasks.get(task_id)
            return self._json(200, record) if record else self._error("not_found")
        if action == "retrieve_batch":
            ids = body.get("ids")
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                return self._error("bad_request", "ids is required (an array of task id strings).")
            self.state.count("retrieve_batch")
            self.state.count("retrieve_batch_ids", len(ids))
            self.state.note_batch(len(ids))
            items = [r for r in map(self.state.tasks.get, ids) if r is not None]
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
            self.state.set_faults(spec)
        except ValueError as exc:
            return self._error("bad_request", str(exc))
        self._json(200, {"success": True, "faults_left": self.state.faults_left()})

    def _file(self, name: str, *, head: bool) -> None:
        path = self.state.served_file(name)
        if path is None:
            return self._error("not_found", "The specified file was not found.")
        size = path.stat().st_size
        start, end = 0, size - 1
        status = 200
        # One "bytes=" range is served; anything else is ignored (the whole file, 200), as
        # RFC 9110 allows. A well-formed range past the end is 416.
        wanted = _RANGE.match((self.headers.get("Range") or "").strip())
        if wanted and (wanted.group(1) or wanted.group(2)):
            span = _span(wanted.group(1), wanted.group(2), size)
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
        self._record()
        self.end_headers()
        if head:
            return
        self.state.count("downloads")
        cut = self.state.take_fault("dropdl")
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
            self.state.count("downloads_dropped")
            self.wfile.flush()
            self._drop()


def make_server(address: tuple[str, int], state: EmulatorState) -> ThreadingHTTPServer:
    """A threading HTTP server bound to ``address`` (not yet serving) whose handlers use ``state``."""
    server = ThreadingHTTPServer(address, functools.partial(Handler, state=state))
    server.daemon_threads = True
    return server


def _span(first: str, last: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte of ``bytes=first-last`` in a file of ``size``; None: unsatisfiable."""
    if first == "":  # suffix range: the last N bytes
        n = int(last)
        return (max(0, size - n), size - 1) if n > 0 and size > 0 else None
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    return (start, end) if start <= end and start < size else None

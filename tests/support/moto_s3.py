"""A real S3 API for tests: moto in server mode on 127.0.0.1, on a free port.

``MotoS3`` runs the server (moto's own ``ThreadedMotoServer``, with the WSGI app wrapped so a
test can see every request and hold one: "store this PUT, then stall until released" — how a
test kills a process in the middle of a push). ``bucket()`` makes a fresh bucket per test;
``env()`` points botocore at the server the standard way (AWS_ENDPOINT_URL and keys), exactly as
a user would for MinIO or R2.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from moto.server import DomainDispatcherApplication, ThreadedMotoServer, create_backend_app
from werkzeug.serving import make_server

KEY_ID, SECRET = "test-access-key-id", "test-secret-access-key-0d9f"
REGION = "us-east-1"

Hold = Callable[[str, str], bool]
"""(method, path) -> True to store the request and then stall its answer until released."""


class _Server(ThreadedMotoServer):
    def __init__(self, owner: MotoS3) -> None:
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self.owner = owner

    def _server_entry(self) -> None:  # moto's, with our middleware around the app
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(self._ip_address, self._port, self.owner.middleware(app), True)
        self._server_ready_event.set()
        self._server.serve_forever()


class MotoS3:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.hold: Hold | None = None
        self.held = threading.Event()  # set once a held request was stored
        self.release = threading.Event()
        self._server = _Server(self)

    def start(self) -> MotoS3:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.stop()

    def middleware(self, app: Any) -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
        def wrapped(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
            self.requests.append((method, path))
            body = list(app(environ, start_response))  # the request is stored from here on
            if self.hold is not None and self.hold(method, path):
                self.held.set()
                self.release.wait(timeout=60)
            return body

        return wrapped

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
            region_name=REGION,
        )  # fmt: skip

    def bucket(self) -> str:
        name = f"team-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL", self.endpoint)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)

    def keys(self, bucket: str) -> list[str]:
        listed = self.client().list_objects_v2(Bucket=bucket)
        return sorted(o["Key"] for o in listed.get("Contents", []))

"""The emulator's request log: one JSON record per request, in memory and optionally on disk.

Owns: the record shape (``ts, method, path, status, body``), shortening of base64 data URIs
(bodies can carry megabytes of images; the log keeps a hash and a size instead), and the
append-only JSON-lines file. Headers are never logged, so a bearer token cannot leak here.
Must not import anything from the package.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["RequestLog", "shorten"]


def _short_data_uri(uri: str) -> str:
    head, _, payload = uri.partition(";base64,")
    try:
        raw = binascii.a2b_base64(payload)
    except (binascii.Error, ValueError):
        raw = payload.encode()
    digest = hashlib.sha256(raw).hexdigest()[:12]
    return f"{head};base64,<sha256:{digest}… {len(raw)} bytes>"


def shorten(value: Any) -> Any:
    """A copy of a JSON value with every base64 data URI replaced by hash + size."""
    if isinstance(value, str):
        if value.startswith("data:") and ";base64," in value[:100]:
            return _short_data_uri(value)
        return value
    if isinstance(value, dict):
        return {k: shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shorten(v) for v in value]
    return value


class RequestLog:
    """Thread-safe list of request records, mirrored as JSON lines to ``path`` when given."""

    def __init__(self, path: Path | None) -> None:
        self.records: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._file = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")

    def add(self, method: str, path: str, status: int, body: Any) -> dict[str, Any]:
        record = {
            "ts": round(time.time(), 3),
            "method": method,
            "path": path,
            "status": status,
            "body": shorten(body),
        }
        line = json.dumps(record, ensure_ascii=False)
        with self._lock:
            self.records.append(record)
            if self._file is not None:
                self._file.write(line + "\n")
                self._file.flush()
        return record

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

"""One API request whose whole answer must arrive within a deadline, and not be endless.

Owns: ``post_within``. httpx's read timeout bounds each read, not the answer: a server that
drips a byte every few seconds would hold a create or a poll for ever. Here the answer's bytes
must all arrive within ``timeout.read`` seconds in all (else ``httpx.ReadTimeout``, which the
client treats like any read timeout, "may have been submitted" for a create), and at most
``MAX_ANSWER_BYTES`` of them (else ``httpx.DecodingError``: an answer no client can read).
Must not import the client, the emulator or anything outside seedance but the errors.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

__all__ = ["MAX_ANSWER_BYTES", "post_within"]

MAX_ANSWER_BYTES = 16 * 1024 * 1024  # a batch of 50 task records is a few hundred kB


def post_within(
    http: httpx.Client, url: str, payload: Any, headers: Mapping[str, str], timeout: httpx.Timeout
) -> httpx.Response:
    """POST ``payload`` as JSON and return the answer, read whole (see the module docstring)."""
    limit = timeout.read if timeout.read is not None else 30.0
    ends = time.monotonic() + limit
    with http.stream("POST", url, json=payload, headers=headers, timeout=timeout) as resp:
        body, size = [], 0
        for chunk in resp.iter_bytes():  # a false Content-Encoding raises httpx.DecodingError
            body.append(chunk)
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise httpx.DecodingError(f"an answer of more than {MAX_ANSWER_BYTES} bytes", request=resp.request)
            if time.monotonic() > ends:
                raise httpx.ReadTimeout(f"no complete answer within {limit:g} s", request=resp.request)
        # the decoded body, without the headers that described its encoded form
        framing = ("content-encoding", "content-length", "transfer-encoding")
        kept = [(k, v) for k, v in resp.headers.multi_items() if k.lower() not in framing]
        return httpx.Response(resp.status_code, headers=kept, content=b"".join(body), request=resp.request)

"""Type and range checks of request-body fields, and the error they raise.

Owns: ``BadRequest`` (a body that breaks a documented rule; its ``str()`` is the 400
``bad_request`` message, docs/protocol.md §4.2), the scalar field checks and the base64 data-URI
split (§9: ``data:<kind>/<format>;base64,``, format in lower case) that ``validate`` and
``references`` share, so both word their messages the same way.

Must not import anything from the package (the emulator may import only
``storyboard.seedance.capabilities``, and this module needs nothing of it).
"""

from __future__ import annotations

import binascii
from typing import Any

__all__ = ["BadRequest", "check_bool", "check_int", "check_str", "data_uri"]


class BadRequest(Exception):
    """The body breaks a documented rule; ``str()`` is the 400 message."""


def check_int(body: dict[str, Any], name: str, lo: int, hi: int, *, label: str = "") -> int | None:
    """``body[name]`` as an integer in [lo, hi], or None when absent; ``label`` prefixes the name."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(f"{label}{name} must be an integer.")
    if not lo <= value <= hi:
        raise BadRequest(f"{label}{name} must be between {lo} and {hi} (got {value}).")
    return value


def check_bool(body: dict[str, Any], name: str) -> bool | None:
    """``body[name]`` as a boolean, or None when absent."""
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise BadRequest(f"{name} must be a boolean (true or false).")
    return value


def check_str(body: dict[str, Any], name: str, choices: tuple[str, ...] | None = None) -> str | None:
    """``body[name]`` as a string (one of ``choices`` when given), or None when absent."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string.")
    if choices is not None and value not in choices:
        raise BadRequest(f"{name} must be one of {', '.join(choices)} (got {value!r}).")
    return value


def data_uri(uri: str, kind: str, formats: tuple[str, ...], where: str) -> tuple[str, bytes]:
    """(format, bytes) of ``data:<kind>/<format>;base64,<data>`` with a format from ``formats``."""
    head, sep, payload = uri.partition(";base64,")
    fmt = head.removeprefix(f"data:{kind}/")
    if not sep or not head.startswith(f"data:{kind}/") or not fmt:
        raise BadRequest(f"{where} must look like data:{kind}/<format>;base64,<data>.")
    if fmt != fmt.lower():
        raise BadRequest(f"{where}: the {kind} format in a data URI must be lowercase ({fmt!r}).")
    if fmt not in formats:
        raise BadRequest(f"{where}: {kind} format {fmt!r} is not supported ({', '.join(formats)}).")
    try:
        return fmt, binascii.a2b_base64(payload)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{where}: the data URI is not valid base64.") from None

"""Opaque page cursors: where the next page of a listing starts.

A cursor is base64url JSON holding the position (``o``: rows to skip, or
``a``: the last referring domain of a one-per-domain page) and ``s``, a
digest of the listing it belongs to (endpoint, target, filters), so a
cursor handed to another listing is refused rather than misread.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable
from typing import Any

__all__ = ["MAX_CURSOR_LENGTH", "decode_cursor", "encode_cursor", "listing_scope"]

#: Longer cursor texts are refused before decoding.
MAX_CURSOR_LENGTH = 512


def listing_scope(parts: Iterable[Any]) -> str:
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def encode_cursor(scope: str, *, offset: int | None = None, after: str | None = None) -> str:
    position: dict[str, Any] = {"s": scope}
    if after is not None:
        position["a"] = after
    else:
        position["o"] = offset or 0
    raw = json.dumps(position, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str | None, scope: str) -> dict[str, Any]:
    """The position a cursor holds (``{}`` for none); ValueError for a
    cursor that is malformed or belongs to another listing."""
    if not text:
        return {}
    if len(text) > MAX_CURSOR_LENGTH:
        raise ValueError("cursor too long")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        position = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("malformed cursor") from None
    if not isinstance(position, dict) or position.get("s") != scope:
        raise ValueError("the cursor belongs to another listing")
    offset, after = position.get("o"), position.get("a")
    if after is not None and isinstance(after, str):
        return {"after": after}
    if isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0:
        return {"offset": offset}
    raise ValueError("malformed cursor")

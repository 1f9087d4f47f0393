"""Compact JSON serialization of requests on the shared queue.

scrapy-redis pickles requests by default; pickle on a queue that several
machines read lets any writer run code on every reader. ``Request.to_dict``
gives plain data (callbacks by name), which JSON carries; fields still at
their default are left out, which keeps a queued request near 100 bytes.
Used through ``SCHEDULER_SERIALIZER = "backlinkbot.frontier.serializer"``.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps", "loads"]

_DEFAULTS: dict[str, Any] = {
    "headers": {},
    "body": b"",
    "cookies": {},
    "meta": {},
    "encoding": "utf-8",
    "flags": [],
    "cb_kwargs": {},
    "dont_filter": False,
    "method": "GET",
    "priority": 0,
    "errback": None,
    "callback": None,
}


def _text(value: Any) -> Any:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def dumps(obj: dict[str, Any]) -> bytes:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key in _DEFAULTS and value == _DEFAULTS[key]:
            continue
        if key == "body":
            value = _text(value)
        elif key == "headers":
            value = {_text(k): [_text(v) for v in vs] for k, vs in value.items()}
        out[key] = value
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def loads(data: bytes | str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(data)
    if isinstance(obj.get("body"), str):
        obj["body"] = obj["body"].encode("latin-1")
    return obj

"""JSON serialization of requests on the shared queue (``SCHEDULER_SERIALIZER``).

Pickle on a queue that several machines read would let any writer run code
on every reader. Requests travel as ``Request.to_dict`` data (callbacks by
name), fields at their default left out.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrapy import Request, Spider

__all__ = ["dumps", "loads", "request_to_dict"]

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
_MISSING = object()


def _text(value: Any) -> Any:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _method_name(spider: Spider | None, func: Any) -> Any:
    """The spider method's name for ``func`` (None / a name pass through);
    ``_MISSING`` when ``func`` is not a public method of ``spider``."""
    if func is None or isinstance(func, str):
        return func
    name = getattr(func, "__name__", None)
    if (
        spider is not None
        and name
        and getattr(func, "__self__", None) is spider
        and getattr(spider, name, None) == func
    ):
        return name
    return _MISSING


def request_to_dict(request: Request, spider: Spider | None = None) -> dict[str, Any]:
    """``request.to_dict(spider=spider)``, fast for callbacks that are spider
    methods (Scrapy's own path handles every other case)."""
    callback = _method_name(spider, request.callback)
    errback = _method_name(spider, request.errback)
    if callback is _MISSING or errback is _MISSING or type(request).__name__ != "Request":
        return request.to_dict(spider=spider)
    out: dict[str, Any] = {"url": request.url, "callback": callback, "errback": errback}
    for attr in request.attributes:
        if attr not in out:
            out[attr] = getattr(request, attr)
    out["headers"] = dict(request.headers)
    return out


def dumps(obj: dict[str, Any]) -> bytes:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        default = _DEFAULTS.get(key, _MISSING)
        if default is not _MISSING and value == default:
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

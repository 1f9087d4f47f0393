"""Checks on the documents written to MongoDB, field by field.

The sink calls :func:`validate_link_document` / :func:`validate_page_document`
on every document it builds and skips (and counts) one that fails, so that
nothing malformed reaches downstream readers, whatever a hostile page put
in the crawl. The checks follow docs/SCHEMA.md: types, URL length and
scheme, the known ``kind`` and ``section`` values, text without NUL
characters or lone surrogates, and times as timezone-aware UTC datetimes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from backlinkbot.items import KINDS, SECTIONS

__all__ = ["MAX_URL_LENGTH", "InvalidDocument", "validate_link_document", "validate_page_document"]

#: DESIGN.md "URL normalization", rule 7.
MAX_URL_LENGTH = 2048
_MAX_TEXT = 4096
#: str.isspace() in one search: re's \s is the same Unicode whitespace test.
_WHITESPACE = re.compile(r"\s")


class InvalidDocument(ValueError):
    """A document that must not be stored; ``field`` names the culprit."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def _text(
    doc: Mapping[str, Any], field: str, *, optional: bool = False, limit: int = _MAX_TEXT
) -> None:
    value = doc.get(field)
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise InvalidDocument(field, f"expected str, got {type(value).__name__}")
    if len(value) > limit:
        raise InvalidDocument(field, f"longer than {limit} characters")
    if "\x00" in value:
        raise InvalidDocument(field, "contains NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidDocument(field, "not encodable as UTF-8 (lone surrogate)") from None


def _url(doc: Mapping[str, Any], field: str, *, optional: bool = False) -> None:
    _text(doc, field, optional=optional, limit=MAX_URL_LENGTH)
    value = doc.get(field)
    if value is not None and not value.startswith(("http://", "https://")):
        raise InvalidDocument(field, "not an http(s) URL")


def _host(doc: Mapping[str, Any], field: str) -> None:
    _text(doc, field, limit=255)
    if not doc[field] or _WHITESPACE.search(doc[field]):
        raise InvalidDocument(field, "empty or contains whitespace")


def _bool(doc: Mapping[str, Any], field: str) -> None:
    if not isinstance(doc.get(field), bool):
        raise InvalidDocument(field, f"expected bool, got {type(doc.get(field)).__name__}")


def _time(doc: Mapping[str, Any], field: str, *, optional: bool = False) -> None:
    value = doc.get(field)
    if value is None and optional:
        return
    if not isinstance(value, datetime):
        raise InvalidDocument(field, f"expected datetime, got {type(value).__name__}")
    if value.utcoffset() != timedelta(0):
        raise InvalidDocument(field, "not an aware UTC datetime")


def _int(
    doc: Mapping[str, Any], field: str, *, optional: bool = False, low: int = 0, high: int = 2**31
) -> None:
    value = doc.get(field)
    if value is None and optional:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidDocument(field, f"expected int in [{low}, {high}], got {value!r}")


def validate_link_document(doc: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidDocument` unless ``doc`` is a valid ``links``
    document (times optional: an update may carry only some of them)."""
    for field in ("src", "dst"):
        _url(doc, field)
    for field in ("src_host", "dst_host", "src_domain", "dst_domain"):
        _host(doc, field)
    _text(doc, "anchor", limit=256)
    _text(doc, "alt", limit=_MAX_TEXT)
    for field in ("image", "nofollow", "ugc", "sponsored"):
        _bool(doc, field)
    if doc.get("kind") not in KINDS:
        raise InvalidDocument("kind", f"unknown kind {doc.get('kind')!r}")
    if doc.get("section", "body") not in SECTIONS:
        raise InvalidDocument("section", f"unknown section {doc.get('section')!r}")
    _text(doc, "src_ip", optional=True, limit=64)
    for field in ("first_seen", "last_seen", "lost_at"):
        _time(doc, field, optional=True)


def validate_page_document(doc: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidDocument` unless ``doc`` is a valid ``pages``
    document."""
    _url(doc, "url")
    _host(doc, "host")
    _host(doc, "domain")
    _int(doc, "status", optional=True, low=100, high=999)
    _text(doc, "content_type", limit=255)
    _time(doc, "fetched_at")
    _time(doc, "first_fetched", optional=True)
    _url(doc, "redirect_to", optional=True)
    _text(doc, "ip", optional=True, limit=64)
    _text(doc, "error", optional=True, limit=255)
    for field in ("nofollow", "noindex"):
        if field in doc:
            _bool(doc, field)
    for field in ("links_out", "links_external", "links_rejected", "links_truncated"):
        _int(doc, field, optional=True)

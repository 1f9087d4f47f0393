"""The query of a URL written on a page in a legacy encoding, encoded as browsers do.

The URL Standard parses an href with the document's encoding: the query of an
http(s) URL is percent-encoded from that encoding, while host and path are
always UTF-8 ("percent-encode after encoding"). A character the encoding
lacks becomes the escaped character reference ``%26%23<code point>%3B``.
:func:`encode_query` applies that to the query of an href before it goes to
a UTF-8-only parser, leaving ASCII alone, so the parser sees only escapes
there.

>>> encode_query("/p?q=café#café", query_codec("windows-1252"))
'/p?q=caf%E9#café'
>>> encode_query("/p?q=☃", query_codec("windows-1252"))
'/p?q=%26%239731%3B'
"""

from __future__ import annotations

import codecs
from functools import lru_cache

from w3lib.encoding import resolve_encoding

__all__ = ["encode_query", "query_codec"]

# Bytes the encoder writes that the special-query percent-encode set of the
# URL Standard escapes: C0 controls, space, '"', "#", "'", "<", ">" (and all
# non-ASCII bytes). Only stateful encoders (ISO-2022-JP) write ASCII bytes
# for non-ASCII characters.
_ESCAPED_ASCII = frozenset(range(0x21)) | frozenset(b"\"#'<>\x7f")
_ESCAPE = tuple(f"%{b:02X}" if b >= 0x80 or b in _ESCAPED_ASCII else chr(b) for b in range(256))


@lru_cache(maxsize=256)
def query_codec(label: str | None) -> str | None:
    """The Python codec browsers would encode a query with, for a page
    decoded as ``label`` (an encoding label or codec name); ``None`` where
    that is UTF-8.

    Labels are resolved as Scrapy resolves a page's encoding (w3lib, after
    the WHATWG Encoding Standard: ``latin1`` is windows-1252, ``shift_jis``
    is cp932). UTF-16 and UTF-32 pages, unknown labels and UTF-8 give
    ``None``: the URL Standard's "get an output encoding" turns UTF-16 into
    UTF-8.

    >>> query_codec("Shift_JIS"), query_codec("utf8"), query_codec("utf-16le")
    ('cp932', None, None)
    """
    if not label:
        return None
    name = resolve_encoding(label)
    if name is None or name.startswith(("utf-8", "utf-16", "utf-32", "utf_")):
        return None
    try:
        "a".encode(name)
    except (LookupError, UnicodeError):  # pragma: no cover - resolve_encoding checked it
        return None
    return codecs.lookup(name).name


def _encode_run(run: str, codec: str) -> str:
    """Non-ASCII ``run`` encoded with ``codec`` and percent-encoded."""
    out: list[str] = []
    while run:
        try:
            data = run.encode(codec)
        except UnicodeEncodeError as error:
            data = run[: error.start].encode(codec)
            out.extend(_ESCAPE[b] for b in data)
            out.extend(f"%26%23{ord(ch)}%3B" for ch in run[error.start : error.end])
            run = run[error.end :]
            continue
        out.extend(_ESCAPE[b] for b in data)
        break
    return "".join(out)


def _query_span(url: str) -> tuple[int, int] | None:
    """Where the query of ``url`` lies: it starts at the first ``?`` unless a
    ``#`` comes first, and ends at the next ``#``. The URL Standard's parser
    splits a URL so in every state, whatever the scheme."""
    start = url.find("?")
    if start < 0:
        return None
    end = url.find("#")
    if end < 0:
        return start + 1, len(url)
    return None if end < start else (start + 1, end)


def _encode(query: str, codec: str) -> str:
    """The non-ASCII runs of ``query`` encoded, the ASCII left as it is."""
    # Lone surrogates become U+FFFD first, as in any URL input (USVString).
    query = query.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    out: list[str] = []
    run_start = -1
    for i, ch in enumerate(query):
        if ch >= "\x80":
            if run_start < 0:
                run_start = i
        elif run_start < 0:
            out.append(ch)
        else:
            out.append(_encode_run(query[run_start:i], codec))
            out.append(ch)
            run_start = -1
    if run_start >= 0:
        out.append(_encode_run(query[run_start:], codec))
    return "".join(out)


def encode_query(url: str, codec: str | None) -> str:
    """``url`` (an href as written) with the non-ASCII characters of its
    query encoded by ``codec`` (from :func:`query_codec`) and percent-encoded.

    Whether the URL turns out special (the encoding then applies) is the
    caller's to check.
    """
    if codec is None or url.isascii():
        return url
    span = _query_span(url)
    if span is None or url[span[0] : span[1]].isascii():
        return url
    start, end = span
    return f"{url[:start]}{_encode(url[start:end], codec)}{url[end:]}"

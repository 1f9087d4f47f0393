"""The target URL of a ``<meta http-equiv=refresh>``, parsed as browsers do.

This is the HTML Standard's "shared declarative refresh steps" (HTML,
"Pragma directives", refresh state), up to the point where the URL
string would be parsed: what it returns is the URL as written, for the
normalizer to resolve.
"""

from __future__ import annotations

__all__ = ["parse_refresh"]

# HTML's "ASCII whitespace": TAB, LF, FF, CR, SPACE (Infra standard).
_WS = "\t\n\f\r "
_DIGITS = "0123456789"
_C0_OR_SPACE = "".join(map(chr, range(0x21)))


def _skip(s: str, i: int, chars: str) -> int:
    n = len(s)
    while i < n and s[i] in chars:
        i += 1
    return i


def parse_refresh(content: str) -> tuple[int, str | None] | None:
    """Parse a refresh ``content`` into ``(seconds, url)``.

    ``None`` when browsers ignore the element; ``url`` is ``None`` when the
    page refreshes itself (no URL given, or an empty one).

    >>> parse_refresh("5; URL='/next'")
    (5, '/next')
    >>> parse_refresh("0;/next")
    (0, '/next')
    >>> parse_refresh("3")
    (3, None)
    >>> parse_refresh("soon; url=/x") is None
    True
    """
    delay = _delay(content)
    if delay is None:
        return None
    seconds, i = delay
    return seconds, _url(content, i)


def _delay(s: str) -> tuple[int, int] | None:
    """The steps up to the URL: ``(seconds, where the URL part starts)``,
    or ``None`` when the content is to be ignored."""
    n = len(s)
    start = _skip(s, 0, _WS)
    i = _skip(s, start, _DIGITS)
    if i > start:
        # Browsers clamp absurd delays; keep the number finite and small.
        seconds = int(s[start:i][:10])
    elif i < n and s[i] == ".":
        seconds = 0  # a time like ".5" is 0 seconds
    else:
        return None
    i = _skip(s, i, _DIGITS + ".")
    if i < n and s[i] not in ";," + _WS:
        return None
    return seconds, i


def _url(s: str, i: int) -> str | None:
    """The URL as written after the delay, or ``None`` for the page itself."""
    i = _skip(s, i, _WS)
    if s[i : i + 1] in (";", ","):
        i += 1
    i = _skip(s, i, _WS)
    if i >= len(s):
        return None
    url = _strip_prefix(s, i)
    # The URL parser strips leading and trailing C0 controls and spaces; an
    # empty URL resolves to the document itself: a refresh, not a link.
    if not url.strip(_C0_OR_SPACE):
        return None
    return url


def _strip_prefix(s: str, i: int) -> str:
    """From ``s[i:]``: an optional ``url`` and ``=`` (ASCII case-insensitive),
    then an optional quote, cut at its partner. The steps jump to "parse"
    with the whole remainder when the prefix is incomplete."""
    if s[i : i + 3].lower() == "url":
        j = _skip(s, i + 3, _WS)
        if s[j : j + 1] != "=":
            return s[i:]
        i = _skip(s, j + 1, _WS)
    quote = s[i : i + 1]
    if quote not in ("'", '"'):
        return s[i:]
    url = s[i + 1 :]
    end = url.find(quote)
    return url if end < 0 else url[:end]

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
    s = content
    n = len(s)
    i = _skip(s, 0, _WS)
    start = i
    i = _skip(s, i, _DIGITS)
    digits = s[start:i]
    if not digits:
        # A time like ".5" is accepted as 0 seconds; anything else is not.
        if i >= n or s[i] != ".":
            return None
        seconds = 0
    else:
        # Browsers clamp absurd delays; keep the number finite and small.
        seconds = int(digits[:10])
    i = _skip(s, i, _DIGITS + ".")
    if i >= n:
        return seconds, None
    if s[i] not in ";," + _WS:
        return None
    i = _skip(s, i, _WS)
    if i < n and s[i] in ";,":
        i += 1
    i = _skip(s, i, _WS)
    if i >= n:
        return seconds, None
    url = s[i:]
    quote = ""
    # "url=" is optional and case-insensitive; the steps jump to "parse"
    # with the whole remainder when the prefix is incomplete.
    if s[i] in "Uu":
        i += 1
        if i < n and s[i] in "Rr":
            i += 1
            if i < n and s[i] in "Ll":
                i += 1
                i = _skip(s, i, _WS)
                if i < n and s[i] == "=":
                    i += 1
                    i = _skip(s, i, _WS)
                    quote, url = _skip_quotes(s, i)
    else:
        quote, url = _skip_quotes(s, i)
    if quote and quote in url:
        url = url[: url.index(quote)]
    # The URL parser strips leading and trailing C0 controls and spaces; an
    # empty URL resolves to the document itself: a refresh, not a link.
    if not url.strip(
        "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f"
        "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "
    ):
        return seconds, None
    return seconds, url


def _skip_quotes(s: str, i: int) -> tuple[str, str]:
    if i < len(s) and s[i] in "'\"":
        return s[i], s[i + 1 :]
    return "", s[i:]

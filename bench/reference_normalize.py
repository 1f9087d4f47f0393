"""The reference composition of URL normalization, written plainly.

docs/URL_NORMALIZATION.md defines the identity of a page as a composition of
known pieces: WHATWG resolution, then :func:`w3lib.url.canonicalize_url` for
path and query, then a few host, port and query steps. This module writes
that composition in the most obvious way, with the public APIs of ada-url,
w3lib and the standard library and no shortcuts, so that
:mod:`backlinkbot.urlnorm`, which has a fast path, can be checked against it
(tests/test_urlnorm_differential.py) and timed against it
(bench/bench_normalize.py).

It is not used by the crawler.
"""

from __future__ import annotations

from urllib.parse import unquote_plus, urlsplit

from ada_url import URL
from w3lib.url import canonicalize_url

from backlinkbot.urlnorm import InvalidURL

__all__ = ["reference_canonical", "reference_normalize"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRACKING = {"gclid", "fbclid", "msclkid"}


def _usv(text: str) -> str:
    # Lone surrogates become U+FFFD, as a browser's USVString conversion does.
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _whatwg_host(host: str, url: str) -> str:
    # Step 3 drops a trailing dot; what is left is read again as a URL
    # Standard host, because "0x7f.1" (unlike "0x7f.1.") is an IPv4 address.
    try:
        return URL(f"http://{host}/").hostname
    except ValueError:
        raise InvalidURL("unparsable", url) from None


def reference_canonical(href: str) -> str:
    """Steps 2 to 7 on *href*, a URL already resolved per the URL Standard.

    Rejections raise :class:`backlinkbot.urlnorm.InvalidURL`, so that both
    sides can be compared by outcome.
    """
    url = href
    scheme = href.partition(":")[0].lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidURL("scheme", url)
    # Steps 4 and 5: canonicalize_url drops the fragment, and gives the path
    # and the query.
    canonical = urlsplit(canonicalize_url(href))
    # Step 3: lowercase host (urlsplit does that), no trailing dot, no
    # default port, no userinfo.
    host = canonical.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if host.endswith("."):
        host = host.rstrip(".")
        if not host:
            raise InvalidURL("unparsable", url)
        host = _whatwg_host(host, href)
    port = canonical.port
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    # Step 6: drop tracking parameters, compared by their decoded names.
    kept = []
    for field in canonical.query.split("&"):
        name = unquote_plus(field.partition("=")[0])
        if field and not (name.startswith("utm_") or name in _TRACKING):
            kept.append(field)
    query = "&".join(kept)
    result = f"{scheme}://{netloc}{canonical.path}" + (f"?{query}" if query else "")
    # Step 7.
    if len(result) > 2048:
        raise InvalidURL("too_long", url)
    return result


def reference_normalize(url: str, base: str | None = None) -> str:
    """All seven steps: resolve with ada-url, then :func:`reference_canonical`."""
    try:
        href = URL(_usv(url), None if base is None else _usv(base)).href
    except ValueError:
        raise InvalidURL("unparsable", url) from None
    return reference_canonical(href)

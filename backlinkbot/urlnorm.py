"""URL normalization: the identity of a page.

:func:`normalize_url` resolves an href against its base by the WHATWG URL
Standard (ada), keeps http(s) URLs only, and brings scheme, host, port, path
and query to one form, so that two spellings of one page compare equal; its
seven steps are in docs/URL_NORMALIZATION.md. Rejections raise
:class:`InvalidURL`, and nothing else does.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final
from urllib.parse import unquote_to_bytes

# ada's C API rather than its URL class, which makes a foreign call and a
# string copy per attribute read: one parse, one href and one table of
# component offsets is all this module needs.
from ada_url._ada_wrapper import ffi, lib
from w3lib.url import canonicalize_url

from backlinkbot.urlencoding import encode_query, query_codec

__all__ = [
    "MAX_URL_LENGTH",
    "REASONS",
    "TRACKING_PARAMETERS",
    "InvalidURL",
    "normalize_url",
    "normalize_url_cached",
    "resolve_url",
    "url_host",
]

#: Longest normalized URL accepted (step 7); 2,048 is also what
#: sitemaps.org allows for a ``<loc>`` and what most crawlers keep.
MAX_URL_LENGTH: Final = 2048

#: Query parameters dropped by name (step 6), besides ``utm_*``.
TRACKING_PARAMETERS: Final = frozenset({"gclid", "fbclid", "msclkid"})

#: Every value :attr:`InvalidURL.reason` takes.
REASONS: Final = ("unparsable", "scheme", "too_long")

_HTTP: Final = 0  # ada::scheme::type::HTTP
_HTTPS: Final = 2  # ada::scheme::type::HTTPS
# Schemes whose query the URL Standard encodes from the page encoding: the
# special ones but ws and wss (ada's HTTP, HTTPS, FTP and FILE).
_ENCODED_QUERY: Final = frozenset({0, 2, 4, 6})
_OMITTED: Final = 0xFFFFFFFF  # ada::url_components::omitted
_CACHE_SIZE: Final = 1 << 17


class InvalidURL(ValueError):
    """A string that does not name a web page.

    :attr:`reason` is one of :data:`REASONS`: ``"unparsable"`` (the URL
    Standard rejects it, or the host is only dots), ``"scheme"`` (a URL, but
    not ``http`` or ``https``) or ``"too_long"``. :attr:`url` is the input.
    """

    def __init__(self, reason: str, url: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"expected a reason in {REASONS}, got {reason!r}")
        shown = url if len(url) <= 200 else f"{url[:200]}..."
        super().__init__(f"{reason}: {shown!r}")
        self.reason = reason
        self.url = url

    def __reduce__(self) -> tuple[type[InvalidURL], tuple[str, str]]:
        return (InvalidURL, (self.reason, self.url))


def _utf8(text: str) -> bytes:
    try:
        return text.encode()
    except AttributeError:
        raise TypeError(f"expected str, got {type(text).__name__}") from None
    except UnicodeEncodeError:
        # A str with lone surrogates cannot be UTF-8. Browsers convert URL
        # input to a USVString first, which joins surrogate pairs and turns
        # lone surrogates into U+FFFD (WebIDL, "convert to a scalar value
        # string"); UTF-16 with surrogatepass does both.
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace").encode()


def _parse(url: str, base: str | None) -> object:
    """Return an ada URL handle (free it with ``lib.ada_free``), or None."""
    data = _utf8(url)
    if base is None:
        handle = lib.ada_parse(data, len(data))
    else:
        base_data = _utf8(base)
        handle = lib.ada_parse_with_base(data, len(data), base_data, len(base_data))
    if lib.ada_is_valid(handle):
        return handle
    lib.ada_free(handle)
    return None


def _href(handle: object) -> str:
    href = lib.ada_get_href(handle)
    # The href of a parsed URL is ASCII: the URL Standard percent-encodes
    # every non-ASCII code point and serializes hosts with domain to ASCII.
    return ffi.unpack(href.data, href.length).decode("ascii")  # type: ignore[no-any-return]


def resolve_url(url: str, base: str | None = None, *, encoding: str | None = None) -> str:
    """Resolve *url* against *base* per the URL Standard; return the href.

    This is step 1 alone, for any scheme. Leading and trailing C0 controls
    and spaces are stripped and tabs and newlines removed, as the Standard's
    basic URL parser does. *encoding* is the page's (see
    :func:`normalize_url`).

    >>> resolve_url("../c?d#e", "http://EXAMPLE.com/a/b")
    'http://example.com/c?d#e'
    >>> resolve_url("?q=é", "http://example.com/", encoding="latin-1")
    'http://example.com/?q=%E9'
    """
    encoded = encode_query(url, query_codec(encoding)) if encoding else url
    handle = _parse(encoded, base)
    if handle is None:
        raise InvalidURL("unparsable", url)
    try:
        if encoded is not url and lib.ada_get_scheme_type(handle) not in _ENCODED_QUERY:
            # Other schemes take their query in UTF-8 whatever the page's.
            return resolve_url(url, base)
        return _href(handle)
    finally:
        lib.ada_free(handle)


@lru_cache(maxsize=4096)
def _reparse_host(host: str) -> str | None:
    # Dropping the trailing dots can turn a domain into an IPv4 address
    # ("0x7f.1.." is a domain, "0x7f.1" is 127.0.0.1), so the host goes through
    # the URL Standard's host parser once more; without this the result would
    # change when normalized a second time.
    handle = _parse(f"http://{host}/", None)
    if handle is None:
        return None
    try:
        href = _href(handle)
    finally:
        lib.ada_free(handle)
    return href[7:-1]


# What canonicalize_url leaves of a path (w3lib.url, canonicalize_url steps 2
# and 3): it percent-decodes every octet except "%25", "%2F", "%3B" and "%3F",
# then percent-encodes again with upper-case hex every octet outside RFC 3986
# "reserved" and "unreserved", "|" and "%". So a path is already canonical when
# it is made of those characters and of "%XX" escapes that would come back
# unchanged. "#" and "?" never occur in a parsed path; ";" is left out because
# w3lib treats ";" in the last segment as the start of RFC 2396 parameters and
# resolves dot segments before it ("/a/..;x" becomes "/;x").
_PATH_LITERALS: Final = (
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"  # unreserved
    ":/[]@!$&'()*+,="  # reserved, without "?", "#" and ";"
    "|"
)
# And what it leaves of a query (its step 1): it splits at "&", drops empty
# fields, splits each at its first "=", percent-decodes with "+" as space,
# sorts by (key, value) bytes, and percent-encodes each part again keeping
# only "unreserved" as is and writing space as "+".
_QUERY_LITERALS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"


def _escape_pattern(kept: frozenset[int]) -> str:
    """A pattern for "%XX" with upper-case hex, for the octets in *kept*."""
    hexdigits = "0123456789ABCDEF"
    branches = []
    for high in range(16):
        lows = "".join(hexdigits[low] for low in range(16) if high * 16 + low in kept)
        if lows:
            branches.append(f"{hexdigits[high]}[{lows}]")
    return f"%(?:{'|'.join(branches)})"


_PATH_KEPT_ESCAPES: Final = frozenset(
    {octet for octet in range(256) if chr(octet) not in _PATH_LITERALS + ";?%"}
    | {0x25, 0x2F, 0x3B, 0x3F}
)
_QUERY_KEPT_ESCAPES: Final = frozenset(
    octet for octet in range(256) if chr(octet) not in _QUERY_LITERALS + " "
)
# Possessive quantifiers: the alternatives never overlap, and without them a
# failing match of a long path would backtrack exponentially.
_CANONICAL_PATH: Final = re.compile(
    f"(?:[{re.escape(_PATH_LITERALS)}]++|{_escape_pattern(_PATH_KEPT_ESCAPES)})*+"
)
_QUERY_PART: Final = (
    f"(?:[{re.escape(_QUERY_LITERALS)}+]++|{_escape_pattern(_QUERY_KEPT_ESCAPES)})*+"
)
_QUERY_FIELD: Final = f"(?:{_QUERY_PART}={_QUERY_PART})?+"
_CANONICAL_QUERY: Final = re.compile(f"{_QUERY_FIELD}(?:&{_QUERY_FIELD})*+")


def _canonical_path(path: str) -> bool:
    """Whether canonicalize_url leaves this parsed *path* as it is."""
    return _CANONICAL_PATH.fullmatch(path) is not None


def _settle_path(path: str) -> str:
    """Apply canonicalize_url to a canonical *path* until it stops changing.

    One pass is not always enough: w3lib keeps a "%" that starts no escape,
    and decoding what follows it can make a new escape ("%%36%31" gives
    "%61", and that gives "a" on the next pass). Normalization must be
    idempotent, so the path goes through again until it is a fixed point.
    Each further pass only decodes, so the path gets shorter until it stops.
    """
    while not _canonical_path(path):
        settled = canonicalize_url(f"http://h{path}")[8:]
        if settled == path:
            break
        path = settled
    return path


def _decoded_field(field: str) -> tuple[bytes, bytes]:
    key, _, value = field.partition("=")
    return unquote_to_bytes(key.replace("+", " ")), unquote_to_bytes(value.replace("+", " "))


def _canonical_query(query: str) -> list[str] | None:
    """The fields of canonicalize_url's form of *query*, or None if unsure.

    None means *query* is not made of fields canonicalize_url would leave
    as they are; the caller then lets canonicalize_url do the work.
    """
    if "%20" in query:
        # canonicalize_url writes a space as "+". "%20" is always an escape
        # (the hex digits of an escape are never "%"), and if the query holds
        # a "%" that starts none, the pattern below turns it down anyway.
        query = query.replace("%20", "+")
    if _CANONICAL_QUERY.fullmatch(query) is None:
        return None
    fields = [field for field in query.split("&") if field]
    if len(fields) > 1:
        if "%" in query:
            fields.sort(key=_decoded_field)
        else:
            # Without escapes, sorting by (key, value) is sorting "key\0value":
            # keys hold no "=", and "\0" sorts before every other character.
            # "+" (space once decoded) and space both sort below every
            # unreserved character, so the raw "+" orders like the space.
            fields.sort(key=lambda field: field.replace("=", "\0", 1))
    return fields


def _is_tracking(field: str) -> bool:
    # The key of a canonical field is percent-encoded only where needed, so a
    # key that decodes to "utm_x" or "gclid" is spelt exactly like that.
    key = field.partition("=")[0]
    return key.startswith("utm_") or key in TRACKING_PARAMETERS


def _components(url: str, base: str | None) -> tuple[str, bool, tuple[int, ...]]:
    """Steps 1 and 2: ada's href of an http(s) URL, whether it is https, and
    the offsets of host start and end, port, path, query and fragment."""
    handle = _parse(url, base)
    if handle is None:
        raise InvalidURL("unparsable", url)
    try:
        scheme_type = lib.ada_get_scheme_type(handle)
        if scheme_type != _HTTP and scheme_type != _HTTPS:
            raise InvalidURL("scheme", url)
        parts = lib.ada_get_components(handle)
        offsets = (
            parts.host_start,
            parts.host_end,
            parts.port,
            parts.pathname_start,
            parts.search_start,
            parts.hash_start,
        )
        return _href(handle), scheme_type == _HTTPS, offsets
    finally:
        lib.ada_free(handle)


def _host(href: str, start: int, end: int, url: str) -> str:
    """Step 3: the host without userinfo and trailing dots.

    ada has lowercased it, converted an IDN host to punycode (UTS #46 as the
    URL Standard profiles it) and serialized IP addresses canonically.
    """
    if href[start] == "@":
        start += 1  # host_start points at the "@" that ends userinfo
    host = href[start:end]
    if host[-1:] != ".":
        return host
    reparsed = _reparse_host(host.rstrip("."))
    if not reparsed:
        raise InvalidURL("unparsable", url)
    return reparsed


def _resolve(url: str, base: str | None, encoding: str | None) -> tuple[str, str, str]:
    """Steps 1 to 4: ``(scheme://authority, path, query)`` of *url*."""
    encoded = encode_query(url, query_codec(encoding)) if encoding else url
    try:
        href, https, offsets = _components(encoded, base)
    except InvalidURL as exc:
        raise InvalidURL(exc.reason, url) from None
    host_start, host_end, port, path_start, search_start, hash_start = offsets
    host = _host(href, host_start, host_end, url)
    # ada has dropped the default port; the fragment goes.
    origin = f"{'https' if https else 'http'}://{host}"
    if port != _OMITTED:
        origin = f"{origin}:{port}"
    end = len(href) if hash_start == _OMITTED else hash_start
    if search_start == _OMITTED:
        return origin, href[path_start:end], ""
    return origin, href[path_start:search_start], href[search_start + 1 : end]


def _fast_path(path: str, query: str) -> tuple[str, list[str]] | None:
    """Step 5 for a path and query already in canonicalize_url's form (most of
    them): only the query fields need sorting. None for anything else."""
    if not _canonical_path(path):
        return None
    fields = _canonical_query(query) if query else []
    if fields is None:
        return None
    return path, fields


def _fallback(path: str, query: str) -> tuple[str, list[str]]:
    """Step 5 by canonicalize_url itself."""
    # canonicalize_url only looks at the host to lowercase and IDNA-encode it,
    # so a placeholder host makes it work on path and query alone; no path
    # or query ada produces makes it raise.
    canonical = canonicalize_url(f"http://h{path}?{query}" if query else f"http://h{path}")
    path, _, query = canonical[8:].partition("?")
    if "%" in path:
        path = _settle_path(path)
    return path, query.split("&") if query else []


def normalize_url(url: str, base: str | None = None, *, encoding: str | None = None) -> str:
    """Return the normalized form of *url*, resolved against *base*.

    *encoding* is the encoding of the page the href was written on (any
    label, as ``response.encoding``): browsers percent-encode the query
    from it, host and path from UTF-8 (:mod:`backlinkbot.urlencoding`).
    ``None``, UTF-8 or an unknown label mean UTF-8. Raises
    :class:`InvalidURL` when *url* is not a link to a web page.

    >>> normalize_url(" HTTP://User@Bücher.Example.:80/a/./b/../c?utm_source=x&z=1&a=2#top ")
    'http://xn--bcher-kva.example/a/c?a=2&z=1'
    >>> normalize_url("../img/a%7e.png", "https://example.com/news/today/")
    'https://example.com/news/img/a~.png'
    >>> normalize_url("/p?q=café", "http://example.com/", encoding="windows-1252")
    'http://example.com/p?q=caf%E9'
    """
    origin, path, query = _resolve(url, base, encoding)
    path, fields = _fast_path(path, query) or _fallback(path, query)
    # Step 6.
    fields = [field for field in fields if not _is_tracking(field)]
    result = f"{origin}{path}?{'&'.join(fields)}" if fields else f"{origin}{path}"
    # Step 7.
    if len(result) > MAX_URL_LENGTH:
        raise InvalidURL("too_long", url)
    return result


@lru_cache(maxsize=_CACHE_SIZE)
def _normalize_or_reason(url: str, base: str | None, codec: str | None) -> tuple[bool, str]:
    try:
        return True, normalize_url(url, base, encoding=codec)
    except InvalidURL as exc:
        # Keep the reason, not the exception: re-raising one exception object
        # would grow its traceback on every cache hit.
        return False, exc.reason


def normalize_url_cached(url: str, base: str | None = None, *, encoding: str | None = None) -> str:
    """:func:`normalize_url` behind an LRU cache of recent (url, base,
    encoding) triples.

    A crawler meets the same hrefs over and over (navigation, footers), so
    this is what the spider calls. The cache is keyed by
    the part of the base the result depends on (:func:`_base_key`), so the
    same absolute or root-relative link on every page of a site is one
    entry, and by the codec the query is encoded with, which only an href
    with non-ASCII characters depends on.
    A cached rejection raises a new :class:`InvalidURL` with the same reason.
    """
    codec = query_codec(encoding) if encoding and not url.isascii() else None
    ok, value = _normalize_or_reason(url, _base_key(url, base) if base else base, codec)
    if ok:
        return value
    raise InvalidURL(value, url)


#: Where the authority of a special URL ends (the URL Standard, "authority
#: state": a slash, "?", "#" and, for http(s), a backslash).
_AUTHORITY_END: Final = re.compile(r"[/?#\\]")


@lru_cache(maxsize=4096)
def _base_root(base: str) -> str | None:
    """``base`` up to where the parser ends its authority, for a valid
    ``http(s)`` base; the whole of any other valid base; None for an invalid
    one. One lookup per link: every link of a page shares its base."""
    data = _utf8(base)
    if not lib.ada_can_parse(data, len(data)):
        return None
    scheme = base.find("://")
    if scheme < 0 or base[:scheme].lower() not in ("http", "https"):
        return base
    end = _AUTHORITY_END.search(base, scheme + 3)
    return base if end is None else base[: end.start()]


def _base_key(url: str, base: str) -> str | None:
    """The part of ``base`` that resolving ``url`` against it reads.

    Per the URL Standard an ``http(s)://`` URL does not read a valid base
    at all, and one that starts with a slash reads at most the base's
    scheme and authority (the userinfo is then dropped by normalization).
    Anything else, or an invalid base (which fails every resolution), keeps
    the whole base. The part kept is cut where the parser itself ends the
    authority, so it resolves to the same scheme, host and port.

    >>> _base_key("HTTPS://a.example/x", "http://b.example/y")
    >>> _base_key("/p?q", "http://b.example:8080/dir/page?x#y")
    'http://b.example:8080'
    >>> _base_key("p", "http://b.example/dir/page")
    'http://b.example/dir/page'
    """
    absolute = url[:8].lower().startswith(("http://", "https://"))
    if not (absolute or url[:1] == "/"):
        return base
    root = _base_root(base)
    if root is None:
        return base
    return None if absolute else root


def url_host(normalized_url: str) -> str:
    """Return the host of a URL that :func:`normalize_url` returned.

    No parsing: a normalized URL is ``scheme://host[:port]/...`` with no
    userinfo, so the host is what lies between ``//`` and the next ``/``,
    minus the port (an IPv6 host keeps its brackets).

    >>> url_host("https://[2001:db8::1]:8443/x")
    '[2001:db8::1]'
    >>> url_host("http://example.com:8080/")
    'example.com'
    """
    start = normalized_url.find("//") + 2
    if start == 1:
        raise ValueError(f"expected a normalized URL, got {normalized_url!r}")
    end = normalized_url.find("/", start)
    authority = normalized_url[start:] if end == -1 else normalized_url[start:end]
    if authority[:1] == "[":
        return authority[: authority.find("]") + 1]
    return authority.partition(":")[0]

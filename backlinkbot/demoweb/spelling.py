"""Write a normalized URL the many ways a page may spell it.

The generator picks each link's target as a normalized URL first and then
asks :func:`spell` for an ``href`` that a correct normalizer maps back to that
exact URL: relative forms, upper case, default port, trailing dot on the host,
fragments, tracking parameters, unsorted queries, dot segments, Unicode IDN
hosts and surrounding whitespace. A style is a ``+``-joined set of tokens, for
example ``"upper+port+fragment"``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from urllib.parse import SplitResult, urlsplit

__all__ = ["FORMS", "MODIFIERS", "spell"]

#: How the reference is written relative to its base.
FORMS = ("absolute", "protocol", "root", "relative", "sibling", "dotseg")
#: What is added or changed; each one normalizes away.
MODIFIERS = (
    "unsorted",
    "utm",
    "gclid",
    "fbclid",
    "msclkid",
    "fragment",
    "upper",
    "port",
    "dot",
    "idn",
    "space",
)
_DEFAULT_PORT = {"http": ":80", "https": ":443"}


def spell(
    dst: str, *, base: str, style: str = "absolute", unicode_hosts: Mapping[str, str] | None = None
) -> str:
    """Return an ``href`` for the normalized URL ``dst`` written in ``style``.

    ``base`` is the normalized URL the reference resolves against (the
    document URL or its ``<base href>``). Relative forms need ``dst`` on the
    same scheme and host as ``base`` (same scheme for ``protocol``).

    >>> spell("http://a.com/x/y?b=2&c=3", base="http://a.com/x/z", style="relative+unsorted")
    '../x/y?c=3&b=2'
    >>> spell("http://a.com/", base="http://b.org/", style="upper+port+fragment")
    'HTTP://A.COM:80/#top'
    """
    form, tokens = _parse_style(style)
    parts, base_parts = urlsplit(dst), urlsplit(base)
    _check_form(form, dst, base, parts, base_parts)
    scheme, host = _scheme_and_host(parts, tokens, unicode_hosts)
    port = _DEFAULT_PORT[parts.scheme] if "port" in tokens else ""
    tail = _query(dst, parts.query, tokens) + ("#top" if "fragment" in tokens else "")
    path = parts.path
    if form == "absolute":
        href = f"{scheme}://{host}{port}{path}{tail}"
    elif form == "protocol":
        href = f"//{host}{port}{path}{tail}"
    elif form == "dotseg":
        # RFC 3986, 5.2.4: "/x/../" collapses to "/".
        href = f"{scheme}://{host}{port}/x/../{path[1:]}{tail}"
    elif form == "root":
        href = f"{path}{tail}"
    elif form == "relative":
        # Climb from the base's directory to the root, then descend.
        depth = base_parts.path.count("/") - 1
        href = ("../" * depth or "./") + path[1:] + tail
    else:
        href = (posixpath.basename(path) or "./") + tail
    if "space" in tokens:
        href = f"  \n\t{href} \n"
    return href


def _parse_style(style: str) -> tuple[str, set[str]]:
    """The form of ``style`` and its set of tokens."""
    tokens = style.split("+")
    unknown = [t for t in tokens if t not in FORMS and t not in MODIFIERS]
    if unknown:
        raise ValueError(f"unknown spelling token(s) {unknown!r} in {style!r}")
    forms = [t for t in tokens if t in FORMS] or ["absolute"]
    if len(forms) > 1:
        raise ValueError(f"more than one form in {style!r}")
    return forms[0], set(tokens)


def _check_form(
    form: str, dst: str, base: str, parts: SplitResult, base_parts: SplitResult
) -> None:
    """Refuse a relative form that cannot reach ``dst`` from ``base``."""
    same_scheme = parts.scheme == base_parts.scheme
    same_origin = same_scheme and parts.netloc == base_parts.netloc
    if form in ("root", "relative", "sibling") and not same_origin:
        raise ValueError(f"{form!r} needs {dst!r} on the host of {base!r}")
    if form == "protocol" and not same_scheme:
        raise ValueError(f"'protocol' needs {dst!r} on the scheme of {base!r}")
    if form == "sibling" and posixpath.dirname(base_parts.path) != posixpath.dirname(parts.path):
        raise ValueError(f"'sibling' needs {dst!r} in the directory of {base!r}")


def _scheme_and_host(
    parts: SplitResult, tokens: set[str], unicode_hosts: Mapping[str, str] | None
) -> tuple[str, str]:
    """The scheme and host as the modifiers spell them."""
    scheme, host = parts.scheme, parts.netloc
    if "idn" in tokens:
        if unicode_hosts is None or host not in unicode_hosts:
            raise ValueError(f"no Unicode spelling known for host {host!r}")
        host = unicode_hosts[host]
    if "upper" in tokens:
        scheme, host = scheme.upper(), host.upper()
    if "dot" in tokens:
        host += "."
    return scheme, host


def _query(dst: str, query: str, tokens: set[str]) -> str:
    """``?query`` reordered and with tracking parameters added, or ``""``."""
    pairs = [p.partition("=")[::2] for p in query.split("&")] if query else []
    if "unsorted" in tokens:
        if len(pairs) < 2:
            raise ValueError(f"'unsorted' needs two query arguments, got {dst!r}")
        pairs.reverse()
    if "utm" in tokens:
        # One in front and one behind the real arguments, so that neither
        # dropping nor sorting alone gives the normalized query.
        pairs = [("utm_source", "newsletter"), *pairs, ("utm_campaign", "spring")]
    for name in ("gclid", "fbclid", "msclkid"):
        if name in tokens:
            pairs.insert(len(pairs) // 2, (name, "Xy7" + name[:2]))
    return "?" + "&".join(f"{k}={v}" for k, v in pairs) if pairs else ""

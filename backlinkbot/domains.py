"""Registrable domains, from the Public Suffix List shipped with the package.

:func:`registrable_domain` is the PSL algorithm (private section included,
default rule ``*``) over the ``publicsuffixlist`` wheel's copy, never fetched;
where the algorithm gives none (an IP address, a single label, a public
suffix) the domain is the host itself (docs/URL_NORMALIZATION.md).

>>> registrable_domain("www.example.co.uk")
'example.co.uk'
>>> registrable_domain("alice.github.io")
'alice.github.io'
>>> registrable_domain("localhost")
'localhost'
>>> registrable_domain_or_none("github.io") is None
True
"""

from __future__ import annotations

import functools
from typing import Final

from publicsuffixlist import PublicSuffixList

__all__ = ["CACHE_SIZE", "registrable_domain", "registrable_domain_or_none"]

#: Entries kept by the cache of :func:`registrable_domain`.
CACHE_SIZE: Final = 1 << 16


@functools.cache
def _list() -> PublicSuffixList:
    # Parsed on first use rather than at import (about 40 ms). The punycode
    # forms of IDN rules are added too (accept_encoded_idn), since normalized
    # hosts are punycode; accept_unknown applies the default rule "*".
    return PublicSuffixList(accept_unknown=True, accept_encoded_idn=True, only_icann=False)


def _is_ip_address(host: str) -> bool:
    if host.startswith("["):
        return True
    # The URL standard parses a host whose last label is a number as IPv4
    # (https://url.spec.whatwg.org/#ends-in-a-number-checker); a normalized
    # host of that form is dotted-decimal.
    last = host.rpartition(".")[2]
    return last.isascii() and last.isdigit()


def registrable_domain_or_none(host: str) -> str | None:
    """The registrable domain of *host* per the PSL algorithm, or ``None``.

    ``None`` where the algorithm gives none: *host* is a public suffix
    (including a single label, under the default rule), an IP address, or
    not a domain name (an empty label, as in ``.example.com``).
    *host* is expected normalized (lowercase, punycode, no trailing dot),
    as :func:`backlinkbot.urlnorm.url_host` returns it.
    """
    if not isinstance(host, str):
        raise TypeError(f"expected str, got {type(host).__name__}")
    if not host or host.endswith(".") or _is_ip_address(host):
        return None
    # privatesuffix() returns None for a host with an empty label and for a
    # public suffix.
    domain: str | None = _list().privatesuffix(host)
    return domain


@functools.lru_cache(maxsize=CACHE_SIZE)
def registrable_domain(host: str) -> str:
    """The registrable domain of the normalized *host*; *host* itself where
    the Public Suffix List gives none."""
    return registrable_domain_or_none(host) or host

"""Which hosts and IP addresses the crawler may connect to (the SSRF policy).

A URL on the open web may name any address. Fetching one that is loopback,
private, link-local (cloud metadata at 169.254.169.254), multicast, reserved
or unspecified lets a page make the crawler talk to the machines around it.
:class:`AddressPolicy` says why an address is refused, or ``None`` when it is
public or explicitly allowed (``BACKLINKBOT_SSRF_ALLOW``: CIDRs and host
names, for tests and intranet crawls).

IPv6 addresses that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``,
IPv4-compatible, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) are judged by the
IPv4 address they carry. Host names are judged after resolution, by
:mod:`backlinkbot.safety.resolver`; only the names RFC 6761 reserves for the
local machine (``localhost``, ``*.localhost``) are refused without a lookup.

>>> policy = AddressPolicy()
>>> policy.refusal("127.0.0.1"), policy.refusal("::ffff:7f00:1"), policy.refusal("8.8.8.8")
('loopback', 'loopback', None)
>>> AddressPolicy(allow=["127.0.0.0/8"]).refusal("127.0.0.1") is None
True
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["REASONS", "AddressPolicy", "ip_refusal", "parse_ip"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Every reason :meth:`AddressPolicy.refusal` can give (stats key suffixes).
REASONS = (
    "unspecified", "loopback", "link_local", "multicast", "private", "reserved",
    "not_global", "local_name",
)  # fmt: skip

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def parse_ip(host: str) -> IPAddress | None:
    """The address ``host`` spells (``[v6]`` brackets allowed), or ``None``
    for a host name. Only the canonical dotted-quad form is accepted here:
    URLs are WHATWG-normalized before they get here, which already turns
    ``2130706433``, ``0x7f.1`` and ``0177.0.0.1`` into ``127.0.0.1``."""
    text = host.strip("[]")
    if "%" in text:  # a zone id (fe80::1%eth0) is link-local by definition
        text = text.split("%", 1)[0]
    if ":" not in text and not (text.isascii() and text.replace(".", "").isdigit()):
        # A host name, the usual case, told apart without ip_address's
        # failed parses (a policy's refusal of a name: 3.2 to 0.7 us): an
        # IPv6 address has a colon, an IPv4 address only ASCII digits and dots.
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def ip_refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be connected to, or ``None`` for a global address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return ip_refusal(embedded)
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link_local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:  # shared address space 100.64/10, benchmarking, ...
        return "not_global"
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """The SSRF policy with its allow-list.

    ``allow`` items are CIDRs or addresses (``10.0.0.0/8``, ``::1``) or host
    names; a name also allows its subdomains when written with a leading dot
    (``.intranet.example``).
    """

    allow: Iterable[str] = ()
    networks: tuple[IPNetwork, ...] = field(init=False)
    names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        networks: list[IPNetwork] = []
        names: set[str] = set()
        for item in self.allow:
            item = item.strip().lower()
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                names.add(item.rstrip("."))
        object.__setattr__(self, "networks", tuple(networks))
        object.__setattr__(self, "names", frozenset(names))

    def name_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        if host in self.names:
            return True
        return any(n.startswith(".") and (host.endswith(n) or host == n[1:]) for n in self.names)

    def ip_allowed(self, ip: IPAddress) -> bool:
        return any(ip.version == n.version and ip in n for n in self.networks)

    def address_refusal(self, ip: IPAddress) -> str | None:
        """Why a (resolved or literal) address is refused, ``None`` if not."""
        if self.ip_allowed(ip):
            return None
        return ip_refusal(ip)

    def refusal(self, host: str) -> str | None:
        """Why a URL's host is refused before any lookup, ``None`` if not
        (a host name may still be refused once resolved)."""
        ip = parse_ip(host)
        if ip is not None:
            return self.address_refusal(ip)
        if self.name_allowed(host):
            return None
        name = host.lower().rstrip(".")
        if name == "localhost" or name.endswith(".localhost"):
            return "local_name"
        return None

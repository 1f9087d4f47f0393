"""A DNS resolver that only ever returns addresses the SSRF policy allows.

Checking a host name's addresses before the request and connecting later
leaves a gap: a hostile DNS server can answer a public address to the check
and a private one to the connection (DNS rebinding). This resolver closes it
by filtering the answer that the connection itself uses: Scrapy's downloader
connects to the address it gets from here (installed as the reactor's name
resolver, which is asked for every connection, with its port, address
literals included), so a connection to a refused address is never opened.

The one exemption is the connection to a configured proxy (``http_proxy``,
``https_proxy``): exactly its host and port, whatever the host resolves to,
since the proxy is the operator's choice. Every other connection is checked
on the address it connects to, also one to the proxy's address on another
port (an ``https`` link sent direct because only ``http_proxy`` is set, a
``no_proxy`` host). A lookup without a port (``reactor.resolve``) is never
exempt. A refusal is remembered for the host and port it was asked for
(:meth:`SafeResolver.refusal`), so the download handler can report it as a
:class:`RefusedAddressError` rather than as a name that does not resolve.

``BACKLINKBOT_DNS_OVERRIDES`` gives fixed answers for some names, as lines of
``/etc/hosts`` would (``name=address``, like curl's ``--resolve``): a staging
copy of a site, or a test web on local addresses. An overridden answer goes
through the same policy check as any other.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from urllib.request import getproxies_environment

from scrapy.resolver import CachingThreadedResolver, HostResolution
from scrapy.utils.url import add_http_if_no_scheme
from twisted.internet import defer
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IHostnameResolver
from zope.interface import implementer

from backlinkbot.safety.addresses import AddressPolicy, parse_ip

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scrapy.crawler import Crawler
    from twisted.internet.base import ReactorBase
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import IAddress

__all__ = [
    "RefusedAddressError",
    "SafeResolver",
    "dns_overrides",
    "policy_from_settings",
    "proxy_endpoints",
]

logger = logging.getLogger(__name__)

#: Refusals remembered for the download handler; beyond this the memory
#: starts over (a refusal then reads as a failed lookup).
MAX_REFUSALS = 10_000


class RefusedAddressError(Exception):
    """A connection's host resolved only to addresses the SSRF policy refuses.

    ``reason`` is the policy's reason; the SSRF guard middleware counts it as
    ``backlinkbot/ssrf/refused/dns_<reason>``. Not a lookup error, so Scrapy's
    retry middleware does not try the refused address again.
    """

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name} resolves to a refused address ({reason})")
        self.name = name
        self.reason = reason


def _host_key(host: str) -> str:
    return host.strip("[]").lower().rstrip(".")


def proxy_endpoints() -> frozenset[tuple[str, int]]:
    """``(host, port)`` of each proxy the environment configures for http(s),
    read as Scrapy's proxy middleware reads them (port 80, or 443 for an
    ``https://`` proxy, when none is given)."""
    proxies = getproxies_environment()
    endpoints = set()
    for scheme in ("http", "https"):
        url = proxies.get(scheme)
        if not url:
            continue
        parsed = urlsplit(add_http_if_no_scheme(url))
        try:
            port = parsed.port or (443 if parsed.scheme == "https" else 80)
        except ValueError:
            continue  # a port Scrapy could not connect to either
        if parsed.hostname:
            endpoints.add((_host_key(parsed.hostname), port))
    return frozenset(endpoints)


def policy_from_settings(settings: Any) -> AddressPolicy:
    """The policy of ``BACKLINKBOT_SSRF_ALLOW`` (a list, or comma-separated)."""
    return AddressPolicy(allow=settings.getlist("BACKLINKBOT_SSRF_ALLOW"))


def dns_overrides(items: Sequence[str]) -> dict[str, str]:
    """``{name: address}`` from ``name=address`` items (names lower-cased,
    without a trailing dot); ValueError names the item it cannot read."""
    overrides = {}
    for item in items:
        name, sep, address = item.partition("=")
        name = name.strip().lower().rstrip(".")
        ip = parse_ip(address.strip())
        if not sep or not name or ip is None:
            raise ValueError(f"BACKLINKBOT_DNS_OVERRIDES: expected name=address, got {item!r}")
        overrides[name] = str(ip)
    return overrides


@implementer(IHostnameResolver)
class SafeResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, minus every refused answer."""

    def __init__(
        self,
        reactor: ReactorBase,
        cache_size: int,
        timeout: float,
        *,
        policy: AddressPolicy,
        enabled: bool = True,
        overrides: dict[str, str] | None = None,
        proxies: frozenset[tuple[str, int]] = frozenset(),
    ) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.policy = policy
        self.enabled = enabled
        self.overrides = overrides or {}
        self.proxies = proxies
        #: (host, port) -> the reason its last connection was refused.
        self.refusals: dict[tuple[str, int], str] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> SafeResolver:
        # Scrapy builds resolvers with the crawler *process*: settings only.
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(
            reactor,
            cache_size,
            settings.getfloat("DNS_TIMEOUT"),
            policy=policy_from_settings(settings),
            enabled=settings.getbool("BACKLINKBOT_SSRF_GUARD"),
            overrides=dns_overrides(settings.getlist("BACKLINKBOT_DNS_OVERRIDES")),
            proxies=proxy_endpoints(),
        )

    def install_on_reactor(self) -> None:
        # As the name resolver, it is asked with the port of each connection
        # (reactor.resolve then asks it with port 0).
        self.reactor.installNameResolver(self)  # type: ignore[arg-type]  # zope interface

    def address(self, name: str, port: int = 0) -> Deferred[str]:
        """The address a connection to ``name`` and ``port`` may use; fails
        with :class:`RefusedAddressError` when the policy refuses it."""
        host = _host_key(name)
        fixed = self.overrides.get(host) if self.overrides else None
        if fixed:
            d: Deferred[str] = defer.succeed(fixed)
        elif parse_ip(host) is not None:
            d = defer.succeed(host)
        else:
            d = super().getHostByName(name)
        if not self.enabled or (host, port) in self.proxies:
            return d
        if parse_ip(host) is None and self.policy.name_allowed(host):
            return d
        return d.addCallback(self._check, name)

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        return self.address(name)

    def resolveHostName(
        self,
        resolutionReceiver: Any,  # IResolutionReceiver: zope methods mypy cannot read
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> Any:
        resolution = HostResolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        key = (_host_key(hostName), portNumber)

        def resolved(address: str) -> None:
            self.refusals.pop(key, None)
            kind = IPv6Address if ":" in address else IPv4Address
            if addressTypes is None or kind in addressTypes:
                resolutionReceiver.addressResolved(kind("TCP", address, portNumber))

        def failed(failure: Any) -> None:
            if failure.check(RefusedAddressError):
                if len(self.refusals) >= MAX_REFUSALS:
                    self.refusals.clear()
                self.refusals[key] = failure.value.reason
            else:
                self.refusals.pop(key, None)
                if not failure.check(DNSLookupError):
                    logger.warning("Looking up %s failed: %s", hostName, failure.getErrorMessage())
            # No address: the connection fails as a failed lookup would.

        d = self.address(hostName, portNumber).addCallbacks(resolved, failed)
        d.addCallback(lambda _: resolutionReceiver.resolutionComplete())
        return resolution

    def refusal(self, host: str, port: int) -> str | None:
        """Why the last connection to ``host`` and ``port`` was refused, or
        ``None`` when it was not."""
        return self.refusals.get((_host_key(host), port))

    def _check(self, address: str, name: str) -> str:
        ip = parse_ip(address)
        reason = "unparsable" if ip is None else self.policy.address_refusal(ip)
        if reason is None:
            return address
        logger.info("Refusing to connect to %s: it resolves to %s (%s)", name, address, reason)
        raise RefusedAddressError(name, reason)

"""A DNS resolver that only ever returns addresses the SSRF policy allows.

Checking a host name's addresses before the request and connecting later
leaves a gap: a hostile DNS server can answer a public address to the check
and a private one to the connection (DNS rebinding). This resolver closes it
by filtering the answer that the connection itself uses: Scrapy's downloader
connects to the address it gets from here, so a name resolving to a refused
address fails with a ``DNSLookupError`` and nothing is sent.

Installed with ``TWISTED_DNS_RESOLVER`` (backlinkbot's settings do). Address
literals are not resolved and pass through: the URL's own address is checked
by :class:`~backlinkbot.downloadermiddlewares.ssrf.SSRFGuardMiddleware`, and
the configured proxies (``http_proxy``...) are the operator's choice, so
their host names are allowed too.

``BACKLINKBOT_DNS_OVERRIDES`` gives fixed answers for some names, as lines of
``/etc/hosts`` would (``name=address``, like curl's ``--resolve``): a staging
copy of a site, or a test web on local addresses. An overridden answer goes
through the same policy check as any other.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer
from twisted.internet.error import DNSLookupError

from backlinkbot.safety.addresses import AddressPolicy, parse_ip

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scrapy.crawler import Crawler
    from twisted.internet.base import ReactorBase
    from twisted.internet.defer import Deferred

__all__ = [
    "RefusedAddressError",
    "SafeResolver",
    "dns_overrides",
    "policy_from_settings",
    "proxy_hosts",
]

logger = logging.getLogger(__name__)

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")


class RefusedAddressError(DNSLookupError):
    """A host name resolved only to addresses the SSRF policy refuses.

    ``reason`` is the policy's reason; the SSRF guard middleware counts it as
    ``backlinkbot/ssrf/refused/dns_<reason>``.
    """

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name} resolves to a refused address ({reason})")
        self.reason = reason


def proxy_hosts(environ: dict[str, str] | None = None) -> list[str]:
    """Host names of the proxies configured in the environment."""
    env = os.environ if environ is None else environ
    hosts = []
    for name in _PROXY_VARIABLES:
        value = env.get(name, "")
        if value:
            host = urlsplit(value if "://" in value else f"http://{value}").hostname
            if host:
                hosts.append(host)
    return hosts


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
    ) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.policy = policy
        self.enabled = enabled
        self.overrides = overrides or {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> SafeResolver:
        # Scrapy builds resolvers with the crawler *process*: settings only.
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        base = policy_from_settings(settings)
        policy = AddressPolicy(allow=[*base.allow, *proxy_hosts()])
        return cls(
            reactor,
            cache_size,
            settings.getfloat("DNS_TIMEOUT"),
            policy=policy,
            enabled=settings.getbool("BACKLINKBOT_SSRF_GUARD"),
            overrides=dns_overrides(settings.getlist("BACKLINKBOT_DNS_OVERRIDES")),
        )

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        fixed = self.overrides.get(name.lower().rstrip(".")) if self.overrides else None
        d = defer.succeed(fixed) if fixed else super().getHostByName(name, timeout)
        if self.enabled and parse_ip(name) is None and not self.policy.name_allowed(name):
            d.addCallback(self._check, name)
        return d

    def _check(self, address: str, name: str) -> str:
        ip = parse_ip(address)
        reason = "unparsable" if ip is None else self.policy.address_refusal(ip)
        if reason is None:
            return address
        logger.info("Refusing to connect to %s: it resolves to %s (%s)", name, address, reason)
        raise RefusedAddressError(name, reason)

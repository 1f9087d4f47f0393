"""Refuse requests to loopback, private and other non-public addresses.

The first half of the SSRF guard (docs/SAFETY.md): a request whose URL host
is an address literal that :class:`~backlinkbot.safety.addresses.AddressPolicy`
refuses, or a name reserved for the local machine (``localhost``), is
ignored before anything is sent, also when a proxy would carry it. Host
names are checked on the addresses they resolve to by
:class:`~backlinkbot.safety.resolver.SafeResolver`, the second half; behind
a proxy the proxy resolves them.

URLs arrive WHATWG-normalized, so ``http://2130706433/``, ``http://0x7f.1/``
and ``http://0177.0.0.1/`` are all ``http://127.0.0.1/`` here. Each refusal
is counted as ``backlinkbot/ssrf/refused/<reason>`` (``dns_<reason>`` for
a connection the resolver refused, which the download handler reports as
:class:`~backlinkbot.safety.resolver.RefusedAddressError`); the link that
led here is still recorded, only the fetch is skipped.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.httpobj import urlparse_cached

from backlinkbot.safety.resolver import RefusedAddressError, policy_from_settings

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

    from backlinkbot.safety.addresses import AddressPolicy

__all__ = ["SSRFGuardMiddleware"]

logger = logging.getLogger(__name__)


class SSRFGuardMiddleware:
    def __init__(self, policy: AddressPolicy, stats: StatsCollector) -> None:
        self.policy = policy
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SSRFGuardMiddleware:
        if not crawler.settings.getbool("BACKLINKBOT_SSRF_GUARD"):
            raise NotConfigured("BACKLINKBOT_SSRF_GUARD is off")
        assert crawler.stats is not None
        return cls(policy_from_settings(crawler.settings), crawler.stats)

    def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).hostname or ""
        reason = self.policy.refusal(host) if host else "no_host"
        if reason is None:
            return
        self.stats.inc_value(f"backlinkbot/ssrf/refused/{reason}")
        logger.debug("Refusing %s: its host is %s", request.url, reason)
        raise IgnoreRequest(f"SSRF guard: {reason} address")

    def process_exception(self, request: Request, exception: Exception) -> None:
        if isinstance(exception, RefusedAddressError):
            self.stats.inc_value(f"backlinkbot/ssrf/refused/dns_{exception.reason}")

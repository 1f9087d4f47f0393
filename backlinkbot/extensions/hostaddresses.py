"""Each host's IP address, told to the frontier for per-IP spacing.

With ``BACKLINKBOT_IP_DELAY`` above 0, the frontier's pop spaces the hosts
that share an IP address (:mod:`backlinkbot.frontier.queue`). It learns the
addresses here: every response that came over a direct connection (its
robots.txt first, then its pages) carries the address the worker connected
to, and a host whose address is new or changed is written to the hash
``<prefix>:host_ip``, once per worker, with one ``HSET``. A response that
came through a proxy says nothing about the host's address (it is the
proxy's) and is skipped, so behind a proxy each host keeps the pop's rule
for an unknown address: one request per IP delay, each host on its own.

Before a host's first answer its address comes from resolving the host
(:class:`~backlinkbot.downloadermiddlewares.addressspacing.AddressSpacing`,
which also spaces robots.txt and those first requests); here a changed
address replaces the recorded one. While Redis cannot be
reached the address is not recorded (counted under
``backlinkbot/frontier/redis_errors``) and is sent again with the host's
next response.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import redis
from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.httpobj import urlparse_cached

from backlinkbot.connection import CrawlKeys, RedisOutage, redis_client

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

__all__ = ["HostAddresses"]

logger = logging.getLogger(__name__)


class HostAddresses:
    #: Hosts whose address a worker remembers having sent; beyond this the
    #: memory starts over (each host is then sent once more).
    max_hosts = 100_000

    def __init__(self, server: Any, keys: CrawlKeys, stats: StatsCollector) -> None:
        self.server = server
        self.keys = keys
        self.stats = stats
        self.outage = RedisOutage(stats, logger)
        #: host -> the address last written for it by this worker.
        self.sent: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostAddresses:
        settings = crawler.settings
        if settings.getfloat("BACKLINKBOT_IP_DELAY") <= 0:
            raise NotConfigured("BACKLINKBOT_IP_DELAY is 0")
        assert crawler.stats is not None
        ext = cls(
            redis_client(settings),
            CrawlKeys.from_settings(settings),
            crawler.stats,
        )
        crawler.signals.connect(ext.response_received, signal=signals.response_received)
        return ext

    def response_received(self, response: Response, request: Request, **_: Any) -> None:
        address = response.ip_address
        if address is None or request.meta.get("proxy"):
            return
        host = urlparse_cached(request).hostname
        ip = str(address)
        if not host or self.sent.get(host) == ip or self.outage.waiting():
            return
        try:
            self.server.hset(self.keys.host_ip, host, ip)
        except redis.RedisError as exc:
            self.outage.failed("recording a host's address", exc)
            return
        self.outage.succeeded()
        if len(self.sent) >= self.max_hosts:
            self.sent.clear()
        self.sent[host] = ip
        self.stats.inc_value("backlinkbot/frontier/host_addresses")

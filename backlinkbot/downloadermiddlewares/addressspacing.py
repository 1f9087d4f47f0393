"""Per-IP spacing for the requests the frontier could not space by address.

With ``BACKLINKBOT_IP_DELAY`` above 0 the frontier's pop spaces the hosts
that share an IP address, once it knows the host's address
(``<prefix>:host_ip``), and marks such requests (``meta[IP_SPACED]``). Two
kinds of request never meet that check: the ones handed out for a host whose
address nobody has recorded yet (a new crawl's first contact with every
host; the pop gives such a host one request per IP delay), and robots.txt,
which the robots middleware fetches itself. For those, and for a spaced
request that waited for its host's robots.txt (its slot went by while
robots.txt took one of its own at the same address), this middleware
resolves the host before anything is sent (through the crawl's resolver and
its cache, which the connection then uses too), records the address in
``<prefix>:host_ip`` (from then on the pop spaces the host by it), and takes
the address's next free time in ``<prefix>:ip_ready`` by the pop's own rule
and clock (Redis ``TIME``): while the address is busy the request waits, in
the downloader. Behind a proxy the proxy resolves host names, so proxied
requests pass unchanged: their hosts keep the pop's one request per IP
delay, each host on its own. While Redis cannot be
reached, requests pass unspaced by address (counted under
``backlinkbot/frontier/redis_errors``); a host that does not resolve is left
to fail in the download as usual.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached

from backlinkbot.connection import CrawlKeys, redis_client
from backlinkbot.downloadermiddlewares.robotstxt import ROBOTS_REQUEST, ROBOTS_WAITED
from backlinkbot.frontier.queue import IP_SPACED, TURN
from backlinkbot.frontier.turns import TurnTaker

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

__all__ = ["AddressSpacing"]

logger = logging.getLogger(__name__)

# KEYS: host_ip, ip_ready. ARGV: host, ip, IP delay. Records the host's
# address, then takes the address's next free time as the frontier's pop
# does: free now -> it is now + delay and 0 is returned; busy -> the seconds
# until it is free. Redis's time follows (strings: Lua numbers come back as
# integers).
_TAKE_ADDRESS = """
redis.replicate_commands()
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local free = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
if free > now then
  return {tostring(free - now), tostring(now)}
end
redis.call('HSET', KEYS[2], ARGV[2], now + tonumber(ARGV[3]))
return {'0', tostring(now)}
"""

Resolve = Callable[[str], Awaitable[str]]


class AddressSpacing(TurnTaker):
    SCRIPT = _TAKE_ADDRESS
    logger = logger

    def __init__(
        self, server: Any, keys: CrawlKeys, delay: float, stats: StatsCollector, resolve: Resolve
    ) -> None:
        super().__init__(server, keys, stats)
        self.delay = delay
        self.resolve = resolve

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressSpacing:
        settings = crawler.settings
        delay = settings.getfloat("BACKLINKBOT_IP_DELAY")
        if delay <= 0:
            raise NotConfigured("BACKLINKBOT_IP_DELAY is 0")
        assert crawler.stats is not None
        return cls(
            redis_client(settings),
            CrawlKeys.from_settings(settings),
            delay,
            crawler.stats,
            _resolve,
        )

    async def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).hostname
        if not host or request.meta.get("proxy"):
            return
        meta = request.meta
        if meta.get(IP_SPACED) and not (meta.get(ROBOTS_REQUEST) or meta.get(ROBOTS_WAITED)):
            # The frontier spaced it by its address, and nothing went to that
            # address since: a request that waited for its host's robots.txt
            # comes after that fetch, in a time slot of its own.
            return
        try:
            ip = str(ipaddress.ip_address(host))
        except ValueError:
            try:
                ip = await self.resolve(host)
            except Exception:
                return  # the download reports the failure
        taken = await self.take_turn(
            [self.keys.host_ip, self.keys.ip_ready],
            [host, ip, self.delay],
            "backlinkbot/frontier/address_waits",
            "spacing a request by its address",
        )
        turn = meta.get(TURN)
        if turn and taken is not None:
            # Its turn of the address is this one (LateSendSpacing checks it
            # if the request is sent late all the same).
            meta[TURN] = [*turn[:3], taken, self.delay]


async def _resolve(host: str) -> str:
    """``host``'s address from the crawl's resolver (``TWISTED_DNS_RESOLVER``,
    with its cache and address checks)."""
    from twisted.internet import reactor

    address = await maybe_deferred_to_future(reactor.resolve(host))  # type: ignore[arg-type]
    return str(address)

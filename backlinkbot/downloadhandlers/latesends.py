"""Host and address spacing kept for requests sent late.

The frontier's pop keeps the spacing when it hands requests out: the host it
takes a request from (and, with ``BACKLINKBOT_IP_DELAY``, the host's
address) gets its next turn at the pop's time plus the delay. A request sent
well after its pop (from a worker short of CPU, after it waited for its
host's robots.txt or for its address, or in Scrapy's per-domain download
slot behind requests to the same host that a slow server has not answered
yet) would leave less than the delay before the next request to that host,
handed out on time by another worker's pop. So the download handler
(:class:`~backlinkbot.downloadhandlers.http.PooledHTTPDownloadHandler`)
calls :meth:`LateSendSpacing.before_send` for each request just before it
hands it to Twisted, after every downloader middleware and after the
download slot, and again once a new connection is open when none was kept
for the request's server. It looks at the turns the request was given
(``meta[TURN]``: its host's by the pop, its address's by the pop or, when it
was taken before sending, by
:class:`~backlinkbot.downloadermiddlewares.addressspacing.AddressSpacing`):
when more than :data:`LATE` has passed since the worker asked for the
request, one Redis call moves the host's next turn (``<prefix>:hosts``) and
the address's (``<prefix>:ip_ready``) to now + delay, by the frontier's
clock (Redis ``TIME``). When another request has taken a turn of the host or
the address since, this one waits for that turn to end first. The turns it
took become the request's own, so a second look counts from them.

A request on time costs nothing; one up to :data:`LATE` late can come that
much closer to the previous one than the delay. What the check cannot see is
a TLS handshake, which follows the connection's opening. Requests without
delay (``BACKLINKBOT_HOST_DELAY`` 0, no ``Crawl-delay``, no IP delay) are
never looked at. While Redis cannot be reached, late requests pass as they
are (counted under ``backlinkbot/frontier/redis_errors``).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from scrapy.utils.httpobj import urlparse_cached

from backlinkbot.connection import CrawlKeys, redis_client
from backlinkbot.frontier.queue import TURN
from backlinkbot.frontier.turns import TurnTaker

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

__all__ = ["LATE", "LateSendSpacing"]

logger = logging.getLogger(__name__)

#: Seconds after the worker asked for a request past which it counts as late.
LATE = 0.05

# Seconds a turn may be later than the pop's own (the pop's time comes back
# rounded to 0.1 ms): a later one was taken by another request.
_SAME_TURN = 0.001

# KEYS: hosts, host_ip, ip_ready. ARGV: host, the host's turn's time, host
# delay (0 = no such turn), the address's turn's time, IP delay (0 = no such
# turn). Every taker of a turn sets the next one to its time + the delay,
# so a next turn past this request's own, and still ahead, was taken by
# another request since: the seconds to wait for it are returned. (A host's
# next turn can also have moved on because the pop found its address busy:
# such a turn is no later than the address's, and is not taken.) Otherwise
# each next turn becomes at least now + its delay, and 0 is returned;
# Redis's time follows (strings: Lua numbers come back as integers).
_MOVE_TURNS = f"""
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local host_at, host_delay = tonumber(ARGV[2]), tonumber(ARGV[3])
local ip_at, ip_delay = tonumber(ARGV[4]), tonumber(ARGV[5])
local wait = 0
local score, ip, free
if ip_delay > 0 then
  ip = redis.call('HGET', KEYS[2], ARGV[1])
  if ip then
    free = tonumber(redis.call('HGET', KEYS[3], ip) or '0')
    if free > ip_at + ip_delay + {_SAME_TURN} and free > now then wait = free - now end
  end
end
if host_delay > 0 then
  score = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '0')
  local waits_for_address = free and score <= free + {_SAME_TURN}
  if score > host_at + host_delay + {_SAME_TURN} and score - now > wait
     and not waits_for_address then
    wait = score - now
  end
end
if wait > 0 then return {{tostring(wait), tostring(now)}} end
if score and now + host_delay > score then
  redis.call('ZADD', KEYS[1], now + host_delay, ARGV[1])
end
if ip and now + ip_delay > free then redis.call('HSET', KEYS[3], ip, now + ip_delay) end
return {{'0', tostring(now)}}
"""


class LateSendSpacing(TurnTaker):
    SCRIPT = _MOVE_TURNS
    logger = logger

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LateSendSpacing:
        settings = crawler.settings
        assert crawler.stats is not None
        return cls(redis_client(settings), CrawlKeys.from_settings(settings), crawler.stats)

    async def before_send(self, request: Request) -> None:
        """Keep the spacing for ``request`` if it is being sent late: move
        its turns on, or first wait for a turn taken since."""
        turn = request.meta.get(TURN)
        if not turn:
            return
        asked, host_at, host_delay, ip_at, ip_delay = turn
        if time.monotonic() - asked <= LATE:
            return
        host = urlparse_cached(request).hostname
        if not host:
            return
        self.stats.inc_value("backlinkbot/frontier/late_sends")
        taken = await self.take_turn(
            [self.keys.hosts, self.keys.host_ip, self.keys.ip_ready],
            [host, host_at, host_delay, ip_at, ip_delay],
            "backlinkbot/frontier/late_send_waits", "spacing a request sent late",
        )  # fmt: skip
        if taken is not None:
            # Its turns are the ones just taken: a second look (once a new
            # connection is open) counts from here.
            ip_at = taken if ip_delay else ip_at
            request.meta[TURN] = [time.monotonic(), taken, host_delay, ip_at, ip_delay]

"""Per-host and per-IP spacing (politeness), kept for the whole cluster in
the frontier's Redis (docs/FRONTIER.md, "Politeness across the cluster").

The pop (:mod:`.queue`) spaces requests as it hands them out, in its own
script. This module holds the rest: the turns a popped request carries, the
address turn taken before sending a request the pop could not space by
address, the turns moved on for a request sent late, and the host addresses
learned from answers. The downloader middleware, the download handler and
the extension that do these are adapters over :class:`Spacing`.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import redis
from scrapy.utils.asyncio import sleep
from scrapy.utils.httpobj import urlparse_cached

from backlinkbot.connection import CrawlKeys, RedisOutage, redis_client
from backlinkbot.downloadermiddlewares.robotstxt import ROBOTS_REQUEST, ROBOTS_WAITED

if TYPE_CHECKING:
    from ipaddress import IPv4Address, IPv6Address

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from scrapy.statscollectors import StatsCollector

__all__ = [
    "IP_SPACED", "LATE", "TURN", "Resolve", "Spacing",
    "has_turn", "ip_delay_setting", "mark_popped",
]  # fmt: skip

logger = logging.getLogger(__name__)

#: ``Request.meta`` key of a request the pop spaced by its host's address.
IP_SPACED = "backlinkbot_ip_spaced"

#: ``Request.meta`` key of the turns a spaced request was given:
#: ``[asked, host at, host delay, address at, IP delay]``: when the worker
#: asked for it (its ``time.monotonic()``); the pop's time (Redis ``TIME``)
#: and the seconds until its host's next turn; and, once it has a turn of its
#: address (from the pop, or from :meth:`Spacing.take_address_turn`), that
#: turn's time and the IP delay (else 0 and 0).
TURN = "backlinkbot_turn"

#: Seconds after the worker asked for a request past which it counts as late.
LATE = 0.05

# Seconds a turn may be later than the pop's own (the pop's time comes back
# rounded to 0.1 ms): a later one was taken by another request.
_SAME_TURN = 0.001

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

#: Resolves a host name to an IP address (as text).
Resolve = Callable[[str], Awaitable[str]]


def ip_delay_setting(settings: BaseSettings) -> float:
    """``BACKLINKBOT_IP_DELAY``: per-IP spacing is on when it is above 0."""
    return max(0.0, settings.getfloat("BACKLINKBOT_IP_DELAY"))


def mark_popped(
    request: Request, *, asked: float, at: float, host_turn: float, by_address: bool,
    ip_delay: float,
) -> None:  # fmt: skip
    """Give a request the pop handed out at ``at`` (Redis ``TIME``; the
    worker asked at ``asked``) its turns, ``meta[TURN]``: its host's next
    turn ``host_turn`` seconds on and, when the pop spaced it by its
    address (``by_address``, then also ``meta[IP_SPACED]``), the address's
    ``ip_delay`` on."""
    ip_turn = ip_delay if by_address else 0.0
    if by_address:
        request.meta[IP_SPACED] = True
    if host_turn > 0 or ip_turn > 0:
        request.meta[TURN] = [asked, at, host_turn, at if by_address else 0.0, ip_turn]
    else:  # a retry's copy queued with the turn of its first try
        request.meta.pop(TURN, None)


def has_turn(request: Request) -> bool:
    """Whether ``request`` carries turns (:data:`TURN`) to keep when sent."""
    return bool(request.meta.get(TURN))


class Spacing:
    """A worker component's share of the cluster's spacing: its Redis
    client, the crawl's keys and the scripts that take turns. While Redis
    cannot be reached, requests go unspaced and addresses unrecorded (each
    failure counted under ``backlinkbot/frontier/redis_errors``)."""

    #: Hosts whose address a worker remembers having recorded; beyond this
    #: the memory starts over (each host is then recorded once more).
    max_hosts = 100_000

    def __init__(
        self, server: Any, keys: CrawlKeys, stats: StatsCollector, *, ip_delay: float = 0.0
    ) -> None:
        self.server = server
        self.keys = keys
        self.stats = stats
        self.ip_delay = ip_delay
        self.outage = RedisOutage(stats, logger)
        self.take_address_script = server.register_script(_TAKE_ADDRESS)
        self.move_turns_script = server.register_script(_MOVE_TURNS)
        #: host -> the address last recorded for it by this worker.
        self.recorded: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Spacing:
        settings = crawler.settings
        assert crawler.stats is not None
        return cls(
            redis_client(settings), CrawlKeys.from_settings(settings), crawler.stats,
            ip_delay=ip_delay_setting(settings),
        )  # fmt: skip

    async def take_address_turn(self, request: Request, resolve: Resolve) -> None:
        """Before ``request`` is sent: when the pop could not space it by its
        host's address (a host of unknown address, robots.txt, or a request
        that waited for its host's robots.txt), resolve the host, record its
        address and wait for the address's turn. Proxied requests pass (the
        proxy resolves their hosts), and so do hosts that do not resolve
        (the download reports the failure)."""
        host = urlparse_cached(request).hostname
        if not host or request.meta.get("proxy") or not _needs_address_turn(request):
            return
        try:
            ip = str(ipaddress.ip_address(host))
        except ValueError:
            try:
                ip = await resolve(host)
            except Exception:
                return
        taken = await self._take_turn(
            self.take_address_script,
            [self.keys.host_ip, self.keys.ip_ready],
            [host, ip, self.ip_delay],
            "backlinkbot/frontier/address_waits",
            "spacing a request by its address",
        )
        turn = request.meta.get(TURN)
        if turn and taken is not None:
            # Its turn of the address is this one (before_send checks it if
            # the request is sent late all the same).
            request.meta[TURN] = [*turn[:3], taken, self.ip_delay]

    async def before_send(self, request: Request) -> None:
        """Just before ``request`` goes out: if it is more than :data:`LATE`
        after its worker asked for it, move its host's and address's next
        turns to now + their delays, or first wait for a turn another
        request took since. A request on time costs no Redis call."""
        turn = request.meta.get(TURN)
        if not turn:
            return
        asked, host_at, host_delay, ip_at, ip_turn = turn
        if time.monotonic() - asked <= LATE:
            return
        host = urlparse_cached(request).hostname
        if not host:
            return
        self.stats.inc_value("backlinkbot/frontier/late_sends")
        taken = await self._take_turn(
            self.move_turns_script,
            [self.keys.hosts, self.keys.host_ip, self.keys.ip_ready],
            [host, host_at, host_delay, ip_at, ip_turn],
            "backlinkbot/frontier/late_send_waits", "spacing a request sent late",
        )  # fmt: skip
        if taken is not None:
            # Its turns are the ones just taken: a second look (once a new
            # connection is open) counts from here.
            ip_at = taken if ip_turn else ip_at
            request.meta[TURN] = [time.monotonic(), taken, host_delay, ip_at, ip_turn]

    def learn_address(self, request: Request, address: IPv4Address | IPv6Address | None) -> None:
        """Record the address ``request``'s answer came from as its host's
        (``<prefix>:host_ip``), when it is new or changed. An answer through
        a proxy came from the proxy's address and is skipped; one not
        recorded while Redis is away is recorded with a later answer."""
        if address is None or request.meta.get("proxy"):
            return
        host = urlparse_cached(request).hostname
        ip = str(address)
        if not host or self.recorded.get(host) == ip or self.outage.waiting():
            return
        try:
            self.server.hset(self.keys.host_ip, host, ip)
        except redis.RedisError as exc:
            self.outage.failed("recording a host's address", exc)
            return
        self.outage.succeeded()
        if len(self.recorded) >= self.max_hosts:
            self.recorded.clear()
        self.recorded[host] = ip
        self.stats.inc_value("backlinkbot/frontier/host_addresses")

    async def _take_turn(
        self, script: Any, keys: list[str], args: list[Any], waits: str, doing: str
    ) -> float | None:
        """Run ``script`` (it answers the seconds to wait, 0 once the turn is
        taken, and Redis's time) until it takes the turn, sleeping the
        seconds it answers otherwise, each sleep counted under ``waits``;
        the turn's time (Redis ``TIME``). While Redis cannot be reached the
        request goes without (None; the failure is logged as ``doing``)."""
        while not self.outage.waiting():
            try:
                wait, now = script(keys=keys, args=args)
            except redis.RedisError as exc:
                self.outage.failed(doing, exc)
                return None
            self.outage.succeeded()
            if float(wait) <= 0:
                return float(now)
            self.stats.inc_value(waits)
            await sleep(float(wait))  # asyncio's or Twisted's, by the reactor
        return None


def _needs_address_turn(request: Request) -> bool:
    """Whether the pop left ``request`` unspaced by address: not marked
    :data:`IP_SPACED`, or it waited for its host's robots.txt since (that
    fetch took a turn of the same address), or it is robots.txt."""
    meta = request.meta
    return not meta.get(IP_SPACED) or bool(meta.get(ROBOTS_REQUEST) or meta.get(ROBOTS_WAITED))

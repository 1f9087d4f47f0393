"""The shared request queue (``SCHEDULER_QUEUE_CLASS``): polite and leased.

Requests wait in one sorted set per host (``<prefix>:requests:<host>``,
scored by ``-priority``); ``<prefix>:hosts`` scores each host by the earliest
time (Redis server time) its next request may be fetched. One Lua script
pops, atomically:

1. nothing while the crawl is paused or its page budget is spent;
2. the host whose time has come first, then its best request, and again
   for as many requests as the worker has free download slots;
3. moves that request to the leases (:mod:`.leases`), marks this worker busy
   and counts it against the cluster's page budget;
4. reschedules the host at now + its delay: robots.txt ``Crawl-delay`` from
   ``<prefix>:crawl_delay`` when known, else ``BACKLINKBOT_HOST_DELAY``;
5. with ``BACKLINKBOT_IP_DELAY``, also spaces the hosts that share a known
   IP address (``<prefix>:host_ip``, ``<prefix>:ip_ready``).

So the spacing holds for all workers together (the rest of it, and the
turns each request carries, are :mod:`.spacing`'s), hosts are served
round-robin by readiness (one huge site cannot starve the others), and a
request is always queued, leased, or done. Pushes are batched:
:meth:`push_many` checks a batch against the Bloom dupefilter and queues the
new ones in one call, counting them per host in ``<prefix>:host_pages``:
once a host has ``BACKLINKBOT_MAX_HOST_PAGES`` requests, its further new
URLs are marked seen but not queued (the per-host budget, exact and
cluster-wide, at no memory in the workers).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, NamedTuple

from scrapy.utils.httpobj import urlparse_cached
from scrapy_redis.queue import PriorityQueue

from backlinkbot.connection import CrawlKeys, redis_client_async, worker_name
from backlinkbot.urlnorm import url_host

from .leases import Leases
from .serializer import request_to_dict
from .spacing import IP_SPACED, TURN, ip_delay_setting, mark_popped

if TYPE_CHECKING:
    from scrapy import Request, Spider

__all__ = [
    "IP_SPACED", "OVER_BUDGET", "QUEUED", "SEEN", "TURN", "Bits", "Entry", "FrontierQueue", "Taken",
]  # fmt: skip

# KEYS: hosts, queued, host_pages. ARGV[1]: host queue base; ARGV[2]: host
# budget (0 = none); then five per request: bloom key ('' = not filtered),
# its bit offsets (comma-separated), host, score, data. Returns per request
# 1 (queued), 0 (seen before) or 2 (new, but its host's budget is spent).
_PUSH = """
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local budget = tonumber(ARGV[2])
local out, added = {}, 0
for i = 3, #ARGV, 5 do
  local bloom = ARGV[i]
  local status = 1
  if bloom ~= '' then
    -- One BITFIELD sets every bit and answers their old values.
    local ops = {}
    for offset in string.gmatch(ARGV[i + 1], '%d+') do
      ops[#ops + 1] = 'SET'
      ops[#ops + 1] = 'u1'
      ops[#ops + 1] = offset
      ops[#ops + 1] = 1
    end
    status = 0
    for _, old in ipairs(redis.call('BITFIELD', bloom, unpack(ops))) do
      if old == 0 then status = 1 end
    end
  end
  local host = ARGV[i + 2]
  if status == 1 and budget > 0 then
    if redis.call('HINCRBY', KEYS[3], host, 1) > budget then status = 2 end
  end
  if status == 1 then
    added = added + redis.call('ZADD', ARGV[1] .. ':' .. host, ARGV[i + 3], ARGV[i + 4])
    redis.call('ZADD', KEYS[1], 'NX', now, host)
  end
  out[#out + 1] = status
end
if added > 0 then redis.call('INCRBY', KEYS[2], added) end
return out
"""

# KEYS: hosts, queued, leased, lease_data, busy, dequeued, crawl_delay,
# paused, host_ip, ip_ready. ARGV: worker, page budget, lease timeout, default
# delay, host queue base, per-IP delay (0 = none), then one lease id per
# request wanted. Returns the requests taken (fewer when no more host is
# ready), in the order they were taken; for each 1 when it was spaced by its
# host's address, else 0; for each the seconds until its host's next turn
# (strings: Lua numbers come back as integers); and the pop's time.
_POP = """
if redis.call('EXISTS', KEYS[8]) == 1 then return {} end
local budget = tonumber(ARGV[2])
local ip_delay = tonumber(ARGV[6])
local wanted = #ARGV - 6
if budget > 0 then
  local left = budget - tonumber(redis.call('GET', KEYS[6]) or '0')
  if left < wanted then wanted = left end
end
if wanted <= 0 then return {} end
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local expiry = now + tonumber(ARGV[3])
local out, spaced, turns = {}, {}, {}
for _ = 1, 100 + wanted do
  if #out >= wanted then break end
  local ready = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1)
  if #ready == 0 then break end
  local host = ready[1]
  local ip = false
  local free = 0
  if ip_delay > 0 then
    ip = redis.call('HGET', KEYS[9], host)
    if ip then free = tonumber(redis.call('HGET', KEYS[10], ip) or '0') or 0 end
  end
  local qkey = ARGV[5] .. ':' .. host
  local top = {}
  if free > now then
    -- Its address was used lately: the host waits for the address.
    redis.call('ZADD', KEYS[1], free, host)
  else
    top = redis.call('ZRANGE', qkey, 0, 0, 'WITHSCORES')
    -- Nothing queued and its delay over: a later push takes it up at once.
    if #top == 0 then redis.call('ZREM', KEYS[1], host) end
  end
  if #top > 0 then
    local lease = ARGV[7 + #out]
    redis.call('ZREM', qkey, top[1])
    local delay = tonumber(redis.call('HGET', KEYS[7], host) or ARGV[4]) or 0
    local next_time = now + delay
    if ip then
      redis.call('HSET', KEYS[10], ip, now + ip_delay)
      -- Behind the hosts waiting for the same address: they take turns.
      if next_time <= now + ip_delay then next_time = now + ip_delay + 0.000001 end
    elseif ip_delay > 0 and next_time < now + ip_delay then
      -- Address not known yet: one request per IP delay, which the worker
      -- spaces by the address it resolves (AddressSpacing).
      next_time = now + ip_delay
    end
    -- A host without delay goes behind every other ready host: round-robin.
    redis.call('ZADD', KEYS[1], next_time, host)
    redis.call('ZADD', KEYS[3], expiry, lease)
    redis.call('HSET', KEYS[4], lease, host .. '\\t' .. top[2] .. '\\t' .. top[1])
    out[#out + 1] = top[1]
    spaced[#spaced + 1] = ip and 1 or 0
    turns[#turns + 1] = tostring(next_time - now)
  end
end
if #out > 0 then
  redis.call('DECRBY', KEYS[2], #out)
  redis.call('HSET', KEYS[5], ARGV[1], now)
  redis.call('INCRBY', KEYS[6], #out)
end
return {out, spaced, turns, tostring(now)}
"""

#: What :meth:`FrontierQueue.push_many` did with each request.
SEEN, QUEUED, OVER_BUDGET = 0, 1, 2

#: A request's Bloom filter bits: (bitmap key, offsets), or None (not filtered).
Bits = tuple[str, list[int]] | None


#: Stands for the URL in a request encoded once for many URLs.
_SAMPLE_URL = "http://url.backlinkbot.invalid/"
_SAMPLE_JSON = json.dumps(_SAMPLE_URL).encode("utf-8")


def _json_string(url: str) -> bytes:
    """``url`` as a JSON string. A normalized URL is printable ASCII without
    quotes or backslashes (those are percent-encoded): it needs no escaping."""
    if url.isascii() and url.isprintable() and '"' not in url and "\\" not in url:
        return b'"' + url.encode("ascii") + b'"'
    return json.dumps(url, ensure_ascii=False).encode("utf-8")


class Taken(NamedTuple):
    """What one pop leased, still encoded: the requests, whether each was
    spaced by its host's address, the seconds until each one's host's next
    turn, and the lease ids the pop was given (the first ``len(encoded)`` of
    them are taken); when the worker asked (``time.monotonic()``) and the
    pop's time (Redis ``TIME``)."""

    encoded: list[bytes]
    spaced: list[bool]
    turns: list[float]
    ids: list[str]
    asked: float = 0.0
    at: float = 0.0


class Entry(NamedTuple):
    """A request ready for the queue: its host queue, score and encoding."""

    url: str
    host: str
    score: int
    data: bytes
    bits: Bits


class FrontierQueue(PriorityQueue):  # type: ignore[misc]
    """Per-host priority queues with cluster-wide politeness and leases."""

    def __init__(self, server: Any, spider: Spider, key: str, serializer: Any = None) -> None:
        super().__init__(server, spider, key, serializer)
        settings = spider.crawler.settings
        self.keys = CrawlKeys.from_settings(settings)
        self.worker = worker_name(settings)
        self.max_pages = settings.getint("BACKLINKBOT_MAX_PAGES")
        self.max_host_pages = settings.getint("BACKLINKBOT_MAX_HOST_PAGES")
        self.host_delay = settings.getfloat("BACKLINKBOT_HOST_DELAY")
        self.ip_delay = ip_delay_setting(settings)
        self.leases = Leases(
            server, self.keys, self.worker, timeout=settings.getfloat("BACKLINKBOT_LEASE_TIMEOUT")
        )
        self._pop = server.register_script(_POP)
        self._push = server.register_script(_PUSH)
        #: The event loop's client and pop script, made at the first
        #: :meth:`take_async`.
        self.async_server: Any = None
        self._pop_async: Any = None

    def __len__(self) -> int:
        return int(self.server.get(self.keys.queued) or 0)

    def budget_exhausted(self) -> bool:
        if self.max_pages <= 0:
            return False
        return int(self.server.get(self.keys.dequeued) or 0) >= self.max_pages

    def push(self, request: Request) -> None:
        self.push_many([self.entry(request, None)])

    def entry(self, request: Request, bits: Bits) -> Entry:
        """``request`` encoded for :meth:`push_many`."""
        host = urlparse_cached(request).hostname or ""
        return Entry(request.url, host, -request.priority, self._encode_request(request), bits)

    def entries_like(self, prototype: Request, urls: list[str], bits: list[Bits]) -> list[Entry]:
        """One entry per URL, each a copy of ``prototype`` with that URL.

        The discovered links of a page share everything but the URL, so the
        request is encoded once and each URL spliced into its JSON (any other
        serializer encodes each copy). The URLs must be as a request would
        hold them: normalized URLs are."""
        encoded = self._encode_request(prototype.replace(url=_SAMPLE_URL))
        if encoded.count(_SAMPLE_JSON) != 1:
            copies = (prototype.replace(url=url) for url in urls)
            return [self.entry(r, b) for r, b in zip(copies, bits, strict=True)]
        head, _, tail = encoded.partition(_SAMPLE_JSON)
        score = -prototype.priority
        entries = []
        for url, b in zip(urls, bits, strict=True):
            data = b"".join((head, _json_string(url), tail))
            entries.append(Entry(url, url_host(url).strip("[]"), score, data, b))
        return entries

    def push_many(self, entries: list[Entry]) -> list[int]:
        """Queue each entry whose bits were not all set and whose host is
        within its budget; one round trip. Returns QUEUED, SEEN or
        OVER_BUDGET per entry."""
        if not entries:
            return []
        args: list[Any] = [self.keys.requests, self.max_host_pages]
        for entry in entries:
            bits = entry.bits
            if bits is None:
                args += ["", "", entry.host, entry.score, entry.data]
            else:
                offsets = ",".join(map(str, bits[1]))
                args += [bits[0], offsets, entry.host, entry.score, entry.data]
        keys = [self.keys.hosts, self.keys.queued, self.keys.host_pages]
        return [int(status) for status in self._push(keys=keys, args=args)]

    def pop(self, timeout: int = 0) -> Request | None:
        taken = self.pop_many(1)
        return taken[0] if taken else None

    def pop_many(self, count: int) -> list[Request]:
        """Lease up to ``count`` requests, each from the host whose time has
        come first; one round trip."""
        return self.adopt(self.take(self.lease_ids(count)))

    def lease_ids(self, count: int) -> list[str]:
        """Lease ids for a :meth:`take` of up to ``count`` requests."""
        return [self.leases.new_id() for _ in range(max(1, count))]

    def take(self, ids: list[str]) -> Taken:
        """Lease a request per id in ``ids`` (fewer when no more host is
        ready), as encoded; one round trip."""
        asked = time.monotonic()
        return self._taken(self._pop(**self._pop_call(ids)), ids, asked)

    async def take_async(self, ids: list[str]) -> Taken:
        """:meth:`take` on the event loop: the reactor goes on until Redis
        answers."""
        if self._pop_async is None:
            self.async_server = redis_client_async(self.spider.crawler.settings)
            self._pop_async = self.async_server.register_script(_POP)
        asked = time.monotonic()
        return self._taken(await self._pop_async(**self._pop_call(ids)), ids, asked)

    async def aclose(self) -> None:
        """Close the event loop's connections (:meth:`take_async`)."""
        if self.async_server is not None:
            await self.async_server.aclose()

    def _pop_call(self, ids: list[str]) -> dict[str, list[Any]]:
        k = self.keys
        return {
            "keys": [k.hosts, k.queued, k.leased, k.lease_data, k.busy, k.dequeued,
                     k.crawl_delay, k.paused, k.host_ip, k.ip_ready],
            "args": [self.worker, self.max_pages, self.leases.timeout, self.host_delay,
                     k.requests, self.ip_delay, *ids],
        }  # fmt: skip

    @staticmethod
    def _taken(answer: Any, ids: list[str], asked: float) -> Taken:
        if not answer:
            return Taken([], [], [], ids, asked)
        encoded, spaced, turns, at = answer
        return Taken(
            list(encoded), [bool(flag) for flag in spaced], [float(t) for t in turns], ids,
            asked, float(at),
        )  # fmt: skip

    def adopt(self, taken: Taken) -> list[Request]:
        """The requests of a :meth:`take`, decoded and held under their
        leases; a spaced one with its turn (``meta[TURN]``)."""
        requests: list[Request] = []
        answers = zip(taken.encoded, taken.spaced, taken.turns, taken.ids, strict=False)
        for data, by_address, turn, lease in answers:
            request: Request = self._decode_request(data)
            mark_popped(
                request, asked=taken.asked, at=taken.at, host_turn=turn, by_address=by_address,
                ip_delay=self.ip_delay,
            )  # fmt: skip
            self.leases.hold(request.url, lease)
            requests.append(request)
        return requests

    def _encode_request(self, request: Request) -> bytes:
        return bytes(self.serializer.dumps(request_to_dict(request, self.spider)))

    def clear(self) -> None:
        # Shared by every worker of the crawl: never cleared by one of them.
        return None

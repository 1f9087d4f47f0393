"""The shared request queue (``SCHEDULER_QUEUE_CLASS``): polite and leased.

Requests wait in one sorted set per host (``<prefix>:requests:<host>``,
scored by ``-priority``); ``<prefix>:hosts`` scores each host by the earliest
time (Redis server time) its next request may be fetched. One Lua script
pops, atomically:

1. nothing while the crawl is paused or its page budget is spent;
2. the host whose time has come first, then its best request;
3. moves that request to the leases (:mod:`.leases`), marks this worker busy
   and counts it against the cluster's page budget;
4. reschedules the host at now + its delay: robots.txt ``Crawl-delay`` from
   ``<prefix>:crawl_delay`` when known, else ``BACKLINKBOT_HOST_DELAY``.

So the spacing holds for all workers together, hosts are served round-robin
by readiness (one huge site cannot starve the others), and a request is
always queued, leased, or done. Pushes are batched: :meth:`push_many` checks
a batch against the Bloom dupefilter and queues the new ones in one call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.utils.httpobj import urlparse_cached
from scrapy_redis.queue import PriorityQueue

from .keys import CrawlKeys, worker_name
from .leases import Leases

if TYPE_CHECKING:
    from scrapy import Request, Spider

__all__ = ["FrontierQueue"]

# KEYS: hosts, queued. ARGV[1]: host queue base; then one group per request:
# bloom key ('' = not filtered), n, n bit offsets, host, score, data.
# Returns 1 (queued) or 0 (seen before) per request.
_PUSH = """
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local out, added, i = {}, 0, 2
while i <= #ARGV do
  local bloom, n = ARGV[i], tonumber(ARGV[i + 1])
  local new = 1
  if bloom ~= '' then
    new = 0
    for j = 1, n do
      if redis.call('SETBIT', bloom, ARGV[i + 1 + j], 1) == 0 then new = 1 end
    end
  end
  i = i + 2 + n
  if new == 1 then
    local host = ARGV[i]
    added = added + redis.call('ZADD', ARGV[1] .. ':' .. host, ARGV[i + 1], ARGV[i + 2])
    redis.call('ZADD', KEYS[1], 'NX', now, host)
  end
  out[#out + 1] = new
  i = i + 3
end
if added > 0 then redis.call('INCRBY', KEYS[2], added) end
return out
"""

# KEYS: hosts, queued, leased, lease_data, busy, dequeued, crawl_delay,
# paused. ARGV: worker, page budget, lease timeout, default delay, host queue
# base, lease id. Returns the request or false.
_POP = """
if redis.call('EXISTS', KEYS[8]) == 1 then return false end
local budget = tonumber(ARGV[2])
if budget > 0 and tonumber(redis.call('GET', KEYS[6]) or '0') >= budget then
  return false
end
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
for _ = 1, 100 do
  local ready = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1)
  if #ready == 0 then return false end
  local host = ready[1]
  local qkey = ARGV[5] .. ':' .. host
  local top = redis.call('ZRANGE', qkey, 0, 0, 'WITHSCORES')
  if #top == 0 then
    -- Its delay is over: a later push may take the host up at once.
    redis.call('ZREM', KEYS[1], host)
  else
    redis.call('ZREM', qkey, top[1])
    redis.call('DECR', KEYS[2])
    local delay = tonumber(redis.call('HGET', KEYS[7], host) or ARGV[4]) or 0
    redis.call('ZADD', KEYS[1], now + delay, host)
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[6])
    redis.call('HSET', KEYS[4], ARGV[6], host .. '\\t' .. top[2] .. '\\t' .. top[1])
    redis.call('HSET', KEYS[5], ARGV[1], now)
    redis.call('INCR', KEYS[6])
    return top[1]
  end
end
return false
"""

#: A request's Bloom filter bits: (bitmap key, offsets), or None (not filtered).
Bits = tuple[str, list[int]] | None


class FrontierQueue(PriorityQueue):  # type: ignore[misc]
    """Per-host priority queues with cluster-wide politeness and leases."""

    def __init__(self, server: Any, spider: Spider, key: str, serializer: Any = None) -> None:
        super().__init__(server, spider, key, serializer)
        settings = spider.crawler.settings
        self.keys = CrawlKeys(str(settings.get("BACKLINKBOT_REDIS_PREFIX")))
        self.worker = worker_name(settings)
        self.max_pages = settings.getint("BACKLINKBOT_MAX_PAGES")
        self.host_delay = settings.getfloat("BACKLINKBOT_HOST_DELAY")
        self.leases = Leases(
            server, self.keys, self.worker, timeout=settings.getfloat("BACKLINKBOT_LEASE_TIMEOUT")
        )
        self._pop = server.register_script(_POP)
        self._push = server.register_script(_PUSH)

    def __len__(self) -> int:
        return int(self.server.get(self.keys.queued) or 0)

    def budget_exhausted(self) -> bool:
        if self.max_pages <= 0:
            return False
        return int(self.server.get(self.keys.dequeued) or 0) >= self.max_pages

    def push(self, request: Request) -> None:
        self.push_many([(request, None)])

    def push_many(self, entries: list[tuple[Request, Bits]]) -> list[bool]:
        """Queue each request whose bits were not all set; one round trip."""
        if not entries:
            return []
        args: list[Any] = [self.keys.requests]
        for request, bits in entries:
            if bits is None:
                args += ["", 0]
            else:
                args += [bits[0], len(bits[1]), *bits[1]]
            host = urlparse_cached(request).hostname or ""
            args += [host, -request.priority, self._encode_request(request)]
        queued = self._push(keys=[self.keys.hosts, self.keys.queued], args=args)
        return [bool(flag) for flag in queued]

    def pop(self, timeout: int = 0) -> Request | None:
        k = self.keys
        lease = self.leases.new_id()
        data = self._pop(
            keys=[k.hosts, k.queued, k.leased, k.lease_data, k.busy, k.dequeued,
                  k.crawl_delay, k.paused],
            args=[self.worker, self.max_pages, self.leases.timeout, self.host_delay,
                  k.requests, lease],
        )  # fmt: skip
        if not data:
            return None
        request: Request = self._decode_request(data)
        self.leases.hold(request.url, lease)
        return request

    def clear(self) -> None:
        # Shared by every worker of the crawl: never cleared by one of them.
        return None

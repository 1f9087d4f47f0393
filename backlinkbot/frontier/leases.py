"""Leases: a request handed to a worker stays in Redis until it is done.

The queue's pop moves a request into ``<prefix>:leased`` and
``<prefix>:lease_data``; this worker renews its leases, acknowledges them
once their pages are stored, and returns the rest when it closes. Any
worker's reaper puts expired leases back in their host queues. An
acknowledgement only counts on the Redis server run the page's links were
queued on (docs/FRONTIER.md, "Nothing is lost: leases").
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections import defaultdict
from typing import Any

from backlinkbot.connection import CrawlKeys

__all__ = ["Leases", "ServerChanged", "request_done"]

logger = logging.getLogger(__name__)

#: Signal (with ``request``) sent by the spider for a request that ends
#: without a page item, so that its lease is acknowledged.
request_done = object()

# Moves the lease ids in ``ids`` back to their host queues (shared by the
# reaper and by a closing worker). KEYS: leased, lease_data, hosts, queued,
# dequeued. ARGV[1]: host queue base name.
_REQUEUE = """
local function requeue(ids, now)
  local back = 0
  for _, id in ipairs(ids) do
    local rec = redis.call('HGET', KEYS[2], id)
    if rec then
      local host, score, data = string.match(rec, '^([^\\t]*)\\t([^\\t]*)\\t(.*)$')
      back = back + redis.call('ZADD', ARGV[1] .. ':' .. host, score, data)
      redis.call('ZADD', KEYS[3], 'NX', now, host)
      redis.call('INCR', KEYS[4])
      redis.call('DECR', KEYS[5])
    end
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
  end
  return back
end
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

# ARGV[2]: most leases to reap in one call. Returns the requests requeued.
_REAP = (
    _REQUEUE
    + """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
return requeue(ids, now)
"""
)

# ARGV[2:]: lease ids to give back.
_RELEASE = (
    _REQUEUE
    + """
local ids = {}
for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
return requeue(ids, now)
"""
)

# KEYS: leased. ARGV[1]: timeout; ARGV[2:]: lease ids. Extends live leases.
_RENEW = """
redis.replicate_commands()
local t = redis.call('TIME')
local expiry = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1])
local renewed = 0
for i = 2, #ARGV do
  renewed = renewed + redis.call('ZADD', KEYS[1], 'XX', 'CH', expiry, ARGV[i])
end
return renewed
"""


# KEYS: leased, lease_data. ARGV[1]: run_id of the Redis server the leases
# were taken on ('' = do not check); ARGV[2:]: lease ids. Deletes them and
# answers {1, run_id}; on another server run, deletes nothing: {0, run_id}.
_ACK = """
redis.replicate_commands()
local run = ''
if ARGV[1] ~= '' then
  run = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)') or ''
  if run ~= ARGV[1] then return {0, run} end
end
for i = 2, #ARGV do
  redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('HDEL', KEYS[2], ARGV[i])
end
return {1, run}
"""


class ServerChanged(Exception):
    """Redis is not the server run this worker's leases were taken on: it was
    restarted or failed over, and may have lost writes this worker saw
    succeed. The leases held were given up, not acknowledged."""

    def __init__(self, run_id: str, dropped: int) -> None:
        super().__init__(f"Redis server run is now {run_id or '?'}; {dropped} leases given up")
        self.run_id = run_id
        self.dropped = dropped


class Leases:
    """The leases this worker holds, by URL."""

    def __init__(self, server: Any, keys: CrawlKeys, worker: str, *, timeout: float) -> None:
        self.server = server
        self.keys = keys
        self.timeout = timeout
        # A fresh token per process: a restarted worker with the same id never
        # reuses the lease ids of its previous life.
        self._ids = (f"{worker}|{uuid.uuid4().hex[:8]}|{n}" for n in itertools.count())
        self.held: dict[str, list[str]] = defaultdict(list)
        #: ``run_id`` of the Redis server run the held leases were taken on
        #: (None: unknown; "": not to be checked; either way acknowledgements
        #: are not checked).
        self.run_id: str | None = None
        self._ack = server.register_script(_ACK)
        self._reap = server.register_script(_REAP)
        self._release = server.register_script(_RELEASE)
        self._renew = server.register_script(_RENEW)

    def new_id(self) -> str:
        return next(self._ids)

    def hold(self, url: str, lease_id: str) -> None:
        self.held[url].append(lease_id)

    def __len__(self) -> int:
        return sum(len(ids) for ids in self.held.values())

    def learn_server(self) -> str:
        """Note which Redis server run leases are taken on from now on."""
        self.run_id = str(self.server.info("server")["run_id"])
        return self.run_id

    def ack(self, urls: list[str]) -> int:
        """Delete the leases of ``urls``, done for good; returns how many.

        The leases stay held if Redis cannot be reached (the error is
        raised): acknowledge them again later. Raises :class:`ServerChanged`,
        having given up every lease held, when Redis is another server run
        than :attr:`run_id`."""
        urls = list(dict.fromkeys(urls))
        ids = [i for url in urls for i in self.held.get(url, ())]
        if ids:
            done, run = self._ack(
                keys=[self.keys.leased, self.keys.lease_data], args=[self.run_id or "", *ids]
            )
            if not int(done):
                run_id = run.decode() if isinstance(run, bytes) else str(run)
                dropped = len(self)
                self.held.clear()
                self.run_id = run_id
                raise ServerChanged(run_id, dropped)
        for url in urls:
            self.held.pop(url, None)
        return len(ids)

    def renew(self) -> int:
        ids = [i for held in self.held.values() for i in held]
        if not ids:
            return 0
        return int(self._renew(keys=[self.keys.leased], args=[self.timeout, *ids]))

    def reap(self, limit: int = 1000) -> int:
        """Requeue every expired lease of the cluster (any worker's)."""
        return int(self._reap(keys=self._requeue_keys(), args=[self.keys.requests, limit]))

    def release(self) -> int:
        """Give every lease this worker still holds back to the queue."""
        ids = [i for held in self.held.values() for i in held]
        self.held.clear()
        if not ids:
            return 0
        return int(self._release(keys=self._requeue_keys(), args=[self.keys.requests, *ids]))

    def _requeue_keys(self) -> list[str]:
        k = self.keys
        return [k.leased, k.lease_data, k.hosts, k.queued, k.dequeued]

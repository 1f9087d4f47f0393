"""Which workers are busy, and whether the whole crawl is finished.

A worker is busy from the pop that gives it a request until its engine is
idle again. The crawl is finished when at least one request was handed out,
nothing is queued (or the page budget is spent), no seed waits, nothing is
leased, the crawl is not paused, and no live worker is busy (a worker whose
heartbeat is older than ``BACKLINKBOT_WORKER_TIMEOUT`` is not live).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis

from backlinkbot.connection import CrawlKeys

__all__ = ["Cluster"]

logger = logging.getLogger(__name__)


# KEYS: busy, heartbeat, queued, start_urls, dequeued, leased, paused.
# ARGV: worker, now, worker timeout, page budget.
# Unmarks the worker, then answers 1 if the crawl is finished, else 0.
_IDLE = """
redis.call('HDEL', KEYS[1], ARGV[1])
local budget = tonumber(ARGV[4])
local dequeued = tonumber(redis.call('GET', KEYS[5]) or '0')
if dequeued == 0 then return 0 end
if redis.call('EXISTS', KEYS[7]) == 1 then return 0 end
if redis.call('ZCARD', KEYS[6]) > 0 then return 0 end
local spent = budget > 0 and dequeued >= budget
if not spent and tonumber(redis.call('GET', KEYS[3]) or '0') > 0 then return 0 end
if redis.call('LLEN', KEYS[4]) > 0 then return 0 end
local now = tonumber(ARGV[2])
local timeout = tonumber(ARGV[3])
local busy = redis.call('HKEYS', KEYS[1])
for _, worker in ipairs(busy) do
  local beat = tonumber(redis.call('HGET', KEYS[2], worker) or '0')
  if now - beat < timeout then return 0 end
end
return 1
"""


class Cluster:
    """This worker's view of the cluster's shared state."""

    def __init__(
        self, server: Any, keys: CrawlKeys, worker: str, *, worker_timeout: float, max_pages: int
    ) -> None:
        self.server = server
        self.keys = keys
        self.worker = worker
        self.worker_timeout = worker_timeout
        self.max_pages = max_pages
        self._idle = server.register_script(_IDLE)

    def heartbeat(self) -> bool:
        """Record that this worker is alive; False (never an error) when Redis
        cannot be reached: the stats extension beats again every
        ``BACKLINKBOT_STATS_INTERVAL``."""
        try:
            self.server.hset(self.keys.heartbeat, self.worker, f"{time.time():.3f}")
        except redis.RedisError as exc:
            logger.warning("Could not record this worker's heartbeat in Redis: %s", exc)
            return False
        return True

    def idle(self) -> bool:
        """Mark this worker idle; True when the whole crawl is finished.

        Raises :class:`redis.RedisError` when Redis cannot be reached: the
        caller must then not take the crawl for finished."""
        finished = self._idle(
            keys=[
                self.keys.busy,
                self.keys.heartbeat,
                self.keys.queued,
                self.keys.start_urls,
                self.keys.dequeued,
                self.keys.leased,
                self.keys.paused,
            ],
            args=[self.worker, f"{time.time():.3f}", self.worker_timeout, self.max_pages],
        )
        return bool(finished)

    def leave(self) -> bool:
        """Unmark this worker; False (never an error) when Redis cannot be
        reached: its heartbeat then goes stale within
        ``BACKLINKBOT_WORKER_TIMEOUT``."""
        try:
            with self.server.pipeline() as pipe:
                pipe.hdel(self.keys.busy, self.worker)
                pipe.hdel(self.keys.heartbeat, self.worker)
                pipe.execute()
        except redis.RedisError as exc:
            logger.warning("Could not remove this worker from the cluster in Redis: %s", exc)
            return False
        return True

"""Which workers are busy, and whether the whole crawl is finished.

A worker is *busy* from the moment it takes a request from the queue (the
queue's pop marks it, atomically) until its engine is idle again (nothing in
flight, nothing left to parse or store), when :meth:`Cluster.idle` unmarks it.
The crawl is finished when at least one request was handed out, the queue
and the seed list are empty (or the page budget is spent) and no live worker
is busy, no request is leased (a lease is work in progress; a dead worker's
leases expire and return to the queue) and the crawl is not paused. (Workers
started before the seeds arrive wait for them.) A worker whose heartbeat is
older than ``BACKLINKBOT_WORKER_TIMEOUT`` is not live: a dead worker does not
keep the others waiting forever.

While Redis cannot be reached (restarted, failed over, network) a worker
waits: :class:`RedisOutage` counts the failed calls
(``backlinkbot/frontier/redis_errors``), logs a warning now and then and says
when to try again; nothing is given up meanwhile (docs/FRONTIER.md,
"Persistence and Redis restarts").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry
from scrapy.settings import Settings
from scrapy_redis.connection import get_redis_from_settings

from .keys import CrawlKeys

__all__ = [
    "REDIS_ERRORS", "Cluster", "RedisOutage", "fail_fast", "shared_redis", "shared_redis_async",
]  # fmt: skip

logger = logging.getLogger(__name__)

#: Stats key counting the calls to the shared Redis that failed.
REDIS_ERRORS = "backlinkbot/frontier/redis_errors"


def fail_fast(server: Any) -> Any:
    """Make the client ``server`` raise at once when a call fails.

    With scrapy-redis's connection defaults (``retry_on_timeout``) redis-py
    sends a command that failed on a dead connection or timed out once more,
    at once (a client built with other retry settings may retry more, and
    pause between tries, stalling the reactor). A command Redis ran but whose
    answer was lost would run twice: for a pop, or a seed read, that loses
    what the first run took. The frontier retries at its own level instead.
    (A connection Redis closed while idle is still replaced transparently
    when taken from the pool.)
    """
    if isinstance(server, redis.asyncio.Redis):
        server.set_retry(AsyncRetry(NoBackoff(), 0))
    elif hasattr(server, "set_retry"):
        server.set_retry(Retry(NoBackoff(), 0))
    return server


def shared_redis(settings: Any) -> Any:
    """The crawl's Redis client (scrapy-redis's ``REDIS_*`` settings), failing
    fast (:func:`fail_fast`)."""
    return fail_fast(get_redis_from_settings(settings))


def shared_redis_async(settings: Any) -> redis.asyncio.Redis:
    """:func:`shared_redis` for the event loop (``redis.asyncio``): the same
    server and parameters, answers read when they come."""
    params = dict(settings.getdict("REDIS_PARAMS"))
    params["redis_cls"] = redis.asyncio.Redis
    copy = Settings(settings.copy_to_dict())
    copy.set("REDIS_PARAMS", params)
    client: redis.asyncio.Redis = fail_fast(get_redis_from_settings(copy))
    return client


class RedisOutage:
    """The failed calls of one component to the shared Redis.

    Each failure is counted under :data:`REDIS_ERRORS`; a warning is logged at
    most every ``warn_every`` seconds (and once when Redis answers again), and
    :meth:`waiting` is true for a pause after each failure (doubling from
    ``first_wait`` up to ``max_wait`` seconds), during which callers skip
    Redis and answer as if work were pending.
    """

    def __init__(
        self,
        stats: Any,
        log: logging.Logger | None = None,
        *,
        warn_every: float = 5.0,
        first_wait: float = 0.25,
        max_wait: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stats = stats
        self.log = log or logger
        self.warn_every = warn_every
        self.first_wait = first_wait
        self.max_wait = max_wait
        self.clock = clock
        #: Failed calls since Redis last answered.
        self.errors = 0
        self.retry_at = 0.0
        self._wait = 0.0
        self._warned_at: float | None = None

    def waiting(self) -> bool:
        """True while the pause after a failure lasts: do not call Redis."""
        return self.errors > 0 and self.clock() < self.retry_at

    def retry_now(self) -> None:
        """End the pause (a last try, when closing)."""
        self.retry_at = 0.0

    def failed(self, what: str, exc: BaseException) -> None:
        self.errors += 1
        if self.stats is not None:
            self.stats.inc_value(REDIS_ERRORS)
        now = self.clock()
        self._wait = min(self.max_wait, self._wait * 2 or self.first_wait)
        self.retry_at = now + self._wait
        if self._warned_at is None or now - self._warned_at >= self.warn_every:
            self._warned_at = now
            self.log.warning(
                "Redis unreachable (%s: %s); waiting and retrying, nothing is given up"
                " (%d failed calls so far)",
                what, str(exc) or type(exc).__name__, self.errors,
            )  # fmt: skip

    def succeeded(self) -> None:
        if not self.errors:
            return
        self.log.warning("Redis reachable again after %d failed calls", self.errors)
        self.errors = 0
        self._wait = 0.0
        self.retry_at = 0.0
        self._warned_at = None


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

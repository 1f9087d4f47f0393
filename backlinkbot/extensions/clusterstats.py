"""Cluster-wide stats and worker heartbeats in Redis.

Every ``BACKLINKBOT_STATS_INTERVAL`` seconds each worker adds the change of its
counters to the crawl's stats hash (``HINCRBY`` in one MULTI/EXEC, with its
heartbeat). A push that fails is carried by the next: counters are never lost.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import redis
from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from backlinkbot.connection import CrawlKeys, RedisOutage, redis_client, worker_name

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

__all__ = ["PUSHED_PREFIXES", "ClusterStats"]

logger = logging.getLogger(__name__)

#: Counters shared with the cluster (prefix match on the stats key).
PUSHED_PREFIXES = (
    "backlinkbot/",
    "downloader/response_count",
    "downloader/exception_count",
    "downloader/response_status_count/",
    "robotstxt/forbidden",
    "scheduler/enqueued/redis",
    "dupefilter/filtered",
    "item_scraped_count",
)


class ClusterStats:
    def __init__(
        self, server: Any, keys: CrawlKeys, worker: str, stats: StatsCollector, interval: float
    ) -> None:
        self.server = server
        self.keys = keys
        self.worker = worker
        self.stats = stats
        self.interval = interval
        self.pushed: dict[str, int] = {}
        self.loop: task.LoopingCall | None = None
        self.outage = RedisOutage(stats, logger)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClusterStats:
        settings = crawler.settings
        interval = settings.getfloat("BACKLINKBOT_STATS_INTERVAL")
        if interval <= 0:
            raise NotConfigured("BACKLINKBOT_STATS_INTERVAL is 0")
        assert crawler.stats is not None
        ext = cls(
            # A push whose answer was lost is not sent again by redis-py (it
            # would count twice) but with the next one, the pause shorter.
            redis_client(settings),
            CrawlKeys.from_settings(settings),
            worker_name(settings),
            crawler.stats,
            interval,
        )
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        self.loop = task.LoopingCall(self.push)
        self.loop.start(self.interval, now=True)

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self.push(final=True)

    def push(self, *, final: bool = False) -> None:
        deltas: dict[str, int] = {}
        for key, value in self.stats.get_stats().items():
            if isinstance(value, bool) or not isinstance(value, int):
                continue
            if not key.startswith(PUSHED_PREFIXES):
                continue
            delta = value - self.pushed.get(key, 0)
            if delta:
                deltas[key] = delta
        try:
            with self.server.pipeline(transaction=True) as pipe:
                for key, delta in deltas.items():
                    pipe.hincrby(self.keys.stats, key, delta)
                    pipe.hincrby(self.keys.worker_stats, f"{self.worker}|{key}", delta)
                if not final:
                    pipe.hset(self.keys.heartbeat, self.worker, f"{time.time():.3f}")
                pipe.execute()
        except redis.RedisError as exc:  # Redis away: the next push carries these too
            self.outage.failed("publishing stats", exc)
            return
        except Exception as exc:  # whatever it is, it must not stop the crawl
            logger.warning("Could not push stats to Redis: %s", exc)
            return
        self.outage.succeeded()
        for key, delta in deltas.items():
            self.pushed[key] = self.pushed.get(key, 0) + delta

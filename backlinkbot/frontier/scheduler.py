"""The frontier scheduler (``SCHEDULER``): scrapy-redis's, with batching and leases.

scrapy-redis checks every request against the dupefilter and pushes it to
Redis as it comes: two round trips per discovered link, each one stalling
the reactor. This scheduler buffers :meth:`enqueue_request` calls and flushes
them in one Lua call (Bloom check + per-host queueing,
:meth:`FrontierQueue.push_many`) at the end of the reactor tick, when the
buffer holds ``BACKLINKBOT_FRONTIER_BATCH`` requests, or before a pop.

It also keeps this worker's leases (:mod:`.leases`): acknowledged when a page
is stored (``pages_stored``) or a request ends without one, renewed and, for
the whole cluster, reaped every ``BACKLINKBOT_LEASE_TIMEOUT / 3`` seconds,
and handed back to the queue when the worker closes. Closing never clears
the shared queue or dupefilter, whatever ``SCHEDULER_PERSIST`` says.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.utils.reactor import CallLaterOnce
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from backlinkbot.signals import pages_stored

from .leases import request_done

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler

    from .dupefilter import URLDupeFilter
    from .queue import Bits, FrontierQueue

__all__ = ["FrontierScheduler"]

logger = logging.getLogger(__name__)


class FrontierScheduler(Scheduler):  # type: ignore[misc]
    queue: FrontierQueue
    df: URLDupeFilter

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierScheduler:
        scheduler: FrontierScheduler = super().from_crawler(crawler)
        settings = crawler.settings
        scheduler.batch_size = max(1, settings.getint("BACKLINKBOT_FRONTIER_BATCH"))
        scheduler.lease_timeout = settings.getfloat("BACKLINKBOT_LEASE_TIMEOUT")
        scheduler.pending = []
        scheduler.requeued = []
        scheduler.flush_call = CallLaterOnce(scheduler.flush)
        scheduler.maintenance = None
        scheduler.persist = True
        connect = crawler.signals.connect
        if settings.get("BACKLINKBOT_LEASE_ACK") == "scraped":
            connect(scheduler._item_done, signal=signals.item_scraped)
        else:
            connect(scheduler._pages_stored, signal=pages_stored)
        connect(scheduler._item_done, signal=signals.item_dropped)
        connect(scheduler._item_done, signal=signals.item_error)
        connect(scheduler._response_done, signal=signals.spider_error)
        connect(scheduler._request_done, signal=request_done)
        return scheduler

    batch_size: int
    lease_timeout: float
    pending: list[tuple[Request, Bits]]
    #: URLs whose lease this worker gives up once their retry is queued.
    requeued: list[str]
    flush_call: CallLaterOnce[None]
    maintenance: task.LoopingCall | None

    def open(self, spider: Spider) -> None:
        super().open(spider)
        self.df.prepare()
        self.maintenance = task.LoopingCall(self._maintain)
        self.maintenance.start(max(0.5, self.lease_timeout / 3), now=False)

    def close(self, reason: str) -> None:
        if self.maintenance is not None and self.maintenance.running:
            self.maintenance.stop()
        self.flush()
        released = self.queue.leases.release()
        if released:
            logger.info("Returned %d unfinished requests to the frontier", released)
            self._inc("backlinkbot/frontier/leases_released", released)

    # -- enqueue: buffered ---------------------------------------------------

    def enqueue_request(self, request: Request) -> bool:
        bits = None if request.dont_filter else self.df.bits(request.url)
        if request.dont_filter and request.url in self.queue.leases.held:
            # A request this worker holds comes back (a retry): once the copy
            # is queued, the copy carries the work and the old lease must go,
            # or this worker would renew it forever and the crawl never end.
            self.requeued.append(request.url)
        self.pending.append((request, bits))
        if len(self.pending) >= self.batch_size:
            self.flush()
        else:
            self.flush_call.schedule()
        return True

    def flush(self) -> None:
        """Check and queue the buffered requests in one round trip."""
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        queued = self.queue.push_many(batch)
        added = sum(queued)
        self._inc("scheduler/enqueued/redis", added)
        self._inc("backlinkbot/frontier/push_batches", 1)
        for (request, _), new in zip(batch, queued, strict=True):
            if not new:
                self.df.log(request, self.spider)
        if self.requeued:
            urls, self.requeued = self.requeued, []
            self._inc("backlinkbot/frontier/leases_requeued", self.queue.leases.ack(urls))

    # -- dequeue: leased -----------------------------------------------------

    def next_request(self) -> Request | None:
        self.flush()
        request = self.queue.pop()
        if request is not None:
            self._inc("scheduler/dequeued/redis", 1)
        return request

    def has_pending_requests(self) -> bool:
        return bool(self.pending) or len(self.queue) > 0

    def __len__(self) -> int:
        return len(self.pending) + len(self.queue)

    # -- acknowledgements ----------------------------------------------------

    def ack(self, urls: list[str]) -> None:
        # The links found on these pages were scheduled before their pages
        # were stored: queue them before the leases that vouch for them go.
        self.flush()
        self._inc("backlinkbot/frontier/leases_acked", self.queue.leases.ack(urls))

    def _pages_stored(self, urls: list[str]) -> None:
        self.ack(urls)

    def _item_done(self, item: Any, **kwargs: Any) -> None:
        url = getattr(item, "url", None)
        if isinstance(url, str):
            self.ack([url])

    def _response_done(self, response: Any = None, **kwargs: Any) -> None:
        if response is not None:
            self.ack([response.url])

    def _request_done(self, request: Request, **kwargs: Any) -> None:
        self.ack([request.url])

    def _maintain(self) -> None:
        try:
            self.flush()
            self.queue.leases.renew()
            reaped = self.queue.leases.reap()
        except Exception as exc:  # a Redis hiccup must not stop the crawl
            logger.warning("Frontier maintenance failed: %s", exc)
            return
        if reaped:
            logger.info("Requeued %d requests of expired leases", reaped)
            self._inc("backlinkbot/frontier/leases_reaped", reaped)

    def _inc(self, key: str, value: int) -> None:
        if self.stats is not None and value:
            self.stats.inc_value(key, value)

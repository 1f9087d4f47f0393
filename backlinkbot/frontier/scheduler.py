"""The frontier scheduler (``SCHEDULER``): scrapy-redis's, with batching and leases.

scrapy-redis checks every request against the dupefilter and pushes it to
Redis as it comes: two round trips per discovered link, each one stalling
the reactor. This scheduler buffers :meth:`enqueue_request` calls and flushes
them in one Lua call (Bloom check + per-host queueing,
:meth:`FrontierQueue.push_many`) at the end of the reactor tick, when the
buffer holds ``BACKLINKBOT_FRONTIER_BATCH`` requests, or before a pop.
:meth:`enqueue_links` takes the links of a page as URLs and a prototype
request, so that a page's 30 links cost one request object, not 30 trips
through the spider middlewares and the engine.

Requests are leased in batches too: one Lua call takes as many as the
downloader has free slots (up to ``BACKLINKBOT_POP_BATCH``), and the engine,
which asks for one request per free slot in the same reactor tick, gets them
one by one.

It also keeps this worker's leases (:mod:`.leases`): acknowledged when a page
is stored (``pages_stored``) or a request ends without one, renewed and, for
the whole cluster, reaped every ``BACKLINKBOT_LEASE_TIMEOUT / 3`` seconds,
and handed back to the queue when the worker closes. Closing never clears
the shared queue or dupefilter, whatever ``SCHEDULER_PERSIST`` says.
"""

from __future__ import annotations

import logging
from collections import deque
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
    from .queue import Bits, Entry, FrontierQueue

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
        scheduler.crawler = crawler
        scheduler.downloader = None
        scheduler.pending = []
        scheduler.ready = deque()
        scheduler.pop_batch = max(1, settings.getint("BACKLINKBOT_POP_BATCH"))
        scheduler.concurrency = settings.getint("CONCURRENT_REQUESTS")
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

    crawler: Crawler
    batch_size: int
    lease_timeout: float
    pending: list[Entry]
    #: Leased requests popped in one batch, handed to the engine one by one.
    ready: deque[Request]
    pop_batch: int
    downloader: Any
    concurrency: int
    #: URLs whose lease this worker gives up once their retry is queued.
    requeued: list[str]
    flush_call: CallLaterOnce[None]
    maintenance: task.LoopingCall | None

    def open(self, spider: Spider) -> None:
        super().open(spider)
        self.df.prepare()
        try:
            self.downloader = self.crawler.engine.downloader
        except RuntimeError:  # opened outside a running crawl (tools, tests)
            self.downloader = None
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
        self._add([self.queue.entry(request, bits)])
        return True

    def enqueue_links(self, prototype: Request, urls: list[str]) -> None:
        """Queue a copy of ``prototype`` for each URL not seen before: the
        links of one page, without a request object (and a trip through the
        spider middlewares and the engine) per link. Buffered like
        :meth:`enqueue_request`."""
        if prototype.dont_filter:
            bits: list[Bits] = [None] * len(urls)
        else:
            bits = [self.df.bits(url) for url in urls]
        self._add(self.queue.entries_like(prototype, urls, bits))

    def _add(self, entries: list[Entry]) -> None:
        self.pending.extend(entries)
        if len(self.pending) >= self.batch_size:
            self.flush()
        else:
            self.flush_call.schedule()

    def flush(self) -> None:
        """Check and queue the buffered requests in one round trip."""
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        queued = self.queue.push_many(batch)
        added = sum(queued)
        self._inc("scheduler/enqueued/redis", added)
        self._inc("backlinkbot/frontier/push_batches", 1)
        self.df.filtered(*(e.url for e, new in zip(batch, queued, strict=True) if not new))
        if self.requeued:
            urls, self.requeued = self.requeued, []
            self._inc("backlinkbot/frontier/leases_requeued", self.queue.leases.ack(urls))

    # -- dequeue: leased -----------------------------------------------------

    def next_request(self) -> Request | None:
        if not self.ready:
            self.flush()
            taken = self.queue.pop_many(self._free_slots())
            if not taken:
                return None
            self._inc("scheduler/dequeued/redis", len(taken))
            self.ready.extend(taken)
        return self.ready.popleft()

    def _free_slots(self) -> int:
        """Requests the downloader can start now (at least one): the engine
        asks for one request per free slot within the same reactor tick, so
        a batch popped for them is handed out at once."""
        if self.downloader is None:
            return 1
        return max(1, min(self.pop_batch, self.concurrency - len(self.downloader.active)))

    def has_pending_requests(self) -> bool:
        return bool(self.pending) or bool(self.ready) or len(self.queue) > 0

    def __len__(self) -> int:
        return len(self.pending) + len(self.ready) + len(self.queue)

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

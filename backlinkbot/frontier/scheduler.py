"""The frontier scheduler (``SCHEDULER``): scrapy-redis's, with batches and leases.

Requests are buffered and pushed to Redis in batches (:meth:`push_pending`);
:meth:`enqueue_links` takes the links of a page as one prototype request and
its URLs. Requests are leased in batches too, popped on the event loop in a
running crawl, and acknowledged (:mod:`.acks`) once the links found before
them are queued. While Redis is away nothing raises and nothing is given up.
docs/FRONTIER.md describes the batching, the pops and the outage behaviour.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections import deque
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import redis
from scrapy import signals
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.misc import build_from_crawler, load_object
from scrapy.utils.reactor import CallLaterOnce
from scrapy_redis import defaults as scrapy_redis_defaults
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from backlinkbot.connection import RedisOutage, redis_client
from backlinkbot.signals import pages_stored

from .acks import Acknowledgements
from .leases import request_done
from .queue import OVER_BUDGET, QUEUED, SEEN

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector
    from twisted.internet.defer import Deferred

    from .dupefilter import URLDupeFilter
    from .queue import Bits, Entry, FrontierQueue, Taken

__all__ = ["FrontierScheduler"]

logger = logging.getLogger(__name__)

_QUEUE_CLASS = "backlinkbot.frontier.queue.FrontierQueue"
_QUEUE_KEY = scrapy_redis_defaults.SCHEDULER_QUEUE_KEY
#: Longest wait, when the worker closes, for a pop still on its way back.
_POP_CLOSE_WAIT = 30.0


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def wake_engine(engine: Any) -> None:
    """Have the engine ask for requests now rather than at its next heartbeat.

    Scrapy has no public call for "the scheduler has requests now"; this is
    the one private access to the engine, ``_slot.nextcall`` of Scrapy 2.19
    (pinned below 2.20 in pyproject.toml; tests/test_frontier.py checks it).
    """
    slot = getattr(engine, "_slot", None)
    if slot is not None:
        slot.nextcall.schedule()


class FrontierScheduler(Scheduler):  # type: ignore[misc]
    queue: FrontierQueue
    df: URLDupeFilter

    def __init__(
        self,
        server: Any,
        dupefilter: URLDupeFilter,
        *,
        queue_cls: str = _QUEUE_CLASS,
        queue_key: str = _QUEUE_KEY,
        serializer: Any = None,
        batch_size: int = 500,
        pop_batch: int = 16,
        concurrency: int = 16,
        lease_timeout: float = 60.0,
        stats: StatsCollector | None = None,
        crawler: Crawler | None = None,
    ) -> None:
        # The queue and the dupefilter are shared by every worker: never
        # cleared by one of them (persist, and their clear() does nothing).
        super().__init__(
            server, persist=True, queue_key=queue_key, queue_cls=queue_cls,
            dupefilter=dupefilter, serializer=serializer,
        )  # fmt: skip
        self.stats = stats
        self.crawler = crawler
        self.batch_size = max(1, batch_size)
        self.pop_batch = max(1, pop_batch)
        self.concurrency = concurrency
        self.lease_timeout = lease_timeout
        self.outage = RedisOutage(stats, logger)
        #: Requests not yet checked and queued, oldest first.
        self.pending: list[Entry] = []
        #: Leased requests popped in one batch, handed to the engine one by one.
        self.ready: deque[Request] = deque()
        #: The pop on its way back from Redis (one at a time).
        self.inflight: asyncio.Future[Taken] | None = None
        #: The last pop found nothing (or none was made yet): the next one waits.
        self.last_pop_empty = True
        #: Pops go on the event loop (until its client fails).
        self.pop_on_loop = True
        #: Requests waiting in the shared queue, when last read.
        self.queued = 0
        self.downloader: Any = None
        self.acks: Acknowledgements
        self.push_call = CallLaterOnce(self.push_pending)
        self.maintenance: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierScheduler:
        settings = crawler.settings
        server = redis_client(settings)
        server.ping()  # as scrapy-redis's: a worker without Redis does not start
        serializer = settings.get("SCHEDULER_SERIALIZER")
        if isinstance(serializer, str):
            serializer = importlib.import_module(serializer)
        scheduler = cls(
            server,
            build_from_crawler(load_object(settings["DUPEFILTER_CLASS"]), crawler),
            queue_cls=settings.get("SCHEDULER_QUEUE_CLASS") or _QUEUE_CLASS,
            queue_key=settings.get("SCHEDULER_QUEUE_KEY") or _QUEUE_KEY,
            serializer=serializer,
            batch_size=settings.getint("BACKLINKBOT_FRONTIER_BATCH"),
            pop_batch=settings.getint("BACKLINKBOT_POP_BATCH"),
            concurrency=settings.getint("CONCURRENT_REQUESTS"),
            lease_timeout=settings.getfloat("BACKLINKBOT_LEASE_TIMEOUT"),
            stats=crawler.stats,
            crawler=crawler,
        )
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

    def open(self, spider: Spider) -> None:
        super().open(spider)
        self.crawler = self.crawler or spider.crawler
        self.acks = Acknowledgements(
            self.queue.leases, self.outage, self.stats, on_lost_writes=self.df.recent.clear
        )
        self.df.prepare()
        try:
            self.downloader = spider.crawler.engine.downloader
        except RuntimeError:  # opened outside a running crawl (tools, tests)
            self.downloader = None
        self._learn_server()
        self.maintenance = task.LoopingCall(self._maintain)
        self.maintenance.start(max(0.5, self.lease_timeout / 3), now=False)

    def close(self, reason: str) -> Deferred[None] | None:
        pop = self.inflight
        if (pop is not None and not pop.done()) or self.queue.async_server is not None:
            return deferred_from_coro(self._close_after(pop, reason))
        self._close(reason)
        return None

    async def _close_after(self, pop: asyncio.Future[Taken] | None, reason: str) -> None:
        if pop is not None:
            # Its requests are leased to this worker: once back and held,
            # they are handed back with the rest.
            with suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(pop), _POP_CLOSE_WAIT)
        self._close(reason)
        with suppress(Exception):
            await self.queue.aclose()

    def _close(self, reason: str) -> None:
        self._collect()
        if self.maintenance is not None and self.maintenance.running:
            self.maintenance.stop()
        # Queue what is buffered, acknowledge what is done, hand the rest
        # back. Whatever Redis does not take now stays leased there: those
        # leases expire and their pages are fetched again.
        self.outage.retry_now()
        self._acknowledge()
        if self.pending:
            logger.warning(
                "Closing with %d discovered requests not queued (Redis unreachable): the"
                " pages they were found on were not acknowledged and will be fetched again",
                len(self.pending),
            )
        self._release()

    def _release(self) -> None:
        """Hand the requests this worker still holds back to the queue."""
        held = len(self.queue.leases)
        try:
            released = self.queue.leases.release()
        except redis.RedisError as exc:
            self.outage.failed("returning unfinished requests", exc)
            logger.warning(
                "Could not return %d unfinished requests to the frontier; they return"
                " when their leases expire",
                held,
            )
            return
        if released:
            logger.info("Returned %d unfinished requests to the frontier", released)
            self._inc("backlinkbot/frontier/leases_released", released)

    # -- enqueue: buffered ---------------------------------------------------

    def enqueue_request(self, request: Request) -> bool:
        if request.dont_filter:
            if request.url in self.queue.leases.held:
                self.acks.retry_buffered(request.url)  # a retry of a request held here
            self._add([self.queue.entry(request, None)])
            return True
        if not self.df.unseen([request.url]):
            return False
        self._add([self.queue.entry(request, self.df.bits(request.url))])
        return True

    def enqueue_links(self, prototype: Request, urls: list[str]) -> None:
        """Queue a copy of ``prototype`` for each of ``urls`` (normalized,
        distinct) not seen before: the links of one page, without a request
        object per link. Buffered like :meth:`enqueue_request`."""
        if prototype.dont_filter:
            bits: list[Bits] = [None] * len(urls)
        else:
            urls = self.df.unseen(urls)
            if not urls:
                return
            bits = [self.df.bits(url) for url in urls]
        self._add(self.queue.entries_like(prototype, urls, bits))

    def _add(self, entries: list[Entry]) -> None:
        self.pending.extend(entries)
        if len(self.pending) >= self.batch_size:
            self.push_pending()
        else:
            self.push_call.schedule()

    def push_pending(self) -> bool:
        """Check and queue the buffered requests, ``batch_size`` per round
        trip. True when none is left; False when Redis cannot be reached:
        the rest stay buffered, in order, for the next try."""
        if self.outage.waiting():
            return not self.pending
        while self.pending:
            if not self._push(self.pending[: self.batch_size]):
                return False
        if self.acks.retried or self.acks.replaced:
            self.acks.send_replaced()
        return True

    def _push(self, batch: list[Entry]) -> bool:
        """Queue ``batch``, the head of the buffer; False when Redis failed."""
        try:
            statuses = self.queue.push_many(batch)
        except redis.RedisError as exc:
            self.outage.failed("queueing discovered requests", exc)
            return False
        # Only now out of the buffer: a batch that failed is tried again.
        del self.pending[: len(batch)]
        if self.outage.errors:
            # Redis may have lost the last writes before it went away: URLs
            # handed over then are to be checked again when found.
            self.df.recent.clear()
        self.outage.succeeded()
        self._inc("scheduler/enqueued/redis", statuses.count(QUEUED))
        self._inc("backlinkbot/frontier/push_batches", 1)
        self.df.filtered(*(e.url for e, st in zip(batch, statuses, strict=True) if st == SEEN))
        # New URLs of hosts whose page budget is spent: traps, not queued.
        self._inc("backlinkbot/traps/host_budget", statuses.count(OVER_BUDGET))
        return True

    # -- dequeue: leased -----------------------------------------------------

    def next_request(self) -> Request | None:
        if self.ready:
            return self.ready.popleft()
        if self.inflight is not None:
            # On its way back; or back, and its wake-up not yet run.
            self._collect()
        elif self._may_pop():
            self._pop(self.queue.lease_ids(self._free_slots()))
        return self.ready.popleft() if self.ready else None

    def _may_pop(self) -> bool:
        """Whether leases may be taken now: the buffer is queued, the
        acknowledgements due are sent and the Redis server run is known."""
        if self.outage.waiting() or not self.push_pending():
            return False
        if self.acks.done:
            self._acknowledge()
            if self.outage.waiting():
                return False
        return self.queue.leases.run_id is not None or self._learn_server()

    def _pop(self, ids: list[str]) -> None:
        """Take requests for ``ids``: on the event loop in a running crawl,
        else (and after a pop that found nothing) waiting for the answer."""
        loop = _running_loop()
        if loop is None or self.last_pop_empty or not self.pop_on_loop:
            # A crawl that is out of work finds out in the same pass as the
            # engine, which then looks whether the worker is idle.
            try:
                self._took(self.queue.take(ids))
            except redis.RedisError as exc:
                self._took(exc)
            return
        pop = loop.create_task(self.queue.take_async(ids))
        self.inflight = pop
        pop.add_done_callback(self._popped)

    def _popped(self, pop: asyncio.Future[Taken]) -> None:
        """Take in the pop that came back and, if it brought requests, have
        the engine send them now."""
        self._collect()
        if self.ready and self.crawler is not None:
            wake_engine(self.crawler.engine)

    def _collect(self) -> None:
        """Decode and hold the requests of the pop that came back, if it has."""
        pop = self.inflight
        if pop is None or not pop.done():
            return
        self.inflight = None
        if pop.cancelled():
            return
        exc = pop.exception()
        if exc is None or isinstance(exc, redis.RedisError):
            self._took(exc or pop.result())
            return
        # Not Redis's answer: the event loop's client failed (built from
        # REDIS_PARAMS it does not take, say). What this pop took, if
        # anything, returns to the queue when its leases expire.
        logger.error(
            "Taking requests on the event loop failed; pops wait for their answers"
            " from now on", exc_info=exc,
        )  # fmt: skip
        self.pop_on_loop = False

    def _took(self, answer: Taken | redis.RedisError) -> None:
        """A pop's answer: its requests held and ready, or the failure noted."""
        if isinstance(answer, redis.RedisError):
            self.outage.failed("taking requests", answer)
            return
        self.outage.succeeded()
        requests = self.queue.adopt(answer)
        self.last_pop_empty = not requests
        if requests:
            self._inc("scheduler/dequeued/redis", len(requests))
            self.ready.extend(requests)

    def _free_slots(self) -> int:
        """Requests the downloader can start now (at least one): the engine
        asks for one request per free slot within the same reactor tick."""
        if self.downloader is None:
            return 1
        return max(1, min(self.pop_batch, self.concurrency - len(self.downloader.active)))

    def has_pending_requests(self) -> bool:
        # While Redis cannot be reached, work may be waiting there: the
        # engine must keep polling, not take the spider for idle. A pop on
        # its way back may bring requests.
        if self.pending or self.ready or self.inflight is not None or self.outage.waiting():
            return True
        if self._read_queued(default=1) <= 0:
            return False
        # Requests left over a spent page budget are never handed out: they
        # must not keep the worker from going idle and the crawl from ending.
        try:
            return not self.queue.budget_exhausted()
        except redis.RedisError as exc:
            self.outage.failed("reading the page budget", exc)
            return True

    def __len__(self) -> int:
        queued = self.queued if self.outage.waiting() else self._read_queued(self.queued)
        return len(self.pending) + len(self.ready) + queued

    def _read_queued(self, default: int) -> int:
        try:
            self.queued = len(self.queue)
        except redis.RedisError as exc:
            self.outage.failed("reading the queue length", exc)
            return default
        self.outage.succeeded()
        return self.queued

    # -- acknowledgements ----------------------------------------------------

    def ack(self, urls: list[str]) -> None:
        """These requests are done: acknowledge their leases once the
        requests buffered before are queued (meanwhile the leases are renewed)."""
        self.acks.finished(urls)
        self._acknowledge()

    def _acknowledge(self) -> None:
        """Queue the buffered requests, then send the acknowledgements due."""
        if not self.outage.waiting() and self.push_pending():
            self.acks.send_done()

    def _learn_server(self) -> bool:
        try:
            self.queue.leases.learn_server()
        except redis.ResponseError as exc:
            # INFO refused (an ACL, a renamed command): acknowledgements are
            # not checked against restarts, rather than never sent.
            logger.warning(
                "Redis refuses INFO (%s): leases are acknowledged without checking"
                " that Redis was not restarted since they were taken",
                exc,
            )
            self.queue.leases.run_id = ""
            return True
        except redis.RedisError as exc:
            self.outage.failed("identifying the Redis server", exc)
            return False
        self.outage.succeeded()
        return True

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
        """Every ``lease_timeout / 3``: acknowledge, renew, reap."""
        if self.outage.waiting():
            return
        try:
            self._renew_and_reap()
        except redis.RedisError as exc:
            self.outage.failed("renewing and reaping leases", exc)
        except Exception:  # a bug must not stop the maintenance loop
            logger.exception("Frontier maintenance failed")

    def _renew_and_reap(self) -> None:
        leases = self.queue.leases
        if leases.run_id is None and not self._learn_server():
            return
        self._acknowledge()
        if self.outage.waiting():
            return
        leases.renew()
        reaped = leases.reap()
        self.outage.succeeded()
        if reaped:
            logger.info("Requeued %d requests of expired leases", reaped)
            self._inc("backlinkbot/frontier/leases_reaped", reaped)

    def _inc(self, key: str, value: int) -> None:
        if self.stats is not None and value:
            self.stats.inc_value(key, value)

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
one by one. In a running crawl that call is made on the event loop
(``redis.asyncio``): while Redis runs the script, the reactor goes on with
responses instead of waiting for the answer (the pops were 7% of a
one-worker crawl's time). The engine gets None meanwhile; once the requests
are back, they are decoded and held, and the engine is woken to send them.
After a pop that found nothing, the next one waits for its answer, so that
a worker out of work is found idle; so does every pop outside a running
event loop (tools, tests).

It also keeps this worker's leases (:mod:`.leases`): acknowledged when a page
is stored (``pages_stored``) or a request ends without one, renewed and, for
the whole cluster, reaped every ``BACKLINKBOT_LEASE_TIMEOUT / 3`` seconds,
and handed back to the queue when the worker closes. Closing never clears
the shared queue or dupefilter, whatever ``SCHEDULER_PERSIST`` says.

While Redis cannot be reached, nothing raises and nothing is given up: the
buffered requests stay buffered (in order), the acknowledgements wait, the
popped requests are still handed out, :meth:`next_request` answers None and
:meth:`has_pending_requests` True, so the engine polls again and the spider
stays open; the failed calls are counted (``backlinkbot/frontier/redis_errors``)
and retried after a short pause (:class:`~backlinkbot.connection.RedisOutage`). A lease is
acknowledged only once every request buffered before it is queued: the links
of a page are in the queue before the lease that vouches for them goes, also
when a flush fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import redis
from scrapy import signals
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.reactor import CallLaterOnce
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from backlinkbot.connection import RedisOutage, fail_fast
from backlinkbot.signals import pages_stored

from .leases import ServerChanged, request_done
from .queue import OVER_BUDGET, QUEUED, SEEN

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from twisted.internet.defer import Deferred

    from .dupefilter import URLDupeFilter
    from .queue import Bits, Entry, FrontierQueue, Taken

__all__ = ["FrontierScheduler"]

logger = logging.getLogger(__name__)

_ACKED = "backlinkbot/frontier/leases_acked"
_REQUEUED = "backlinkbot/frontier/leases_requeued"
#: Longest wait, when the worker closes, for a pop still on its way back.
_POP_CLOSE_WAIT = 30.0


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class FrontierScheduler(Scheduler):  # type: ignore[misc]
    queue: FrontierQueue
    df: URLDupeFilter

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierScheduler:
        scheduler: FrontierScheduler = super().from_crawler(crawler)
        settings = crawler.settings
        fail_fast(scheduler.server)
        scheduler.batch_size = max(1, settings.getint("BACKLINKBOT_FRONTIER_BATCH"))
        scheduler.lease_timeout = settings.getfloat("BACKLINKBOT_LEASE_TIMEOUT")
        scheduler.crawler = crawler
        scheduler.downloader = None
        scheduler.pending = []
        scheduler.ready = deque()
        scheduler.pop_batch = max(1, settings.getint("BACKLINKBOT_POP_BATCH"))
        scheduler.inflight = None
        scheduler.last_pop_empty = True
        scheduler.pop_on_loop = True
        scheduler.concurrency = settings.getint("CONCURRENT_REQUESTS")
        scheduler.requeued = []
        scheduler.unacked = []
        scheduler.requeue_acks = []
        scheduler.queued = 0
        scheduler.outage = RedisOutage(crawler.stats, logger)
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
    #: Requests not yet checked and queued, oldest first.
    pending: list[Entry]
    #: Leased requests popped in one batch, handed to the engine one by one.
    ready: deque[Request]
    pop_batch: int
    #: The pop on its way back from Redis (one at a time).
    inflight: asyncio.Future[Taken] | None
    #: The last pop found nothing (or none was made yet): the next one waits.
    last_pop_empty: bool
    #: Pops go on the event loop (until its client fails).
    pop_on_loop: bool
    downloader: Any
    concurrency: int
    #: URLs whose lease this worker gives up once their retry is queued.
    requeued: list[str]
    #: URLs whose retry is queued: their old lease is to be acknowledged.
    requeue_acks: list[str]
    #: URLs done, whose leases are still to be acknowledged (Redis away).
    unacked: list[str]
    #: Requests waiting in the shared queue, when last read.
    queued: int
    outage: RedisOutage
    flush_call: CallLaterOnce[bool]
    maintenance: task.LoopingCall | None

    def open(self, spider: Spider) -> None:
        super().open(spider)
        self.df.prepare()
        try:
            self.downloader = self.crawler.engine.downloader
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
        if not request.dont_filter and not self._unseen([request.url]):
            return False
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
            urls = self._unseen(urls)
            if not urls:
                return
            bits = [self.df.bits(url) for url in urls]
        self._add(self.queue.entries_like(prototype, urls, bits))

    def _unseen(self, urls: list[str]) -> list[str]:
        """``urls`` less those this worker handed to the filter lately: they
        are known to be seen and are counted as filtered here."""
        fresh, known = self.df.recent.split(urls)
        if known:
            self.df.filtered(*known)
            self._inc("backlinkbot/frontier/seen_recently", len(known))
        return fresh

    def _add(self, entries: list[Entry]) -> None:
        self.pending.extend(entries)
        if len(self.pending) >= self.batch_size:
            self.flush()
        else:
            self.flush_call.schedule()

    def flush(self) -> bool:
        """Check and queue the buffered requests, ``BACKLINKBOT_FRONTIER_BATCH``
        per round trip. True when none is left; False when Redis cannot be
        reached: the rest stay buffered, in order, for the next try."""
        if not self.pending and not self.requeued and not self.requeue_acks:
            return True
        if self.outage.waiting():
            return not self.pending
        while self.pending:
            batch = self.pending[: self.batch_size]
            try:
                statuses = self.queue.push_many(batch)
            except redis.RedisError as exc:
                self.outage.failed("queueing discovered requests", exc)
                return False
            # Only now out of the buffer: a batch that failed is tried again.
            del self.pending[: len(batch)]
            if self.outage.errors:
                # Redis may have lost the last writes before it went away:
                # URLs handed over then are to be checked again when found.
                self.df.recent.clear()
            self.outage.succeeded()
            self._inc("scheduler/enqueued/redis", statuses.count(QUEUED))
            self._inc("backlinkbot/frontier/push_batches", 1)
            seen = (e.url for e, status in zip(batch, statuses, strict=True) if status == SEEN)
            self.df.filtered(*seen)
            # New URLs of hosts whose page budget is spent: traps, not queued.
            self._inc("backlinkbot/traps/host_budget", statuses.count(OVER_BUDGET))
        if self.requeued:
            # Every retry copy is queued: the leases they replace can go.
            self.requeue_acks.extend(self.requeued)
            self.requeued.clear()
        if self.requeue_acks:
            self._send_acks(self.requeue_acks, _REQUEUED)
        return True

    # -- dequeue: leased -----------------------------------------------------

    def next_request(self) -> Request | None:
        if self.ready:
            return self.ready.popleft()
        if self.inflight is not None:
            # On its way back; or back, and its wake-up not yet run.
            self._collect()
            return self.ready.popleft() if self.ready else None
        if self.outage.waiting() or not self.flush():
            return None
        if self.unacked:
            self._acknowledge()
            if self.outage.waiting():
                return None
        # Leases are only taken once the server run they are taken on is known.
        if self.queue.leases.run_id is None and not self._learn_server():
            return None
        ids = self.queue.lease_ids(self._free_slots())
        loop = _running_loop()
        if loop is None or self.last_pop_empty or not self.pop_on_loop:
            # No event loop running (tools, tests), or the last pop found
            # nothing: wait for the answer. A crawl that is out of work
            # finds out in the same pass as the engine, which then looks
            # whether the worker is idle (a pop on its way counts as work).
            try:
                self._took(self.queue.take(ids))
            except redis.RedisError as exc:
                self._took(exc)
            return self.ready.popleft() if self.ready else None
        pop = loop.create_task(self.queue.take_async(ids))
        self.inflight = pop
        pop.add_done_callback(self._popped)
        return None

    def _popped(self, pop: asyncio.Future[Taken]) -> None:
        """Take in the pop that came back and, if it brought requests, have
        the engine send them now rather than at its next heartbeat."""
        self._collect()
        if not self.ready:
            return
        # Scrapy has no public call for "the scheduler has requests now".
        engine = self.crawler.engine
        nextcall = getattr(getattr(engine, "_slot", None), "nextcall", None)
        if nextcall is not None:
            nextcall.schedule()

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
        # REDIS_PARAMS it does not take, say). Pops wait for their answers
        # from now on; what this one took, if anything, returns to the
        # queue when its leases expire.
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
        asks for one request per free slot within the same reactor tick, so
        a batch popped for them is handed out at once."""
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
        # The links found on these pages were scheduled before their pages
        # were stored: queue them before the leases that vouch for them go.
        # While they cannot be, the acknowledgements wait (and the leases
        # are renewed meanwhile).
        self.unacked.extend(urls)
        self._acknowledge()

    def _acknowledge(self) -> None:
        """Queue the buffered requests, then send the acknowledgements due."""
        if self.outage.waiting() or not self.flush():
            return
        if self.unacked and not self.outage.waiting():
            self._send_acks(self.unacked, _ACKED)

    def _send_acks(self, urls: list[str], stat: str) -> bool:
        """Acknowledge the leases of ``urls``, which leave the list once done."""
        batch = list(urls)
        try:
            acked = self.queue.leases.ack(batch)
        except ServerChanged as exc:
            self._server_changed(exc)
            return False
        except redis.RedisError as exc:
            self.outage.failed("acknowledging finished requests", exc)
            return False
        del urls[: len(batch)]
        self.outage.succeeded()
        self._inc(stat, acked)
        return True

    def _server_changed(self, exc: ServerChanged) -> None:
        # Redis restarted (or failed over) since these leases were taken, and
        # may have lost writes made before: links queued for pages whose
        # leases survived. Acknowledging those leases could lose the links;
        # left to expire, the pages are fetched again and the links found again.
        logger.warning(
            "Redis is a new server run (%s): it may have lost the last writes before"
            " it went away, so the %d leases this worker held are not acknowledged;"
            " their pages are fetched again once the leases expire",
            exc.run_id, exc.dropped,
        )  # fmt: skip
        self._inc("backlinkbot/frontier/leases_abandoned", exc.dropped)
        self.df.recent.clear()
        self.unacked.clear()
        self.requeue_acks.clear()
        self.requeued.clear()

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
        if self.outage.waiting():
            return
        leases = self.queue.leases
        try:
            if leases.run_id is None and not self._learn_server():
                return
            self._acknowledge()
            if self.outage.waiting():
                return
            leases.renew()
            reaped = leases.reap()
        except redis.RedisError as exc:
            self.outage.failed("renewing and reaping leases", exc)
            return
        except Exception:  # a bug must not stop the maintenance loop
            logger.exception("Frontier maintenance failed")
            return
        self.outage.succeeded()
        if reaped:
            logger.info("Requeued %d requests of expired leases", reaped)
            self._inc("backlinkbot/frontier/leases_reaped", reaped)

    def _inc(self, key: str, value: int) -> None:
        if self.stats is not None and value:
            self.stats.inc_value(key, value)

"""The MongoDB sink: buffers page items and writes them in bulk.

Items are buffered in the reactor thread and handed, a batch at a time
(``BACKLINKBOT_SINK_BATCH_PAGES`` pages, or every
``BACKLINKBOT_SINK_FLUSH_SECONDS``), to one writer thread, so pymongo's
blocking calls never stall the crawl. The writer uses
:class:`backlinkbot.storage.writer.GraphWriter` (a handful of bulk operations
per batch) and retries a batch with exponential backoff while MongoDB is
unreachable; a batch that still fails after ``BACKLINKBOT_SINK_MAX_RETRIES``
attempts is logged as an error and counted under
``backlinkbot/sink/pages_failed``. Closing the spider flushes the buffer and
waits for the writer to finish.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import TYPE_CHECKING, Any

import pymongo
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import reactor, task, threads

from backlinkbot import signals as our_signals
from backlinkbot.items import PageItem
from backlinkbot.storage.domains import recount_domains
from backlinkbot.storage.schema import ensure_indexes
from backlinkbot.storage.writer import GraphWriter, WriteResult

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

__all__ = ["MongoSinkPipeline"]

logger = logging.getLogger(__name__)

_STOP = object()
#: Seconds between per-domain recounts while the crawl runs.
DOMAIN_RECOUNT_INTERVAL = 5.0


class MongoSinkPipeline:
    def __init__(
        self,
        uri: str,
        database: str,
        *,
        stats: StatsCollector,
        signals: Any = None,
        batch_pages: int,
        flush_seconds: float,
        max_retries: int,
        store_internal: bool,
    ) -> None:
        self.uri = uri
        self.database = database
        self.stats = stats
        self.signals = signals
        self.batch_pages = batch_pages
        self.flush_seconds = flush_seconds
        self.max_retries = max_retries
        self.store_internal = store_internal
        self.buffer: list[PageItem] = []
        self.batches: queue.Queue[Any] = queue.Queue()
        self.client: pymongo.MongoClient[dict[str, Any]] | None = None
        self.thread: threading.Thread | None = None
        self.timer: task.LoopingCall | None = None
        self.touched_domains: set[str] = set()
        self.last_recount = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> MongoSinkPipeline:
        settings = crawler.settings
        uri = settings.get("MONGODB_URI")
        if not uri:
            raise NotConfigured("MONGODB_URI is not set")
        assert crawler.stats is not None
        return cls(
            str(uri),
            str(settings.get("MONGODB_DATABASE") or "backlinkbot"),
            stats=crawler.stats,
            signals=crawler.signals,
            batch_pages=settings.getint("BACKLINKBOT_SINK_BATCH_PAGES"),
            flush_seconds=settings.getfloat("BACKLINKBOT_SINK_FLUSH_SECONDS"),
            max_retries=settings.getint("BACKLINKBOT_SINK_MAX_RETRIES"),
            store_internal=settings.getbool("BACKLINKBOT_STORE_INTERNAL"),
        )

    # -- reactor thread ------------------------------------------------------

    def open_spider(self) -> None:
        self.client = pymongo.MongoClient(self.uri, tz_aware=True, connect=False)
        self.thread = threading.Thread(target=self._run, name="mongo-sink", daemon=True)
        self.thread.start()
        self.timer = task.LoopingCall(self._flush)
        self.timer.start(self.flush_seconds, now=False)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, PageItem):
            self.buffer.append(item)
            if len(self.buffer) >= self.batch_pages:
                self._flush()
        return item

    def _flush(self) -> None:
        if self.buffer:
            batch, self.buffer = self.buffer, []
            self.batches.put(batch)
            self.stats.max_value("backlinkbot/sink/backlog_batches", self.batches.qsize())

    async def close_spider(self) -> None:
        if self.timer is not None and self.timer.running:
            self.timer.stop()
        self._flush()
        self.batches.put(_STOP)
        await maybe_deferred_to_future(threads.deferToThread(self._join))

    def _join(self) -> None:
        if self.thread is not None:
            self.thread.join()
        if self.client is not None:
            self.client.close()

    def _count(self, key: str, value: int) -> None:
        # Stats collectors are not thread-safe: count in the reactor thread.
        if value:
            reactor.callFromThread(self.stats.inc_value, f"backlinkbot/sink/{key}", value)  # type: ignore[attr-defined]

    # -- writer thread -------------------------------------------------------

    def _run(self) -> None:
        assert self.client is not None
        db = self.client[self.database]
        writer = GraphWriter(db, store_internal=self.store_internal)
        self._retrying("create indexes", lambda: ensure_indexes(db))
        while True:
            batch = self.batches.get()
            if batch is _STOP:
                break
            result = self._retrying(f"write {len(batch)} pages", lambda b=batch: writer.write(b))
            if result is None:
                self._count("pages_failed", len(batch))
                continue
            self._record(result)
            self._stored([page.url for page in batch])
            self.touched_domains |= result.touched_domains
            if time.monotonic() - self.last_recount > DOMAIN_RECOUNT_INTERVAL:
                self._recount(db)
        self._recount(db)

    def _recount(self, db: Any) -> None:
        if not self.touched_domains:
            return
        domains, self.touched_domains = self.touched_domains, set()
        written = self._retrying("count domains", lambda: recount_domains(db, domains))
        self.last_recount = time.monotonic()
        if written is None:
            self.touched_domains |= domains
        else:
            self._count("domains_counted", written)

    def _stored(self, urls: list[str]) -> None:
        if self.signals is not None:
            reactor.callFromThread(  # type: ignore[attr-defined]
                self.signals.send_catch_log, signal=our_signals.pages_stored, urls=urls
            )

    def _record(self, result: WriteResult) -> None:
        self._count("pages_written", result.pages)
        self._count("links_inserted", result.links_inserted)
        self._count("links_refreshed", result.links_refreshed)
        self._count("links_updated", result.links_updated)
        self._count("links_restored", result.links_restored)
        self._count("links_lost", result.links_lost)
        self._count("operations", result.operations)

    def _retrying(self, what: str, action: Any) -> Any:
        """Run ``action`` until it succeeds, backing off while MongoDB is away."""
        delay = 0.5
        for attempt in range(1, self.max_retries + 1):
            try:
                return action()
            except (ConnectionFailure, OperationFailure, PyMongoError) as exc:
                if isinstance(exc, OperationFailure) and not _transient(exc):
                    logger.error("MongoDB refused to %s: %s", what, exc)
                    return None
                self._count("retries", 1)
                logger.warning(
                    "MongoDB unavailable (%s), attempt %d/%d to %s; retrying in %.1fs",
                    type(exc).__name__, attempt, self.max_retries, what, delay,
                )  # fmt: skip
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
        logger.error("Giving up on MongoDB after %d attempts to %s", self.max_retries, what)
        return None


def _transient(exc: OperationFailure) -> bool:
    labels = getattr(exc, "_error_labels", set()) or set()
    return "RetryableWriteError" in labels or exc.code in {6, 7, 89, 91, 189, 262, 9001, 11600, 11602, 13435, 13436}

"""The MongoDB sink: buffers page items and writes them in bulk.

Items are collected in the reactor thread and handed, a batch at a time
(``BACKLINKBOT_SINK_BATCH_PAGES`` pages or :data:`BATCH_LINKS` edges, every
``BACKLINKBOT_SINK_FLUSH_SECONDS``, or as soon as the spider goes idle), to
one writer thread through a
:class:`~backlinkbot.storage.buffer.SpillBuffer`, so pymongo's blocking calls
never stall the crawl. The writer uses
:class:`~backlinkbot.storage.writer.GraphWriter` (a handful of bulk
operations per batch).

Nothing is lost while MongoDB is away: the writer retries with exponential
backoff (up to ``BACKLINKBOT_SINK_MAX_BACKOFF`` seconds between attempts);
at most ``BACKLINKBOT_SINK_MEMORY_PAGES`` pages wait in memory and further
batches go to files under ``BACKLINKBOT_SINK_SPILL_DIR/<database>``. A batch
that failed ``BACKLINKBOT_SINK_MAX_RETRIES`` times in a row goes to disk, to
be retried after the others. Closing the spider waits up to
``BACKLINKBOT_SINK_CLOSE_TIMEOUT`` seconds for MongoDB, then leaves what is
not stored on disk, where the next worker that opens the same database
writes it. A batch that cannot be stored is kept in a ``rejected-*`` file,
logged and counted (``backlinkbot/sink/pages_rejected``), never dropped: one
MongoDB refuses for good (a document it cannot store), and one that failed
its retries a second time while other batches were stored meanwhile (so
MongoDB is there, and the batch is what fails).

``backlinkbot.signals.pages_stored`` is sent with a batch's URLs only once
the batch is stored, or kept in a ``rejected-*`` file (its pages are not
fetched again). Per-domain counts are refreshed every
``BACKLINKBOT_DOMAIN_RECOUNT_SECONDS``, and when the spider closes, for the
domains that changed (those above ``BACKLINKBOT_DOMAIN_RECOUNT_MAX_LINKS``
live backlinks are left to the batch job ``python -m
backlinkbot.storage.domains``). The changed domains are shared by the
crawl's workers in Redis (:class:`~backlinkbot.storage.dirty.DirtyDomains`),
so each is recounted once, by one of them, not by every worker that wrote
links to it.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pymongo
from bson.errors import BSONError
from pymongo.errors import OperationFailure, PyMongoError
from scrapy import signals as scrapy_signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import reactor, task, threads

from backlinkbot import signals as our_signals
from backlinkbot.connection import CrawlKeys, redis_client
from backlinkbot.items import PageItem
from backlinkbot.storage.buffer import Batch, SpillBuffer
from backlinkbot.storage.dirty import DirtyDomains
from backlinkbot.storage.domains import RECOUNT_CHUNK, recount_domains
from backlinkbot.storage.schema import ensure_indexes
from backlinkbot.storage.writer import GraphWriter, WriteResult

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

__all__ = ["MongoSinkPipeline"]

logger = logging.getLogger(__name__)

#: A batch is handed to the writer once its pages have this many edges, also
#: before BACKLINKBOT_SINK_BATCH_PAGES pages (a page has at most
#: BACKLINKBOT_MAX_PAGE_LINKS): a few huge pages make a batch of their own.
BATCH_LINKS = 50_000

#: Server errors worth retrying (not a bad document): network, elections,
#: shutdown, write conflicts.
TRANSIENT_CODES = frozenset({6, 7, 89, 91, 112, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436})


class _GiveUp(Exception):
    """The sink is closing and MongoDB did not come back in time."""


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
        memory_pages: int = 2000,
        spill_dir: Path | None = None,
        close_timeout: float = 60.0,
        max_backoff: float = 10.0,
        confirm_after: float = 3600.0,
        recount_seconds: float = 5.0,
        last_seen_refresh: float = 0.0,
        recount_max_links: int = 0,
        dirty: DirtyDomains | None = None,
    ) -> None:
        self.uri = uri
        self.database = database
        self.stats = stats
        self.signals = signals
        self.batch_pages = batch_pages
        self.flush_seconds = flush_seconds
        self.max_retries = max(1, max_retries)
        self.store_internal = store_internal
        self.close_timeout = close_timeout
        self.max_backoff = max_backoff
        self.confirm_after = timedelta(seconds=confirm_after)
        self.recount_seconds = recount_seconds
        self.last_seen_refresh = timedelta(seconds=last_seen_refresh)
        self.recount_max_links = recount_max_links
        self.spill = SpillBuffer(
            (spill_dir or Path("spill")) / database, memory_pages=max(memory_pages, batch_pages)
        )
        self.pending: list[PageItem] = []
        self.pending_links = 0
        #: When a batch was last stored, and when each spill file of a batch
        #: that failed its retries was put back (writer thread).
        self.stored_at = 0.0
        self.deferred: dict[str, float] = {}
        self.client: pymongo.MongoClient[dict[str, Any]] | None = None
        self.thread: threading.Thread | None = None
        self.timer: task.LoopingCall | None = None
        self.closing = threading.Event()
        self.deadline = float("inf")
        #: Domains whose counts are out of date (shared by the crawl's workers).
        self.dirty = dirty or DirtyDomains()
        self.last_recount = 0.0
        self.indexed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> MongoSinkPipeline:
        settings = crawler.settings
        uri = settings.get("MONGODB_URI")
        if not uri:
            raise NotConfigured("MONGODB_URI is not set")
        assert crawler.stats is not None
        spill = (
            settings.get("BACKLINKBOT_SINK_SPILL_DIR")
            or Path(str(settings.get("BACKLINKBOT_DATA_DIR"))) / "spill"
        )
        database = str(settings.get("MONGODB_DATABASE") or "backlinkbot")
        dirty = None
        if settings.get("REDIS_URL"):
            keys = CrawlKeys.from_settings(settings)
            server = redis_client(settings)
            dirty = DirtyDomains(server, keys.dirty_domains(database))
        pipeline = cls(
            str(uri),
            database,
            stats=crawler.stats,
            signals=crawler.signals,
            batch_pages=settings.getint("BACKLINKBOT_SINK_BATCH_PAGES"),
            flush_seconds=settings.getfloat("BACKLINKBOT_SINK_FLUSH_SECONDS"),
            max_retries=settings.getint("BACKLINKBOT_SINK_MAX_RETRIES"),
            store_internal=settings.getbool("BACKLINKBOT_STORE_INTERNAL"),
            memory_pages=settings.getint("BACKLINKBOT_SINK_MEMORY_PAGES"),
            spill_dir=Path(spill),
            close_timeout=settings.getfloat("BACKLINKBOT_SINK_CLOSE_TIMEOUT"),
            max_backoff=settings.getfloat("BACKLINKBOT_SINK_MAX_BACKOFF"),
            confirm_after=settings.getfloat("BACKLINKBOT_LOST_CONFIRM_SECONDS"),
            recount_seconds=settings.getfloat("BACKLINKBOT_DOMAIN_RECOUNT_SECONDS"),
            last_seen_refresh=settings.getfloat("BACKLINKBOT_LAST_SEEN_REFRESH"),
            recount_max_links=settings.getint("BACKLINKBOT_DOMAIN_RECOUNT_MAX_LINKS"),
            dirty=dirty,
        )
        # Nothing left to fetch for now: what is buffered is written at once,
        # not at the next flush tick (its leases go, and a crawl's last pages
        # do not wait out BACKLINKBOT_SINK_FLUSH_SECONDS).
        crawler.signals.connect(pipeline.spider_idle, signal=scrapy_signals.spider_idle)
        return pipeline

    # -- reactor thread ------------------------------------------------------

    def open_spider(self) -> None:
        self.client = pymongo.MongoClient(
            self.uri, tz_aware=True, connect=False,
            serverSelectionTimeoutMS=5000, connectTimeoutMS=5000,
        )  # fmt: skip
        self.thread = threading.Thread(target=self._run, name="mongo-sink", daemon=True)
        self.thread.start()
        self.timer = task.LoopingCall(self._flush)
        self.timer.start(self.flush_seconds, now=False)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, PageItem):
            self.pending.append(item)
            self.pending_links += len(item.edges)
            if len(self.pending) >= self.batch_pages or self.pending_links >= BATCH_LINKS:
                self._flush()
        return item

    def spider_idle(self) -> None:
        self._flush()

    def _flush(self) -> None:
        if self.pending:
            batch, self.pending = self.pending, []
            self.pending_links = 0
            if self.spill.put(batch):
                self.stats.inc_value("backlinkbot/sink/pages_spilled", len(batch))
            self.stats.max_value("backlinkbot/sink/memory_pages_max", self.spill.in_memory)

    async def close_spider(self) -> None:
        if self.timer is not None and self.timer.running:
            self.timer.stop()
        self._flush()
        self.deadline = time.monotonic() + self.close_timeout
        self.closing.set()
        # The writer need not wait out its poll to see that.
        self.spill.wake()
        await maybe_deferred_to_future(threads.deferToThread(self._join))

    def _join(self) -> None:
        if self.thread is not None:
            self.thread.join()
        if self.client is not None:
            self.client.close()

    def _count(self, key: str, value: int) -> None:
        # Stats collectors are not thread-safe: count in the reactor thread.
        if value:
            reactor.callFromThread(self.stats.inc_value, f"backlinkbot/sink/{key}", value)

    # -- writer thread -------------------------------------------------------

    def _run(self) -> None:
        assert self.client is not None
        db = self.client[self.database]
        writer = GraphWriter(
            db, store_internal=self.store_internal, confirm_after=self.confirm_after,
            last_seen_refresh=self.last_seen_refresh,
        )  # fmt: skip
        try:
            while True:
                batch = self.spill.get(timeout=0.2)
                if batch is None:
                    if self.closing.is_set():
                        break
                    continue
                self._store(db, writer, batch)
                if time.monotonic() - self.last_recount > self.recount_seconds:
                    self._recount(db)
            self._recount(db)
        except _GiveUp:
            moved = self.spill.spill_all()
            left = self.spill.pending_files()
            pages = self.spill.own_pages()
            logger.error(
                "MongoDB did not come back within %.0f s of closing: %d batch files "
                "(%d pages of this worker, %d just moved from memory) wait in %s and "
                "are written by the next worker that opens this database",
                self.close_timeout, left, pages, moved, self.spill.directory,
            )  # fmt: skip
            self._count("pages_left_on_disk", pages)
        finally:
            # What is left on disk may now be adopted by another worker.
            self.spill.close()

    def _store(self, db: Any, writer: GraphWriter, batch: Batch) -> None:
        try:
            if not self.indexed:
                self.indexed = bool(
                    self._retrying("create indexes", lambda: _ensure_indexes(db), batch)
                )
                if not self.indexed:
                    self.spill.release(batch)
                    return
            result = self._retrying(
                f"write {len(batch.pages)} pages", lambda: writer.write(batch.pages), batch
            )
        except (OperationFailure, BSONError) as exc:
            self._reject(batch, f"MongoDB refused it ({exc})")
            return
        if result is None:
            deferred = self.deferred.pop(batch.path.name, None) if batch.path else None
            if deferred is not None and self.stored_at > deferred:
                self._reject(batch, f"it failed {2 * self.max_retries} attempts while "
                                    "other batches were stored")  # fmt: skip
                return
            self.deferred[self.spill.release(batch).name] = time.monotonic()
            self._count("batches_deferred", 1)
            return
        self.spill.done(batch)
        self.stored_at = time.monotonic()
        self._record(result)
        self._stored([page.url for page in batch.pages])
        self.dirty.add(result.touched_domains)

    def _reject(self, batch: Batch, why: str) -> None:
        """Keep a batch that cannot be stored aside, for good: counted,
        logged, and its pages not fetched again."""
        path = self.spill.reject(batch, why)
        logger.error("A batch of %d pages cannot be stored: %s; kept in %s",
                     len(batch.pages), why, path)  # fmt: skip
        self._count("pages_rejected", len(batch.pages))
        self._stored([page.url for page in batch.pages])

    def _recount(self, db: Any) -> None:
        """Recount the out-of-date domains there were when it started, a
        chunk at a time (other workers may take some of them meanwhile)."""
        chunks = -(-self.dirty.size() // RECOUNT_CHUNK)
        for _ in range(chunks):
            domains = self.dirty.take(RECOUNT_CHUNK)
            if not domains:
                break
            count = functools.partial(
                recount_domains, db, domains, max_links=self.recount_max_links
            )
            try:
                written = self._retrying("count domains", count, None)
            except (_GiveUp, OperationFailure):
                written = None
            if written is None:
                self.dirty.add(domains)
                break
            self._count("domains_counted", written)
        self.last_recount = time.monotonic()

    def _stored(self, urls: list[str]) -> None:
        if self.signals is not None:
            reactor.callFromThread(
                self.signals.send_catch_log, signal=our_signals.pages_stored, urls=urls
            )

    def _record(self, result: WriteResult) -> None:
        self._count("pages_written", result.pages)
        self._count("links_inserted", result.links_inserted)
        self._count("links_refreshed", result.links_refreshed)
        self._count("links_updated", result.links_updated)
        self._count("links_restored", result.links_restored)
        self._count("links_unconfirmed", result.links_unconfirmed)
        self._count("links_lost", result.links_lost)
        self._count("operations", result.operations)
        for field, count in result.invalid.items():
            self._count(f"invalid/{field}", count)

    def _retrying(self, what: str, action: Any, batch: Batch | None) -> Any:
        """Run ``action`` until it succeeds, backing off while MongoDB is
        away. Returns None after ``max_retries`` attempts (the caller moves
        the batch to the back of the line); raises :class:`_GiveUp` once the
        close deadline passed, and a permanent ``OperationFailure`` as is."""
        delay = 0.25
        for attempt in range(1, self.max_retries + 1):
            try:
                return action()
            except PyMongoError as exc:
                if isinstance(exc, OperationFailure) and not _transient(exc):
                    raise
                self._count("retries", 1)
                if time.monotonic() >= self.deadline:
                    if batch is not None:
                        self.spill.release(batch)
                    raise _GiveUp from exc
                logger.warning(
                    "MongoDB unavailable (%s), attempt %d/%d to %s; retrying in %.1fs",
                    type(exc).__name__, attempt, self.max_retries, what, delay,
                )  # fmt: skip
                time.sleep(min(delay, max(0.0, self.deadline - time.monotonic())))
                delay = min(delay * 2, self.max_backoff)
        return None


def _ensure_indexes(db: Any) -> bool:
    ensure_indexes(db)
    return True


def _transient(exc: OperationFailure) -> bool:
    labels: set[str] = getattr(exc, "_error_labels", set()) or set()
    return "RetryableWriteError" in labels or exc.code in TRANSIENT_CODES

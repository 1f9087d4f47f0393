"""Turn batches of crawled pages into a few bulk writes.

For a batch of pages the writer makes one read of the stored pages, then:

- a page never seen before: its document and all its edges are inserted
  (``insert_many``, unordered);
- a page whose stored link fingerprint is unchanged: only ``last_seen`` of its
  live edges moves, by one ``update_many`` per distinct second of the batch;
- a page whose links changed: its stored edges are read and diffed — new
  edges inserted, edges that came back restored (``lost_at`` removed,
  ``restored`` counted), changed attributes set, unchanged ones refreshed,
  vanished ones marked with ``lost_at``;
- a fetch that failed (no answer, or a 5xx) leaves the page's edges as they
  were: a server error is not evidence that a link is gone.

Every write is idempotent: ``_id`` values are derived from the URLs, times
only move forward (``$max``, and guards on ``fetched_at``), so replaying a
batch leaves the same documents.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import InsertOne, UpdateMany, UpdateOne
from pymongo.errors import BulkWriteError

from .schema import (
    DOMAINS,
    EDGE_FIELDS,
    LINKS,
    PAGES,
    edge_document,
    link_fingerprint,
    link_id,
    second,
)

if TYPE_CHECKING:
    from pymongo.collection import Collection
    from pymongo.database import Database

    from backlinkbot.items import Edge, PageItem

__all__ = ["GraphWriter", "WriteResult"]

logger = logging.getLogger(__name__)

DUPLICATE_KEY = 11000


@dataclass
class WriteResult:
    pages: int = 0
    links_inserted: int = 0
    links_refreshed: int = 0
    links_updated: int = 0
    links_restored: int = 0
    links_lost: int = 0
    operations: int = 0
    touched_domains: set[str] = field(default_factory=set)


def _page_failed(page: PageItem) -> bool:
    return page.status is None or page.status >= 500


def _page_fields(page: PageItem, stored: list[Edge]) -> dict[str, Any]:
    return {
        "url": page.url,
        "host": page.host,
        "domain": page.domain,
        "status": page.status,
        "content_type": page.content_type,
        "fetched_at": page.fetched_at,
        "redirect_to": page.redirect_to,
        "ip": page.ip,
        "error": page.error,
        "nofollow": page.nofollow,
        "noindex": page.noindex,
        "links_out": len(page.edges),
        "links_external": sum(1 for e in page.edges if e.external),
        "links_rejected": page.links_rejected,
        "links_fp": link_fingerprint(stored),
    }


class GraphWriter:
    """Writes pages and their edges into ``pages`` and ``links``."""

    def __init__(self, db: Database[dict[str, Any]], *, store_internal: bool = False) -> None:
        self.pages: Collection[dict[str, Any]] = db[PAGES]
        self.links: Collection[dict[str, Any]] = db[LINKS]
        self.domains: Collection[dict[str, Any]] = db[DOMAINS]
        self.store_internal = store_internal

    def stored_edges(self, page: PageItem) -> list[Edge]:
        if self.store_internal:
            return list(page.edges)
        return [e for e in page.edges if e.external]

    def write(self, batch: list[PageItem]) -> WriteResult:
        result = WriteResult()
        # The same URL twice in a batch (a replay): the latest fetch wins.
        latest: dict[str, PageItem] = {}
        for page in batch:
            if page.url not in latest or page.fetched_at >= latest[page.url].fetched_at:
                latest[page.url] = page
        pages = list(latest.values())
        if not pages:
            return result
        known = {
            doc["_id"]: doc
            for doc in self.pages.find(
                {"_id": {"$in": [p.url for p in pages]}}, {"links_fp": 1, "fetched_at": 1}
            )
        }
        result.operations += 1

        new_pages: list[dict[str, Any]] = []
        page_updates: list[UpdateOne] = []
        link_inserts: list[dict[str, Any]] = []
        refresh: dict[datetime, list[str]] = defaultdict(list)
        changed: list[tuple[PageItem, list[Edge]]] = []

        for page in pages:
            stored = self.stored_edges(page)
            fields = _page_fields(page, stored)
            doc = known.get(page.url)
            failed = _page_failed(page)
            if doc is None:
                new_pages.append({"_id": page.url, **fields, "first_fetched": page.fetched_at})
                if not failed:
                    seen = second(page.fetched_at)
                    link_inserts.extend(edge_document(e, seen) for e in stored)
                    result.links_inserted += len(stored)
                    result.touched_domains.update(e.dst_domain for e in stored)
                continue
            if failed:
                # Keep the last good link set and its fingerprint.
                del fields["links_fp"], fields["links_out"], fields["links_external"]
            page_updates.append(
                UpdateOne({"_id": page.url, "fetched_at": {"$lte": page.fetched_at}},
                          {"$set": fields})
            )
            if failed:
                continue
            if doc.get("links_fp") == fields["links_fp"]:
                refresh[second(page.fetched_at)].append(page.url)
                result.links_refreshed += len(stored)
            else:
                changed.append((page, stored))

        # Links first, pages last: a page document (with its fingerprint) is
        # the marker that its links are stored, so a batch cut short by a
        # crash is written again in full when it is replayed.
        link_ops: list[Any] = [InsertOne(d) for d in link_inserts]
        for seen, urls in refresh.items():
            link_ops.append(
                UpdateMany({"src": {"$in": urls}, "lost_at": None}, {"$max": {"last_seen": seen}})
            )
        for page, stored in changed:
            link_ops.extend(self._diff(page, stored, result))
        if link_ops:
            self._bulk(self.links, link_ops, result)
        self._insert(self.pages, new_pages, result)
        if page_updates:
            self._bulk(self.pages, page_updates, result)
        result.pages = len(pages)
        return result

    def _diff(self, page: PageItem, stored: list[Edge], result: WriteResult) -> list[Any]:
        """Operations that bring the stored edges of ``page`` up to date."""
        seen = second(page.fetched_at)
        current = {doc["_id"]: doc for doc in self.links.find({"src": page.url})}
        result.operations += 1
        ops: list[Any] = []
        fresh: list[str] = []
        present: set[str] = set()
        for edge in stored:
            _id = link_id(edge.src, edge.dst)
            present.add(_id)
            doc = current.get(_id)
            attrs = {f: getattr(edge, f) for f in EDGE_FIELDS}
            result.touched_domains.add(edge.dst_domain)
            if doc is None:
                ops.append(InsertOne(edge_document(edge, seen)))
                result.links_inserted += 1
            elif doc.get("lost_at") is not None:
                ops.append(UpdateOne(
                    {"_id": _id, "lost_at": {"$ne": None, "$lte": seen}},
                    {"$set": attrs, "$max": {"last_seen": seen}, "$unset": {"lost_at": ""},
                     "$inc": {"restored": 1}},
                ))  # fmt: skip
                result.links_restored += 1
            elif any(doc.get(f) != v for f, v in attrs.items()):
                ops.append(UpdateOne({"_id": _id}, {"$set": attrs, "$max": {"last_seen": seen}}))
                result.links_updated += 1
            else:
                fresh.append(_id)
        if fresh:
            ops.append(UpdateMany({"_id": {"$in": fresh}}, {"$max": {"last_seen": seen}}))
            result.links_refreshed += len(fresh)
        gone = [
            _id for _id, doc in current.items()
            if _id not in present and doc.get("lost_at") is None
        ]  # fmt: skip
        if gone:
            ops.append(UpdateMany(
                {"_id": {"$in": gone}, "lost_at": None, "last_seen": {"$lte": seen}},
                {"$set": {"lost_at": seen}},
            ))  # fmt: skip
            result.links_lost += len(gone)
            result.touched_domains.update(current[_id]["dst_domain"] for _id in gone)
        return ops

    @staticmethod
    def _insert(
        collection: Collection[dict[str, Any]], docs: list[dict[str, Any]], result: WriteResult
    ) -> None:
        if not docs:
            return
        result.operations += 1
        try:
            collection.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            _raise_unless_duplicates(exc)

    @staticmethod
    def _bulk(collection: Collection[dict[str, Any]], ops: list[Any], result: WriteResult) -> None:
        result.operations += 1
        try:
            collection.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            _raise_unless_duplicates(exc)


def _raise_unless_duplicates(exc: BulkWriteError) -> None:
    """A duplicate ``_id`` means the document is already there (a replay, or
    another worker won the race): harmless. Anything else is an error."""
    errors = exc.details.get("writeErrors", [])
    others = [e for e in errors if e.get("code") != DUPLICATE_KEY]
    if others or exc.details.get("writeConcernErrors"):
        raise exc
    logger.debug("%d documents were already stored", len(errors))

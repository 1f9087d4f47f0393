"""Turn batches of crawled pages into a few bulk writes.

For a batch of pages the writer makes one read of the stored pages, then:

- a page never seen before: its document and all its edges are inserted
  (``insert_many``, unordered);
- a page whose stored link fingerprint is unchanged and that has no loss
  waiting for confirmation: only its page document is written
  (``links_seen_at`` records that the fetch saw the same links); ``last_seen``
  of its live edges moves, by one ``update_many`` per distinct second of the
  batch, once it is ``last_seen_refresh`` older than the fetch (0, the
  default, refreshes it on every fetch);
- otherwise its stored edges are read and diffed: new edges inserted, edges
  that came back restored (``lost_at`` removed, ``restored`` counted), changed
  attributes set, unchanged ones refreshed, and vanished ones either marked
  ``unconfirmed_since`` (the first fetch that missed them) or, when a later
  fetch at least ``confirm_after`` after that still misses them, declared lost
  (``lost_at`` and a typed ``lost_reason``).

Why a link vanished is read from the fetch (:func:`loss_reason`): the page
answered 404/410, redirected, failed, became ``noindex``, declared a canonical
URL elsewhere, or simply no longer has it. A failed fetch (no answer, or 5xx,
after Scrapy's retries) is weak evidence, so it too only marks links
unconfirmed until a later fetch decides.

Every write is idempotent: ``_id`` values are derived from the URLs, times
only move forward (``$max``, and guards on ``fetched_at`` and ``last_seen``),
so replaying a batch leaves the same documents. Each bulk call carries at
most :data:`MAX_BULK_OPS` operations (a batch's many edges are several
calls, in order), so no single command takes the server long.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pymongo import InsertOne, UpdateMany, UpdateOne
from pymongo.errors import BulkWriteError

from backlinkbot.safety.validate import (
    InvalidDocument,
    validate_link_document,
    validate_page_document,
)

from .schema import (
    DOMAINS,
    LINKS,
    PAGES,
    edge_attributes,
    edge_document,
    link_fingerprint,
    link_id,
    second,
)

if TYPE_CHECKING:
    from pymongo.collection import Collection
    from pymongo.database import Database

    from backlinkbot.items import Edge, PageItem

__all__ = ["GraphWriter", "WriteResult", "loss_reason"]

logger = logging.getLogger(__name__)

DUPLICATE_KEY = 11000
#: Operations (documents, for an insert) in one bulk call, at most.
MAX_BULK_OPS = 10_000
#: Default wait between the fetch that first misses a link and the one that
#: may confirm the loss.
CONFIRM_AFTER = timedelta(hours=1)
_UNCONFIRMED = {"unconfirmed_since": "", "unconfirmed_reason": ""}


@dataclass
class WriteResult:
    #: Documents refused by validation, by ``page_<field>`` / ``link_<field>``.
    invalid: Counter[str] = field(default_factory=Counter)
    pages: int = 0
    links_inserted: int = 0
    links_refreshed: int = 0
    links_updated: int = 0
    links_restored: int = 0
    links_unconfirmed: int = 0
    links_lost: int = 0
    operations: int = 0
    touched_domains: set[str] = field(default_factory=set)


def _page_failed(page: PageItem) -> bool:
    return page.status is None or page.status >= 500


def loss_reason(page: PageItem) -> str:
    """Why links missing from this fetch of ``page`` are gone
    (``links.lost_reason``, see docs/SCHEMA.md)."""
    status = page.status
    if status is None or status >= 500:
        return "page_error"
    if status in (404, 410):
        return "page_gone"
    if 300 <= status < 400:
        return "page_redirected"
    if status >= 400:
        return "page_error"
    if page.noindex:
        return "noindex"
    if any(e.kind == "canonical" and e.dst != page.url for e in page.edges):
        return "canonicalized"
    return "removed"


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
        "links_truncated": page.links_truncated,
        "links_fp": link_fingerprint(stored, page.ip),
    }


class GraphWriter:
    """Writes pages and their edges into ``pages`` and ``links``."""

    def __init__(
        self,
        db: Database[dict[str, Any]],
        *,
        store_internal: bool = False,
        confirm_after: timedelta = CONFIRM_AFTER,
        last_seen_refresh: timedelta = timedelta(0),
    ) -> None:
        self.pages: Collection[dict[str, Any]] = db[PAGES]
        self.links: Collection[dict[str, Any]] = db[LINKS]
        self.domains: Collection[dict[str, Any]] = db[DOMAINS]
        self.store_internal = store_internal
        # A replay of the same fetch must never confirm its own miss.
        self.confirm_after = max(confirm_after, timedelta(seconds=1))
        self.last_seen_refresh = last_seen_refresh

    def stored_edges(self, page: PageItem) -> list[Edge]:
        if self.store_internal:
            return list(page.edges)
        return [e for e in page.edges if e.external]

    @staticmethod
    def _valid_edges(
        page: PageItem, edges: list[Edge], result: WriteResult
    ) -> tuple[list[Edge], list[dict[str, Any]]]:
        """The edges whose documents pass validation, and those documents
        (as first seen at this fetch); the others are counted."""
        seen = second(page.fetched_at)
        valid, documents = [], []
        for edge in edges:
            document = edge_document(edge, seen, page.ip)
            try:
                validate_link_document(document)
            except InvalidDocument as exc:
                result.invalid[f"link_{exc.field}"] += 1
                logger.warning("Not storing a link of %s: %s", page.url, exc)
                continue
            valid.append(edge)
            documents.append(document)
        return valid, documents

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
                {"_id": {"$in": [p.url for p in pages]}},
                {"links_fp": 1, "fetched_at": 1, "unconfirmed_since": 1, "links_refreshed_at": 1},
            )
        }
        result.operations += 1

        new_pages: list[dict[str, Any]] = []
        page_updates: list[UpdateOne] = []
        link_inserts: list[dict[str, Any]] = []
        refresh: dict[datetime, list[str]] = defaultdict(list)
        link_ops: list[Any] = []

        for page in pages:
            failed = _page_failed(page)
            stored, documents = (
                ([], []) if failed else self._valid_edges(page, self.stored_edges(page), result)
            )
            fields = _page_fields(page, stored)
            try:
                # Nothing malformed reaches MongoDB (backlinkbot.safety.validate).
                validate_page_document(fields)
            except InvalidDocument as exc:
                result.invalid[f"page_{exc.field}"] += 1
                logger.warning("Not storing page %r: %s", page.url[:300], exc)
                continue
            doc = known.get(page.url)
            seen = second(page.fetched_at)
            if not failed:
                fields["links_seen_at"] = seen
            if doc is None:
                new_pages.append({"_id": page.url, **fields, "first_fetched": page.fetched_at,
                                  "links_refreshed_at": seen})  # fmt: skip
                link_inserts.extend(documents)
                result.links_inserted += len(stored)
                result.touched_domains.update(e.dst_domain for e in stored)
                continue
            if failed:
                # Keep the last good link set and its fingerprint.
                for kept in ("links_fp", "links_out", "links_external", "links_truncated"):
                    del fields[kept]
            update: dict[str, Any] = {"$set": fields}
            if (
                not failed
                and doc.get("links_fp") == fields["links_fp"]
                and not doc.get("unconfirmed_since")
            ):
                refreshed = doc.get("links_refreshed_at")
                if refreshed is None or seen - refreshed >= self.last_seen_refresh:
                    refresh[seen].append(page.url)
                    result.links_refreshed += len(stored)
                    update["$max"] = {"links_refreshed_at": seen}
            else:
                if not failed:
                    update["$max"] = {"links_refreshed_at": seen}
                pending = self._diff(page, stored, link_ops, result)
                if pending is None:
                    update["$unset"] = {"unconfirmed_since": ""}
                else:
                    fields["unconfirmed_since"] = pending
            page_updates.append(
                UpdateOne({"_id": page.url, "fetched_at": {"$lte": page.fetched_at}}, update)
            )

        # Links first, pages last: a page document (with its fingerprint) is
        # the marker that its links are stored, so a batch cut short by a
        # crash is written again in full when it is replayed.
        link_ops[:0] = [InsertOne(d) for d in link_inserts]
        for seen, urls in refresh.items():
            link_ops.append(
                UpdateMany({"src": {"$in": urls}, "lost_at": None}, {"$max": {"last_seen": seen}})
            )
        if link_ops:
            self._bulk(self.links, link_ops, result)
        self._insert(self.pages, new_pages, result)
        if page_updates:
            self._bulk(self.pages, page_updates, result)
        result.pages = len(pages)
        return result

    def _diff(
        self, page: PageItem, stored: list[Edge], ops: list[Any], result: WriteResult
    ) -> datetime | None:
        """Append the operations that bring the stored edges of ``page`` up to
        date; return since when a loss on the page awaits confirmation."""
        seen = second(page.fetched_at)
        current = {doc["_id"]: doc for doc in self.links.find({"src": page.url})}
        result.operations += 1
        fresh: list[str] = []
        present: set[str] = set()
        for edge in stored:
            _id = link_id(edge.src, edge.dst)
            present.add(_id)
            doc = current.get(_id)
            attrs = edge_attributes(edge, page.ip)
            result.touched_domains.add(edge.dst_domain)
            if doc is None:
                ops.append(InsertOne(edge_document(edge, seen, page.ip)))
                result.links_inserted += 1
                continue
            if doc.get("nofollow") is False and edge.nofollow:
                attrs["nofollow_since"] = seen
            if doc.get("lost_at") is not None:
                ops.append(UpdateOne(
                    {"_id": _id, "lost_at": {"$ne": None, "$lte": seen}},
                    {"$set": attrs, "$max": {"last_seen": seen},
                     "$unset": {"lost_at": "", "lost_reason": "", **_UNCONFIRMED},
                     "$inc": {"restored": 1}},
                ))  # fmt: skip
                result.links_restored += 1
            elif any(doc.get(f) != v for f, v in attrs.items()) or "unconfirmed_since" in doc:
                unset = dict(_UNCONFIRMED)
                if doc.get("nofollow") and not edge.nofollow:
                    unset["nofollow_since"] = ""
                ops.append(UpdateOne(
                    {"_id": _id, "lost_at": None},
                    {"$set": attrs, "$max": {"last_seen": seen}, "$unset": unset},
                ))  # fmt: skip
                result.links_updated += 1
            else:
                fresh.append(_id)
        if fresh:
            ops.append(UpdateMany({"_id": {"$in": fresh}}, {"$max": {"last_seen": seen}}))
            result.links_refreshed += len(fresh)
        return self._missing(page, seen, current, present, ops, result)

    def _missing(
        self,
        page: PageItem,
        seen: datetime,
        current: dict[str, dict[str, Any]],
        present: set[str],
        ops: list[Any],
        result: WriteResult,
    ) -> datetime | None:
        """Live edges this fetch did not have: first miss marks them
        unconfirmed, a miss ``confirm_after`` later declares them lost."""
        reason = loss_reason(page)
        deadline = seen - self.confirm_after
        mark: list[str] = []
        confirm: list[str] = []
        waiting: list[datetime] = []
        for _id, doc in current.items():
            if _id in present or doc.get("lost_at") is not None:
                continue
            since = doc.get("unconfirmed_since")
            if since is None:
                mark.append(_id)
            elif since <= deadline:
                confirm.append(_id)
                result.touched_domains.add(doc["dst_domain"])
            else:
                waiting.append(since)
        if mark:
            ops.append(UpdateMany(
                {"_id": {"$in": mark}, "lost_at": None, "unconfirmed_since": None,
                 "last_seen": {"$lte": seen}},
                {"$set": {"unconfirmed_since": seen, "unconfirmed_reason": reason}},
            ))  # fmt: skip
            result.links_unconfirmed += len(mark)
            waiting.append(seen)
        if confirm:
            ops.append(UpdateMany(
                {"_id": {"$in": confirm}, "lost_at": None,
                 "unconfirmed_since": {"$lte": deadline}, "last_seen": {"$lte": seen}},
                {"$set": {"lost_at": seen, "lost_reason": reason}, "$unset": _UNCONFIRMED},
            ))  # fmt: skip
            result.links_lost += len(confirm)
        return min(waiting) if waiting else None

    @staticmethod
    def _insert(
        collection: Collection[dict[str, Any]], docs: list[dict[str, Any]], result: WriteResult
    ) -> None:
        for start in range(0, len(docs), MAX_BULK_OPS):
            result.operations += 1
            try:
                collection.insert_many(docs[start : start + MAX_BULK_OPS], ordered=False)
            except BulkWriteError as exc:
                _raise_unless_duplicates(exc)

    @staticmethod
    def _bulk(collection: Collection[dict[str, Any]], ops: list[Any], result: WriteResult) -> None:
        for start in range(0, len(ops), MAX_BULK_OPS):
            result.operations += 1
            try:
                collection.bulk_write(ops[start : start + MAX_BULK_OPS], ordered=False)
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

"""Which pages to fetch again, and queuing them without overlap.

A page is due when its last fetch is older than ``max_age``, or when a link
on it was missed and waits for the refetch that confirms or refutes the loss
(``pages.unconfirmed_since`` at least ``confirm_after`` ago). Confirmations
go first, then stale pages by priority::

    score = (age / max_age) * (1 + log2(1 + live backlinks of the page))

so the oldest and most-linked pages come first. Candidates are read oldest
first through the ``fetched_at`` index (``window`` times the batch size), and
their backlinks are counted through ``dst_time``; pages already queued since
their last fetch are skipped until ``max_age`` passes again.

Due pages are pushed to the spider's start-URL list as JSON
``{"url": ..., "recrawl": true}`` and marked ``recrawl_queued_at``. A round
runs under :class:`RedisLock`, so schedulers started on several machines, or
by cron while another runs, never queue the same pages twice. Both steps
report their progress to an optional ``progress(stage, done, total)``.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .schema import LINKS, PAGES, sparse_range

if TYPE_CHECKING:
    import redis
    from pymongo.database import Database

    from backlinkbot.connection import CrawlKeys

__all__ = ["Due", "RecrawlPolicy", "RedisLock", "lock_key", "queue_due", "select_due"]

logger = logging.getLogger(__name__)

#: ``progress(stage, done, total)``, called as a step goes on.
ProgressCallback = Callable[[str, int, int | None], None]

_CHUNK = 1000

#: Delete the key only if it still holds our token.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
#: Extend the key's lifetime only if it still holds our token.
_REFRESH = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class RecrawlPolicy:
    max_age: timedelta = timedelta(days=7)
    confirm_after: timedelta = timedelta(hours=1)
    batch: int = 10000
    window: int = 4


@dataclass(frozen=True, slots=True)
class Due:
    url: str
    fetched_at: datetime
    inlinks: int
    reason: str  # "confirm" or "stale"
    score: float


def lock_key(keys: CrawlKeys) -> str:
    return f"{keys.prefix}:recrawl:lock"


class RedisLock:
    """``SET key token NX PX ttl``; only the owner (same token) extends or
    releases it, so a scheduler whose lock expired cannot free another's."""

    def __init__(self, client: redis.Redis, key: str, *, ttl_ms: int = 300_000) -> None:
        self.client = client
        self.key = key
        self.ttl_ms = ttl_ms
        self.token = uuid.uuid4().hex

    def acquire(self) -> bool:
        return bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))

    def refresh(self) -> bool:
        return bool(self.client.eval(_REFRESH, 1, self.key, self.token, self.ttl_ms))

    def release(self) -> bool:
        return bool(self.client.eval(_RELEASE, 1, self.key, self.token))

    def owner(self) -> str | None:
        value = self.client.get(self.key)
        return value.decode() if isinstance(value, bytes) else value


def _inlinks(
    db: Database[dict[str, Any]], urls: list[str], progress: ProgressCallback | None = None
) -> Counter[str]:
    counts: Counter[str] = Counter()
    for start in range(0, len(urls), _CHUNK):
        cursor = db[LINKS].find(
            {"dst": {"$in": urls[start : start + _CHUNK]}, "lost_at": None}, {"_id": 0, "dst": 1}
        )
        counts.update(doc["dst"] for doc in cursor)
        if progress is not None:
            progress("counting backlinks of due pages", min(start + _CHUNK, len(urls)), len(urls))
    return counts


def _queued(doc: dict[str, Any], now: datetime, max_age: timedelta) -> bool:
    """Queued since its last fetch, and not so long ago that the request
    must have been lost."""
    queued = doc.get("recrawl_queued_at")
    return queued is not None and queued > doc["fetched_at"] and queued > now - max_age


def select_due(
    db: Database[dict[str, Any]],
    policy: RecrawlPolicy,
    *,
    now: datetime | None = None,
    progress: ProgressCallback | None = None,
) -> list[Due]:
    """Up to ``policy.batch`` due pages, in the order they should be fetched."""
    now = now or datetime.now(UTC)
    fields = {"fetched_at": 1, "recrawl_queued_at": 1, "unconfirmed_since": 1}
    confirm_docs = [
        d for d in db[PAGES]
        .find(sparse_range("unconfirmed_since", {"$lte": now - policy.confirm_after}), fields)
        .sort("unconfirmed_since", 1)
        .limit(policy.batch * policy.window)
        if not _queued(d, now, policy.confirm_after)
    ][: policy.batch]  # fmt: skip
    stale_docs = [
        d for d in db[PAGES]
        .find({"fetched_at": {"$lt": now - policy.max_age}}, fields)
        .sort("fetched_at", 1)
        .limit(policy.batch * policy.window)
        if not _queued(d, now, policy.max_age)
    ]  # fmt: skip
    taken = {d["_id"] for d in confirm_docs}
    stale_docs = [d for d in stale_docs if d["_id"] not in taken]
    counts = _inlinks(db, [d["_id"] for d in confirm_docs + stale_docs], progress)
    max_age = policy.max_age.total_seconds() or 1.0

    def due(doc: dict[str, Any], reason: str) -> Due:
        age = (now - doc["fetched_at"]).total_seconds() / max_age
        inlinks = counts[doc["_id"]]
        return Due(doc["_id"], doc["fetched_at"], inlinks, reason,
                   age * (1 + math.log2(1 + inlinks)))  # fmt: skip

    stale = sorted(
        (due(d, "stale") for d in stale_docs), key=lambda d: (-d.score, d.fetched_at, d.url)
    )
    return ([due(d, "confirm") for d in confirm_docs] + stale)[: policy.batch]


def queue_due(
    db: Database[dict[str, Any]],
    client: redis.Redis,
    keys: CrawlKeys,
    policy: RecrawlPolicy,
    *,
    now: datetime | None = None,
    lock: RedisLock | None = None,
    progress: ProgressCallback | None = None,
) -> list[Due] | None:
    """One round: select, push to the start-URL list, mark queued. Returns
    the queued pages, or None when another scheduler holds the lock."""
    now = now or datetime.now(UTC)
    lock = lock or RedisLock(client, lock_key(keys))
    if not lock.acquire():
        logger.info("Another recrawl scheduler holds %s (owner token %s)", lock.key, lock.owner())
        return None
    try:
        pages = select_due(db, policy, now=now, progress=progress)
        for start in range(0, len(pages), _CHUNK):
            chunk = pages[start : start + _CHUNK]
            if not lock.refresh():
                raise RuntimeError(f"lost the recrawl lock {lock.key} while queuing")
            pipe = client.pipeline(transaction=False)
            pipe.rpush(
                keys.start_urls, *(json.dumps({"url": d.url, "recrawl": True}) for d in chunk)
            )
            pipe.execute()
            db[PAGES].update_many(
                {"_id": {"$in": [d.url for d in chunk]}}, {"$set": {"recrawl_queued_at": now}}
            )
            if progress is not None:
                progress("queuing due pages", start + len(chunk), len(pages))
        return pages
    finally:
        lock.release()

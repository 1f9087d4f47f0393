"""Domains to recount, shared by the workers of a crawl in Redis: each is
recounted once after its last change, by one worker."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pymongo
import pytest
import redis

from backlinkbot.connection import CrawlKeys, fail_fast
from backlinkbot.embedded.servers import free_port
from backlinkbot.runner import reset_frontier
from backlinkbot.storage.buffer import Batch
from backlinkbot.storage.dirty import DirtyDomains
from backlinkbot.storage.schema import DOMAINS, ensure_indexes
from backlinkbot.storage.writer import GraphWriter
from pipelines import mongo as sink

from .test_sink_pipeline import Now, Stats
from .test_storage_writer import edge, page


@pytest.fixture(autouse=True)
def reactor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sink, "reactor", Now)


def test_workers_share_the_domains_and_each_is_taken_once(
    redis_client: Any, redis_prefix: str
) -> None:
    key = CrawlKeys(redis_prefix).dirty_domains("db")
    one, two = DirtyDomains(redis_client, key), DirtyDomains(redis_client, key)
    one.add({"a.com", "b.com"})
    two.add(["b.com", "c.com"])
    assert one.size() == two.size() == 3
    taken = one.take(2) + two.take(5)
    assert sorted(taken) == ["a.com", "b.com", "c.com"]
    assert one.take(5) == [] and one.size() == 0
    # A recount that failed puts its domains back, for anyone.
    one.add(taken[:1])
    assert two.take(5) == taken[:1]


def test_without_redis_the_domains_stay_with_this_worker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gone = fail_fast(redis.Redis(port=free_port(), socket_connect_timeout=0.5))
    dirty = DirtyDomains(gone, "x", warn_every=60)
    with caplog.at_level(logging.WARNING):
        dirty.add({"a.com"})
        dirty.add({"b.com"})
        assert dirty.size() == 2
        assert sorted(dirty.take(5)) == ["a.com", "b.com"]
    assert len([r for r in caplog.records if "recounts them itself" in r.message]) == 1
    assert sorted(DirtyDomains().take(1)) == []


def test_kept_domains_go_to_redis_once_it_answers(redis_client: Any, redis_prefix: str) -> None:
    dirty = DirtyDomains(None, "")
    dirty.add({"a.com"})
    dirty.server, dirty.key = redis_client, f"{redis_prefix}:dirty_domains:db"
    dirty.add({"b.com"})
    assert dirty.local == set()
    assert redis_client.smembers(dirty.key) == {b"a.com", b"b.com"}


def _sink(uri: str, db: Any, dirty: DirtyDomains, tmp_path: Path) -> sink.MongoSinkPipeline:
    return sink.MongoSinkPipeline(
        uri, db.name, stats=Stats(), batch_pages=10, flush_seconds=1.0, max_retries=3,
        store_internal=False, spill_dir=tmp_path, max_backoff=0.05, dirty=dirty,
    )  # fmt: skip


def test_two_sinks_recount_each_domain_once_and_right(
    mongo_db: Any, mongo_uri: str, redis_client: Any, redis_prefix: str, tmp_path: Path
) -> None:
    ensure_indexes(mongo_db)
    key = CrawlKeys(redis_prefix).dirty_domains(mongo_db.name)
    one = _sink(mongo_uri, mongo_db, DirtyDomains(redis_client, key), tmp_path / "1")
    two = _sink(mongo_uri, mongo_db, DirtyDomains(redis_client, key), tmp_path / "2")
    # Both workers write links to b.com; each also to a domain of its own.
    # (Internal links are not stored: a.com and d.net are not touched.)
    one._store(mongo_db, GraphWriter(mongo_db), Batch([
        page("http://a.com/", [edge("http://a.com/", "http://b.com/"),
                               edge("http://a.com/", "http://c.org/")]),
    ]))  # fmt: skip
    two._store(mongo_db, GraphWriter(mongo_db), Batch([
        page("http://d.net/", [edge("http://d.net/", "http://b.com/x"),
                               edge("http://d.net/", "http://e.io/")]),
    ]))  # fmt: skip
    assert redis_client.smembers(key) == {b"b.com", b"c.org", b"e.io"}
    one._recount(mongo_db)
    two._recount(mongo_db)
    counted = [s.stats.values.get("backlinkbot/sink/domains_counted", 0) for s in (one, two)]
    # The first to recount took all three (b.com once, for both workers).
    assert counted == [3, 0]
    counts = {d["_id"]: d for d in mongo_db[DOMAINS].find()}
    assert {d: c["backlinks"] for d, c in counts.items()} == {"b.com": 2, "c.org": 1, "e.io": 1}
    assert counts["b.com"]["referring_domains"] == 2
    assert redis_client.scard(key) == 0


def test_a_recount_that_fails_puts_its_domains_back(
    redis_client: Any, redis_prefix: str, tmp_path: Path
) -> None:
    key = CrawlKeys(redis_prefix).dirty_domains("gone")
    dirty = DirtyDomains(redis_client, key)
    dirty.add({"a.com", "b.com"})
    # A MongoDB that is not there: the recount gives up within its retries.
    gone = f"mongodb://127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=200"
    with pymongo.MongoClient(gone) as client:
        failing = _sink(gone, client["gone"], dirty, tmp_path)
        failing._recount(client["gone"])
    assert redis_client.smembers(key) == {b"a.com", b"b.com"}


def test_a_frontier_reset_keeps_the_domains_to_recount(
    redis_client: Any, redis_prefix: str
) -> None:
    keys = CrawlKeys(redis_prefix)
    DirtyDomains(redis_client, keys.dirty_domains("db")).add({"a.com"})
    redis_client.rpush(keys.start_urls, "http://a.com/")
    reset_frontier(redis_client, keys)
    # The counts in MongoDB are still out of date, whatever the next crawl.
    assert redis_client.smembers(keys.dirty_domains("db")) == {b"a.com"}
    assert not redis_client.exists(keys.start_urls)

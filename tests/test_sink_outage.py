"""MongoDB goes away for 20 s in the middle of a crawl: nothing is lost.

The test runs its own MongoDB-wire server on a fixed port so it can stop it
and start it again on the same data; two workers keep crawling meanwhile,
their sinks buffer (spilling to disk past a small memory bound) and retry,
and the graph at the end equals the ground truth exactly. The progress
report says that MongoDB is away and what waits for it, and stops saying so
once it is back; the summary counts the retries and the spilled pages.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest
import redis

from backlinkbot.connection import CrawlKeys
from backlinkbot.demoweb import DemoWebServer, SyntheticWeb, generate_web
from backlinkbot.embedded import EmbeddedMongo
from backlinkbot.runner import CrawlSummary, format_summary

from .crawling import crawl_web, diff_edges, stored_edges

pytestmark = pytest.mark.e2e

OUTAGE_SECONDS = 20.0


@pytest.fixture
def own_mongo(tmp_path: Path) -> Iterator[EmbeddedMongo]:
    server = EmbeddedMongo(tmp_path / "mongodb")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def stored_pages(uri: str, database: str) -> int:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        uri, serverSelectionTimeoutMS=2000
    )
    try:
        return client[database].pages.count_documents({})
    except pymongo.errors.PyMongoError:
        return 0
    finally:
        client.close()


def fetched(redis_url: str, prefix: str) -> int:
    client = redis.Redis.from_url(redis_url)
    try:
        return int(client.hget(CrawlKeys(prefix).stats, "backlinkbot/pages/fetched") or 0)
    finally:
        client.close()


def test_crawl_survives_mongodb_outage(
    own_mongo: EmbeddedMongo, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    web: SyntheticWeb = generate_web(profile="test", seed=1)
    database = "outage"
    spill = tmp_path / "spill"
    outcome: list[CrawlSummary | BaseException] = []
    progress = io.StringIO()
    # Slow responses and little concurrency keep the crawl going well past
    # the moment MongoDB stops.
    with DemoWebServer(web, latency=0.4) as server:

        def crawl() -> None:
            try:
                outcome.append(crawl_web(
                    web, server, redis_url=redis_url, mongo_uri=own_mongo.url,
                    database=database, prefix=redis_prefix, log_dir=tmp_path / "logs",
                    settings={
                        "CONCURRENT_REQUESTS": "2",
                        # A retried request may be fetched by the other worker;
                        # keep each URL's lease with the worker that fetched it.
                        "RETRY_TIMES": "0",
                        "BACKLINKBOT_SINK_BATCH_PAGES": "2",
                        "BACKLINKBOT_SINK_MEMORY_PAGES": "2",
                        "BACKLINKBOT_SINK_SPILL_DIR": str(spill),
                        "BACKLINKBOT_SINK_MAX_BACKOFF": "2",
                        "BACKLINKBOT_SINK_CLOSE_TIMEOUT": "120",
                    },
                    progress=progress,
                ))  # fmt: skip
            except BaseException as exc:  # reported by the main thread
                outcome.append(exc)

        thread = threading.Thread(target=crawl)
        thread.start()
        deadline = time.monotonic() + 60
        while stored_pages(own_mongo.url, database) < 8 and time.monotonic() < deadline:
            time.sleep(0.2)
        own_mongo.stop()
        fetched_before = fetched(redis_url, redis_prefix)
        time.sleep(OUTAGE_SECONDS)
        during = progress.getvalue().splitlines()
        own_mongo.start()
        thread.join(timeout=240)
    assert not thread.is_alive()
    summary = outcome[0]
    assert isinstance(summary, CrawlSummary), summary
    assert summary.ok, summary.exit_codes
    stats = summary.stats
    # The crawl really went on while MongoDB was away.
    assert fetched_before < stats["backlinkbot/pages/fetched"], fetched_before
    assert stats.get("backlinkbot/sink/retries", 0) > 0
    assert stats.get("backlinkbot/sink/pages_spilled", 0) > 0
    assert stats.get("backlinkbot/sink/pages_rejected", 0) == 0
    # While it was away, the progress line said so, with the pages waiting.
    away = [line for line in during if "MongoDB unavailable, writes retried: about " in line]
    assert away and "pages wait to be stored (" in away[-1], during[-5:]
    assert " | leased " in away[-1], away[-1]
    # Once it was back and everything stored, it no longer did.
    last = progress.getvalue().splitlines()[-1]
    assert last.startswith("pages ") and "MongoDB unavailable" not in last, last
    report = format_summary(summary)
    assert f"MongoDB retries   {stats['backlinkbot/sink/retries']} writes" in report
    assert f"spilled to disk   {stats['backlinkbot/sink/pages_spilled']} pages" in report

    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(own_mongo.url, tz_aware=True)
    try:
        db = client[database]
        problems = diff_edges(web.expected_edges, stored_edges(db))
        assert not problems, "\n".join(problems[:20])
        assert {d["_id"] for d in db.pages.find({}, {"_id": 1})} == set(web.expected_pages)
    finally:
        client.close()
    assert not list((spill / database).glob("batch-*")), "batches left on disk"

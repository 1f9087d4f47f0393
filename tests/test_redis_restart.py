"""Redis going away mid-crawl: workers wait and retry, and nothing is lost.

Unit level, a scheduler whose Redis is unreachable (its client pointed at a
closed socket) keeps what it has in memory and acknowledges no lease before
the links found on its page are queued. End to end, a two-worker crawl whose
own Redis server is killed (``kill -9``) and started again on the same
append-only file ends with exactly the expected graph.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
import redis
from scrapy import Request
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.test import get_crawler

from backlinkbot import defaults
from backlinkbot.connection import REDIS_ERRORS, CrawlKeys, RedisOutage, fail_fast
from backlinkbot.demoweb import DemoWebServer, SyntheticWeb, generate_web
from backlinkbot.embedded import EmbeddedRedis
from backlinkbot.embedded.servers import free_port
from backlinkbot.extensions.clusterstats import ClusterStats
from backlinkbot.frontier.scheduler import FrontierScheduler
from backlinkbot.runner import CrawlSummary
from backlinkbot.signals import pages_stored
from backlinkbot.spiders.backlinks import BacklinksSpider

from .crawling import crawl_web, diff_edges, stored_edges
from .test_frontier import make_spider

LINKS = ["http://a.com/1", "http://b.com/1", "http://c.com/1"]


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


@contextmanager
def unreachable(client: redis.Redis, tmp_path: Path) -> Iterator[None]:
    """Point ``client`` at a socket (or port) nothing listens on, then back."""
    pool = client.connection_pool
    saved = dict(pool.connection_kwargs)
    if "path" in saved:
        pool.connection_kwargs["path"] = str(tmp_path / "closed.sock")
    else:
        pool.connection_kwargs.update(host="127.0.0.1", port=free_port())
    pool.reset()
    try:
        yield
    finally:
        pool.connection_kwargs.clear()
        pool.connection_kwargs.update(saved)
        pool.reset()


@pytest.fixture
def scheduler(redis_url: str, redis_prefix: str, redis_client: Any) -> Iterator[FrontierScheduler]:
    spider = make_spider(redis_url, redis_prefix)
    opened: FrontierScheduler = FrontierScheduler.from_crawler(spider.crawler)
    opened.open(spider)
    try:
        yield opened
    finally:
        opened.close("finished")


def counts(client: Any, prefix: str) -> tuple[int, int]:
    """(requests queued, leases) in Redis."""
    keys = CrawlKeys(prefix)
    return int(client.get(keys.queued) or 0), int(client.zcard(keys.leased))


def test_redis_away_keeps_links_and_defers_the_ack(
    scheduler: FrontierScheduler, redis_client: Any, redis_prefix: str, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    stats = scheduler.stats
    assert stats is not None
    scheduler.enqueue_request(Request("http://a.com/"))
    page = scheduler.next_request()
    assert page is not None and counts(redis_client, redis_prefix) == (0, 1)
    caplog.set_level(logging.WARNING, logger="backlinkbot.frontier.scheduler")
    with unreachable(scheduler.server, tmp_path):
        scheduler.enqueue_links(page, LINKS)
        assert scheduler.push_pending() is False
        assert [e.url for e in scheduler.pending] == LINKS  # kept, in order
        # The page is stored, but its links are not queued: the lease stays.
        scheduler.spider.crawler.signals.send_catch_log(pages_stored, urls=[page.url])
        assert scheduler.acks.done == [page.url] and page.url in scheduler.queue.leases.held
        for _ in range(20):  # the engine keeps asking; nothing raises
            assert scheduler.next_request() is None
            assert scheduler.has_pending_requests()
            assert len(scheduler) >= len(LINKS)
            scheduler._maintain()
            scheduler.outage.retry_now()
        assert counts(redis_client, redis_prefix) == (0, 1)
        errors = stats.get_value(REDIS_ERRORS)
        assert errors is not None and errors >= 20
    # One warning for all those failed calls.
    warnings = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
    # Redis is back: the next round queues the links, then lets the lease go.
    scheduler.outage.retry_now()
    scheduler._maintain()
    assert counts(redis_client, redis_prefix) == (len(LINKS), 0)
    assert not scheduler.pending and not scheduler.acks.done and not scheduler.queue.leases.held
    assert stats.get_value("backlinkbot/frontier/leases_acked") == 1
    assert any("reachable again" in r.getMessage() for r in caplog.records)


def test_no_ack_goes_through_while_an_earlier_push_fails(
    scheduler: FrontierScheduler, redis_client: Any, redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    scheduler.enqueue_request(Request("http://a.com/"))
    page = scheduler.next_request()
    assert page is not None
    calls: list[str] = []
    failures = [redis.ConnectionError("gone"), redis.TimeoutError("slow")]
    push_many, ack = scheduler.queue.push_many, scheduler.queue.leases.ack

    def flaky_push(entries: list[Any]) -> list[int]:
        calls.append("push")
        if failures:
            raise failures.pop(0)
        return push_many(entries)

    def recorded_ack(urls: list[str]) -> int:
        calls.append("ack")
        return ack(urls)

    monkeypatch.setattr(scheduler.queue, "push_many", flaky_push)
    monkeypatch.setattr(scheduler.queue.leases, "ack", recorded_ack)
    scheduler.enqueue_links(page, LINKS)
    # Redis answers everything but the push: the ack must still wait.
    scheduler.ack([page.url])
    assert calls == ["push"] and counts(redis_client, redis_prefix) == (0, 1)
    scheduler.outage.retry_now()
    scheduler._maintain()  # the push fails again: the ack waits again
    assert calls == ["push", "push"] and counts(redis_client, redis_prefix) == (0, 1)
    scheduler.outage.retry_now()
    scheduler._maintain()
    assert calls == ["push", "push", "push", "ack"]
    assert counts(redis_client, redis_prefix) == (len(LINKS), 0)


def test_without_info_leases_are_acknowledged_unchecked(
    scheduler: FrontierScheduler, redis_client: Any, redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    leases = scheduler.queue.leases

    def refused() -> str:
        raise redis.ResponseError("NOPERM this user has no permissions to run 'info'")

    monkeypatch.setattr(leases, "learn_server", refused)
    leases.run_id = None
    scheduler.enqueue_request(Request("http://a.com/"))
    page = scheduler.next_request()  # not stuck on the unknown server run
    assert page is not None and leases.run_id == ""
    scheduler.ack([page.url])
    assert counts(redis_client, redis_prefix) == (0, 0)


def test_leases_of_a_killed_and_restarted_redis_are_not_acknowledged(
    tmp_path: Path, redis_prefix: str
) -> None:
    server = EmbeddedRedis(tmp_path / "redis", appendonly=True)
    url = server.start()
    client = redis.Redis.from_url(url)
    spider = make_spider(url, redis_prefix, BACKLINKBOT_LEASE_TIMEOUT=0.5)
    sched: FrontierScheduler = FrontierScheduler.from_crawler(spider.crawler)
    try:
        sched.open(spider)
        sched.enqueue_request(Request("http://a.com/"))
        page = sched.next_request()
        assert page is not None
        sched.enqueue_links(page, LINKS)
        assert sched.push_pending()
        # Redis answers once a write is in the append-only file (the page
        # cache): the flush, and the pop before it, survive a kill -9.
        aof = [p for p in (tmp_path / "redis").rglob("appendonly*") if p.is_file()]
        last = LINKS[-1].encode()
        wait_for(lambda: any(last in p.read_bytes() for p in aof), 5, "the AOF")
        server.kill()
        assert sched.next_request() is None and sched.has_pending_requests()
        sched.ack([page.url])  # Redis is away: deferred
        assert sched.acks.done == [page.url]
        server.start()
        assert counts(client, redis_prefix) == (len(LINKS), 1)  # all of it survived
        # Another server run: the lease is given up, not acknowledged ...
        sched.outage.retry_now()
        sched._acknowledge()
        assert counts(client, redis_prefix) == (len(LINKS), 1)
        assert not sched.acks.done and not sched.queue.leases.held
        assert spider.crawler.stats.get_value("backlinkbot/frontier/leases_abandoned") == 1
        # ... it expires and its page goes back to the queue.
        wait_for(lambda: sched._maintain() or counts(client, redis_prefix)[1] == 0, 5, "reap")
        assert counts(client, redis_prefix) == (len(LINKS) + 1, 0)
        # New leases, on the new run, are acknowledged as usual.
        again = sched.next_request()
        assert again is not None
        sched.ack([again.url])
        assert counts(client, redis_prefix)[1] == 0
    finally:
        with suppress(Exception):
            sched.close("finished")
        client.close()
        server.stop()


def test_the_spider_and_the_stats_wait_for_redis(tmp_path: Path, redis_prefix: str) -> None:
    closed = f"unix://{tmp_path / 'closed.sock'}"
    settings = {name: getattr(defaults, name) for name in defaults.__all__}
    crawler = get_crawler(BacklinksSpider, {**settings, "REDIS_URL": closed,
                                            "BACKLINKBOT_REDIS_PREFIX": redis_prefix})  # fmt: skip
    spider = BacklinksSpider.from_crawler(crawler)
    crawler.spider = spider
    spider.setup_redis(crawler)
    assert spider.cluster.heartbeat() is False  # no error
    for _ in range(3):
        with pytest.raises(DontCloseSpider):
            spider.spider_idle()
        spider.outage.retry_now()

    async def seeds() -> list[Request]:
        return [request async for request in spider.start()]

    assert asyncio.run(seeds()) == []
    assert spider.cluster.leave() is False
    assert crawler.stats is not None
    stats = ClusterStats(fail_fast(redis.Redis.from_url(closed)), CrawlKeys(redis_prefix), "w1",
                         crawler.stats, 1.0)  # fmt: skip
    crawler.stats.set_value("backlinkbot/pages/fetched", 3)
    stats.push()
    assert stats.pushed == {}  # the next push carries it
    assert crawler.stats.get_value(REDIS_ERRORS) == 5


def test_outage_pauses_and_warns_now_and_then(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    outage = RedisOutage(None, logging.getLogger("outage-test"), clock=lambda: now[0])
    caplog.set_level(logging.WARNING, logger="outage-test")
    assert not outage.waiting()
    waits = []
    for _ in range(5):
        outage.failed("testing", redis.ConnectionError("down"))
        waits.append(outage.retry_at - now[0])
        assert outage.waiting()
        now[0] += 0.5
    assert waits == [0.25, 0.5, 1.0, 2.0, 2.0]
    assert len(caplog.records) == 1  # within 5 s
    now[0] += 5
    outage.failed("testing", redis.ConnectionError("down"))
    assert len(caplog.records) == 2
    outage.succeeded()
    assert not outage.waiting() and outage.errors == 0
    assert "reachable again after 6 failed calls" in caplog.records[-1].getMessage()


# -- end to end --------------------------------------------------------------


@pytest.fixture(scope="module")
def web() -> SyntheticWeb:
    return generate_web(profile="test", seed=1)


def _stop_workers(client: redis.Redis, prefix: str) -> None:
    """Stop the workers of a crawl that did not end (a failing test)."""
    with suppress(redis.RedisError):
        for worker in client.hkeys(CrawlKeys(prefix).heartbeat):
            with suppress(ValueError, OSError):
                os.kill(int(worker.decode().rsplit(":", 1)[1]), signal.SIGTERM)


@pytest.mark.e2e
def test_a_crawl_survives_redis_killed_and_restarted(
    web: SyntheticWeb, mongo_uri: str, mongo_db: Any, redis_prefix: str, tmp_path: Path
) -> None:
    server = EmbeddedRedis(tmp_path / "redis", appendonly=True)
    url = server.start()
    client = redis.Redis.from_url(url)
    keys = CrawlKeys(redis_prefix)
    logs = tmp_path / "logs"
    result: list[CrawlSummary | BaseException] = []
    settings = {
        # Slow enough that the crawl is under way when Redis goes.
        "BACKLINKBOT_HOST_DELAY": "0.3",
        # Leases given up on the restarted server come back quickly.
        "BACKLINKBOT_LEASE_TIMEOUT": "3",
    }

    def crawl() -> None:
        try:
            result.append(crawl_web(web, demo, redis_url=url, mongo_uri=mongo_uri,
                                    database=mongo_db.name, prefix=redis_prefix,
                                    log_dir=logs, settings=settings))  # fmt: skip
        except BaseException as exc:  # reported by the test thread
            result.append(exc)

    with DemoWebServer(web, latency=0.1) as demo:
        thread = threading.Thread(target=crawl, daemon=True)
        thread.start()
        try:
            wait_for(
                lambda: mongo_db.pages.count_documents({}) >= 10 and client.zcard(keys.leased) > 0,
                30, "a crawl under way",
            )  # fmt: skip
            assert thread.is_alive(), "the crawl ended before Redis could be killed"
            server.kill()
            time.sleep(2)  # Redis away for a while, workers keep running
            server.start()
            thread.join(timeout=90)
        finally:
            if thread.is_alive():
                _stop_workers(client, redis_prefix)
                thread.join(timeout=30)
    try:
        assert result, f"the crawl did not end (worker logs in {logs})"
        summary = result[0]
        if isinstance(summary, BaseException):
            raise summary
        assert summary.ok, f"exit codes {summary.exit_codes} (worker logs in {logs})"
        problems = diff_edges(web.expected_edges, stored_edges(mongo_db))
        assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:20])
        assert {d["_id"] for d in mongo_db.pages.find()} == set(web.expected_pages)
        assert summary.stats.get(REDIS_ERRORS, 0) > 0, summary.stats
        assert client.zcard(keys.leased) == 0 and int(client.get(keys.queued) or 0) == 0
    finally:
        client.close()
        server.stop()

"""Frontier components against a real Redis server."""

from __future__ import annotations

import time
from typing import Any

import pytest
from scrapy import Request, Spider
from scrapy.utils.request import request_from_dict
from scrapy.utils.test import get_crawler

from backlinkbot.frontier import serializer
from backlinkbot.frontier.cluster import Cluster
from backlinkbot.frontier.dupefilter import URLDupeFilter, url_fingerprint
from backlinkbot.frontier.keys import CrawlKeys
from backlinkbot.frontier.queue import FrontierQueue


class _Spider(Spider):
    name = "frontier-test"

    def parse(self, response: Any) -> None:
        pass

    def on_error(self, failure: Any) -> None:
        pass


def make_spider(redis_url: str, prefix: str, **settings: Any) -> _Spider:
    crawler = get_crawler(
        _Spider,
        {
            "REDIS_URL": redis_url,
            "BACKLINKBOT_REDIS_PREFIX": prefix,
            "BACKLINKBOT_WORKER_ID": "w1",
            "BACKLINKBOT_MAX_PAGES": 0,
            **settings,
        },
    )
    spider = _Spider.from_crawler(crawler)
    crawler.spider = spider
    return spider


def test_serializer_round_trip_is_compact_json() -> None:
    spider = _Spider()
    request = Request(
        "http://example.com/é?a=1", callback=spider.parse, errback=spider.on_error,
        priority=-3, meta={"depth": 3}, headers={"X-Test": "1"},
    )  # fmt: skip
    data = serializer.dumps(request.to_dict(spider=spider))
    assert data.startswith(b"{") and b"cookies" not in data and len(data) < 200
    back = request_from_dict(serializer.loads(data), spider=spider)
    assert back.url == request.url and back.priority == -3 and back.meta == {"depth": 3}
    assert back.callback == spider.parse and back.errback == spider.on_error
    assert back.headers.get("X-Test") == b"1"


def test_dupefilter_sees_each_url_once_and_never_clears(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    spider = make_spider(redis_url, redis_prefix)
    df = URLDupeFilter.from_spider(spider)
    assert not df.request_seen(Request("http://a.com/"))
    assert df.request_seen(Request("http://a.com/"))
    assert not df.request_seen(Request("http://a.com/b"))
    df.close("finished")
    assert redis_client.sismember(f"{redis_prefix}:dupefilter", url_fingerprint("http://a.com/"))
    assert len(url_fingerprint("http://a.com/")) == 8


def test_queue_pops_by_priority_and_marks_worker_busy(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    spider = make_spider(redis_url, redis_prefix)
    keys = CrawlKeys(redis_prefix)
    q = FrontierQueue(redis_client, spider, keys.requests, serializer)
    for url, priority in (("http://deep.com/", -2), ("http://seed.com/", 1000), ("http://d1.com/", -1)):
        q.push(Request(url, priority=priority))
    assert len(q) == 3
    assert q.pop().url == "http://seed.com/"
    assert redis_client.hget(keys.busy, "w1") is not None
    assert [q.pop().url, q.pop().url] == ["http://d1.com/", "http://deep.com/"]
    assert q.pop() is None
    assert int(redis_client.get(keys.dequeued)) == 3


def test_queue_respects_cluster_page_budget(redis_url: str, redis_prefix: str, redis_client: Any) -> None:
    spider = make_spider(redis_url, redis_prefix, BACKLINKBOT_MAX_PAGES=2)
    keys = CrawlKeys(redis_prefix)
    q = FrontierQueue(redis_client, spider, keys.requests, serializer)
    for i in range(4):
        q.push(Request(f"http://h{i}.com/"))
    assert q.pop() is not None and q.pop() is not None
    assert q.pop() is None and len(q) == 2
    assert q.budget_exhausted()


@pytest.fixture
def cluster_pair(redis_client: Any, redis_prefix: str) -> tuple[Cluster, Cluster, CrawlKeys]:
    keys = CrawlKeys(redis_prefix)
    a = Cluster(redis_client, keys, "a", worker_timeout=60, max_pages=0)
    b = Cluster(redis_client, keys, "b", worker_timeout=60, max_pages=0)
    a.heartbeat()
    b.heartbeat()
    redis_client.set(keys.dequeued, 1)  # the crawl has started
    return a, b, keys


def test_workers_started_before_the_seeds_wait_for_them(
    redis_client: Any, redis_prefix: str
) -> None:
    a = Cluster(redis_client, CrawlKeys(redis_prefix), "a", worker_timeout=60, max_pages=0)
    a.heartbeat()
    assert not a.idle()


def test_crawl_is_finished_only_when_queue_empty_and_nobody_busy(
    cluster_pair: tuple[Cluster, Cluster, CrawlKeys], redis_client: Any
) -> None:
    a, b, keys = cluster_pair
    redis_client.zadd(keys.requests, {b"r": 0})
    assert not a.idle()  # work is queued
    redis_client.delete(keys.requests)
    redis_client.hset(keys.busy, "b", time.time())  # b holds a request
    assert not a.idle()
    assert b.idle()  # b finished it and nothing is left: done
    assert a.idle()


def test_seeds_waiting_keep_the_crawl_open(
    cluster_pair: tuple[Cluster, Cluster, CrawlKeys], redis_client: Any
) -> None:
    a, _, keys = cluster_pair
    redis_client.rpush(keys.start_urls, "http://a.com/")
    assert not a.idle()


def test_a_dead_busy_worker_does_not_block_the_end(redis_client: Any, redis_prefix: str) -> None:
    keys = CrawlKeys(redis_prefix)
    a = Cluster(redis_client, keys, "a", worker_timeout=5, max_pages=0)
    a.heartbeat()
    redis_client.hset(keys.busy, "dead", time.time())
    redis_client.hset(keys.heartbeat, "dead", time.time() - 60)
    redis_client.set(keys.dequeued, 5)
    assert a.idle()


def test_spent_budget_finishes_with_requests_left(redis_client: Any, redis_prefix: str) -> None:
    keys = CrawlKeys(redis_prefix)
    a = Cluster(redis_client, keys, "a", worker_timeout=60, max_pages=1)
    a.heartbeat()
    redis_client.zadd(keys.requests, {b"r": 0})
    assert not a.idle()
    redis_client.set(keys.dequeued, 1)
    assert a.idle()

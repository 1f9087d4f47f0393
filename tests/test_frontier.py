"""Frontier components against a real Redis server."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from scrapy import Request, Spider
from scrapy.core.engine import ExecutionEngine, _Slot
from scrapy.utils.request import request_from_dict
from scrapy.utils.test import get_crawler

from backlinkbot import defaults
from backlinkbot.connection import CrawlKeys
from backlinkbot.frontier import serializer
from backlinkbot.frontier.bloom import BloomGeometry
from backlinkbot.frontier.cluster import Cluster
from backlinkbot.frontier.dupefilter import URLDupeFilter
from backlinkbot.frontier.leases import Leases
from backlinkbot.frontier.queue import IP_SPACED, OVER_BUDGET, QUEUED, SEEN, FrontierQueue
from backlinkbot.frontier.recent import RecentURLs
from backlinkbot.frontier.scheduler import FrontierScheduler, wake_engine
from backlinkbot.signals import pages_stored
from backlinkbot.urlnorm import normalize_url


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
            **{name: getattr(defaults, name) for name in defaults.__all__},
            "SCHEDULER_QUEUE_CLASS": "backlinkbot.frontier.queue.FrontierQueue",
            "DUPEFILTER_CLASS": "backlinkbot.frontier.dupefilter.URLDupeFilter",
            "SCHEDULER_SERIALIZER": "backlinkbot.frontier.serializer",
            "SCHEDULER_QUEUE_KEY": f"{prefix}:requests",
            "SCHEDULER_DUPEFILTER_KEY": f"{prefix}:dupefilter",
            "REDIS_URL": redis_url,
            "BACKLINKBOT_REDIS_PREFIX": prefix,
            "BACKLINKBOT_WORKER_ID": "w1",
            "BACKLINKBOT_MAX_PAGES": 0,
            "BACKLINKBOT_HOST_DELAY": 0,
            "BACKLINKBOT_DUPEFILTER_CAPACITY": 100_000,
            **settings,
        },
    )
    spider = _Spider.from_crawler(crawler)
    crawler.spider = spider
    return spider


@contextmanager
def open_scheduler(spider: _Spider, reason: str = "shutdown") -> Iterator[FrontierScheduler]:
    """The spider's frontier scheduler, open, closed with ``reason`` after."""
    scheduler = FrontierScheduler.from_crawler(spider.crawler)
    scheduler.open(spider)
    try:
        yield scheduler
    finally:
        scheduler.close(reason)


def make_queue(redis_client: Any, redis_url: str, prefix: str, **settings: Any) -> FrontierQueue:
    spider = make_spider(redis_url, prefix, **settings)
    return FrontierQueue(redis_client, spider, CrawlKeys(prefix).requests, serializer)


def test_serializer_round_trip_is_compact_json() -> None:
    spider = _Spider()
    request = Request(
        "http://example.com/é?a=1", callback=spider.parse, errback=spider.on_error,
        priority=-3, meta={"depth": 3}, headers={"X-Test": "1"},
    )  # fmt: skip
    # The fast path builds what Scrapy's own to_dict() does.
    assert serializer.request_to_dict(request, spider) == request.to_dict(spider=spider)
    data = serializer.dumps(request.to_dict(spider=spider))
    assert data.startswith(b"{") and b"cookies" not in data and len(data) < 200
    back = request_from_dict(serializer.loads(data), spider=spider)
    assert back.url == request.url and back.priority == -3 and back.meta == {"depth": 3}
    assert back.callback == spider.parse and back.errback == spider.on_error
    assert back.headers.get("X-Test") == b"1"


@pytest.mark.parametrize(
    ("capacity", "error_rate", "hashes", "max_bytes_per_url"),
    [
        (10_000_000, 0.001, 10, 1.8),
        (10_000_000, 0.01, 7, 1.2),
        (1_000, 0.001, 10, 1.8),
        (1_000_000_000, 0.001, 10, 1.8),  # several shards
    ],
)
def test_bloom_geometry(
    capacity: int, error_rate: float, hashes: int, max_bytes_per_url: float
) -> None:
    g = BloomGeometry.for_capacity(capacity, error_rate)
    assert g.hashes == hashes
    assert g.shard_bits <= 2**32
    assert g.bytes / capacity <= max_bytes_per_url
    shard, offsets = g.locate("http://a.com/")
    assert 0 <= shard < g.shards and len(set(offsets)) == hashes
    assert all(0 <= o < g.shard_bits for o in offsets)
    assert g.locate("http://a.com/") == (shard, offsets)


@pytest.mark.parametrize(("capacity", "error_rate"), [(0, 0.001), (10, 0.0), (10, 1.0)])
def test_bloom_geometry_rejects_bad_settings(capacity: int, error_rate: float) -> None:
    with pytest.raises(ValueError, match="expected"):
        BloomGeometry.for_capacity(capacity, error_rate)


def test_dupefilter_sees_each_url_once_and_never_clears(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    spider = make_spider(redis_url, redis_prefix)
    df = URLDupeFilter.from_spider(spider)
    assert not df.request_seen(Request("http://a.com/"))
    assert df.request_seen(Request("http://a.com/"))
    assert not df.request_seen(Request("http://a.com/b"))
    df.close("finished")
    assert URLDupeFilter.from_spider(spider).request_seen(Request("http://a.com/b"))
    # 100,000 URLs at 0.1 %: 1.44 million bits.
    assert redis_client.strlen(f"{redis_prefix}:dupefilter") <= 180_000


def test_dupefilter_false_positive_rate_is_at_most_the_setting(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    capacity = 10_000
    spider = make_spider(redis_url, redis_prefix, BACKLINKBOT_DUPEFILTER_CAPACITY=capacity)
    df = URLDupeFilter.from_spider(spider)
    with redis_client.pipeline(transaction=False) as pipe:
        for i in range(capacity):
            key, offsets = df.bits(f"http://site{i % 97}.com/page/{i}")
            for offset in offsets:
                pipe.setbit(key, offset, 1)
        pipe.execute()
    bitmap = redis_client.get(df.key)
    probes, false = 50_000, 0
    for i in range(probes):
        _, offsets = df.bits(f"http://other{i % 89}.org/doc?id={i}")
        if all(bitmap[o >> 3] & (0x80 >> (o & 7)) for o in offsets):
            false += 1
    assert false / probes <= 0.0015, false
    # And the filter answers through Redis the same way.
    assert df.request_seen(Request("http://site5.com/page/5"))


def test_queue_pops_by_priority_and_leases(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    keys = CrawlKeys(redis_prefix)
    q = make_queue(redis_client, redis_url, redis_prefix)
    for url, priority in (("http://a.com/deep", -2), ("http://a.com/", 1000),
                          ("http://a.com/d1", -1)):  # fmt: skip
        q.push(Request(url, priority=priority))
    assert len(q) == 3
    assert q.pop().url == "http://a.com/"
    assert redis_client.hget(keys.busy, "w1") is not None
    assert redis_client.zcard(keys.leased) == 1 and len(q.leases) == 1
    assert [q.pop().url, q.pop().url] == ["http://a.com/d1", "http://a.com/deep"]
    assert q.pop() is None
    assert int(redis_client.get(keys.dequeued)) == 3 and len(q) == 0
    assert q.leases.ack(["http://a.com/", "http://a.com/d1"]) == 2
    assert redis_client.zcard(keys.leased) == 1 and redis_client.hlen(keys.lease_data) == 1


def test_push_many_filters_duplicates_in_one_call(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    q = make_queue(redis_client, redis_url, redis_prefix)
    df = URLDupeFilter.from_spider(q.spider)
    urls = ["http://a.com/1", "http://b.com/1", "http://a.com/1", "http://a.com/2"]
    assert q.push_many([q.entry(Request(u), df.bits(u)) for u in urls]) == [1, 1, 0, 1]
    assert q.push_many([q.entry(Request("http://b.com/1"), df.bits("http://b.com/1"))]) == [0]
    # dont_filter (a recrawl) skips the filter.
    assert q.push_many([q.entry(Request("http://b.com/1", dont_filter=True), None)]) == [1]
    assert len(q) == 4
    assert redis_client.zcard(f"{redis_prefix}:requests:a.com") == 2


def test_the_embedded_redis_keeps_the_frontiers_sorted_sets_as_skip_lists(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    """A pop moves a host in ``hosts`` and adds a lease to ``leased``; in a
    packed list (Redis's encoding of a small sorted set) each move searches
    and shifts the whole list. The embedded Redis packs only tiny ones."""
    from backlinkbot.embedded.servers import ZSET_PACKED_ENTRIES

    if os.environ.get("REDIS_URL"):
        pytest.skip("a Redis of the user's, with its own settings")
    assert ZSET_PACKED_ENTRIES < 20  # Redis's default is 128
    q = make_queue(redis_client, redis_url, redis_prefix)
    urls = [f"http://h{i}.example/{n}" for i in range(20) for n in (1, 2)]
    assert q.push_many([q.entry(Request(u), None) for u in urls]) == [QUEUED] * len(urls)
    assert len(q.pop_many(20)) == 20
    keys = CrawlKeys(redis_prefix)
    for key in (keys.hosts, keys.leased):
        assert redis_client.object("encoding", key) == b"skiplist", key


def test_links_of_a_page_are_queued_as_copies_of_one_request(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    q = make_queue(redis_client, redis_url, redis_prefix)
    spider = q.spider
    df = URLDupeFilter.from_spider(spider)
    prototype = Request("http://a.com/x", callback=spider.parse, priority=-2,
                        meta={"depth": 2, "redirect_hops": 1})  # fmt: skip
    raw = ['http://a.com/p?q="1"', "http://b.com:8080/\u00e9", "http://a.com/p?q=1"]
    urls = [normalize_url(u) for u in raw]
    assert urls == [Request(u).url for u in urls]  # what a request would hold
    entries = q.entries_like(prototype, urls, [df.bits(u) for u in urls])
    # Byte for byte what encoding each copy would give.
    assert [e.data for e in entries] == [q.entry(prototype.replace(url=u), None).data for u in urls]
    assert [e.host for e in entries] == ["a.com", "b.com", "a.com"]
    assert q.push_many(entries) == [QUEUED] * 3
    taken = q.pop_many(10)
    assert {r.url for r in taken} == set(urls)
    assert all(r.callback == spider.parse and r.meta == prototype.meta for r in taken)
    assert all(r.priority == -2 for r in taken)


def test_host_budget_is_exact_and_cluster_wide(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    # Two workers' queues on one frontier; a host may have 5 requests queued.
    one, two = (
        make_queue(redis_client, redis_url, redis_prefix, BACKLINKBOT_MAX_HOST_PAGES=5)
        for _ in range(2)
    )
    df = URLDupeFilter.from_spider(one.spider)
    statuses = []
    for i in range(4):
        for q in (one, two):
            urls = [f"http://a.example/{id(q)}/{i}", f"http://b.example/{i}"]
            statuses += q.push_many([q.entry(Request(u), df.bits(u)) for u in urls])
    # a.example: 8 new URLs, 5 queued; b.example: 4 new (each pushed twice).
    assert statuses.count(QUEUED) == 9 and statuses.count(SEEN) == 4
    assert statuses.count(OVER_BUDGET) == 3
    assert redis_client.zcard(f"{redis_prefix}:requests:a.example") == 5
    assert int(redis_client.hget(f"{redis_prefix}:host_pages", "a.example")) == 8
    # A URL refused for the budget is not queued later either.
    assert one.push_many(
        [one.entry(Request("http://a.example/x"), df.bits("http://a.example/x"))]
    ) == [OVER_BUDGET]
    assert len(one) == 9


def test_pop_many_takes_one_request_per_ready_host_in_turn(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    q = make_queue(redis_client, redis_url, redis_prefix, BACKLINKBOT_HOST_DELAY=30,
                   BACKLINKBOT_MAX_PAGES=5)  # fmt: skip
    for host in ("a", "b", "c"):
        for i in range(3):
            q.push(Request(f"http://{host}.com/{i}", priority=-i))
    first = q.pop_many(10)
    # With a host delay, one request per host, each host's best first.
    assert sorted(r.url for r in first) == ["http://a.com/0", "http://b.com/0", "http://c.com/0"]
    assert redis_client.zcard(f"{redis_prefix}:leased") == 3 and len(q.leases) == 3
    assert q.pop_many(10) == []
    redis_client.zadd(f"{redis_prefix}:hosts", {"a.com": 0, "b.com": 0, "c.com": 0})
    # The cluster's page budget (5) caps the batch.
    assert len(q.pop_many(10)) == 2 and q.budget_exhausted()
    assert len(q) == 4


def test_each_host_waits_its_delay_across_workers(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    one = make_queue(redis_client, redis_url, redis_prefix, BACKLINKBOT_HOST_DELAY=0.4)
    two = make_queue(redis_client, redis_url, redis_prefix, BACKLINKBOT_HOST_DELAY=0.4,
                     BACKLINKBOT_WORKER_ID="w2")  # fmt: skip
    redis_client.hset(f"{redis_prefix}:crawl_delay", "slow.com", 5)
    for url in ("http://a.com/1", "http://a.com/2", "http://b.com/1", "http://b.com/2",
                "http://slow.com/1", "http://slow.com/2"):  # fmt: skip
        one.push(Request(url))
    first = {one.pop().url, two.pop().url, one.pop().url}
    assert first == {"http://a.com/1", "http://b.com/1", "http://slow.com/1"}
    assert one.pop() is None and two.pop() is None  # every host waits
    time.sleep(0.45)
    second = {two.pop().url, one.pop().url}
    assert second == {"http://a.com/2", "http://b.com/2"}
    assert one.pop() is None  # slow.com: Crawl-delay 5 s
    backoff = redis_client.zrangebyscore(f"{redis_prefix}:hosts", time.time() + 3, "+inf")
    assert backoff == [b"slow.com"]


def test_hosts_at_one_address_share_its_delay_across_workers(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    settings = {"BACKLINKBOT_HOST_DELAY": 0, "BACKLINKBOT_IP_DELAY": 0.3}
    one = make_queue(redis_client, redis_url, redis_prefix, **settings)
    two = make_queue(redis_client, redis_url, redis_prefix, BACKLINKBOT_WORKER_ID="w2",
                     **settings)  # fmt: skip
    # a.com and b.com live at one address, c.com at another; d.com's is unknown.
    redis_client.hset(
        f"{redis_prefix}:host_ip",
        mapping={"a.com": "192.0.2.1", "b.com": "192.0.2.1", "c.com": "192.0.2.2"},
    )
    for host in ("a", "b", "c", "d"):
        for i in range(3):
            one.push(Request(f"http://{host}.com/{i}", priority=-i))
    taken: dict[str, list[float]] = {}
    spaced: dict[str, set[bool]] = {}
    deadline = time.monotonic() + 5
    while sum(map(len, taken.values())) < 12 and time.monotonic() < deadline:
        for queue in (one, two):
            for request in queue.pop_many(4):
                host = request.url.split("/")[2]
                taken.setdefault(host, []).append(time.monotonic())
                spaced.setdefault(host, set()).add(bool(request.meta.get(IP_SPACED)))
        time.sleep(0.01)
    assert {host: len(times) for host, times in taken.items()} == {
        "a.com": 3, "b.com": 3, "c.com": 3, "d.com": 3,
    }  # fmt: skip
    shared = sorted(taken["a.com"] + taken["b.com"])
    gaps = [b - a for a, b in itertools.pairwise(shared)]
    assert min(gaps) >= 0.3 - 0.05, gaps
    # The two hosts took turns at the address rather than one draining first.
    order = sorted((t, h) for h in ("a.com", "b.com") for t in taken[h])
    assert [h for _, h in order][:4] in (["a.com", "b.com"] * 2, ["b.com", "a.com"] * 2)
    # c.com has an address of its own, spaced alike but not behind a.com and
    # b.com; d.com's address is not known: one request per IP delay, not
    # marked as spaced by address (the worker spaces it by the address it
    # resolves, AddressSpacing).
    own = sorted(taken["c.com"])
    assert min(b - a for a, b in itertools.pairwise(own)) >= 0.3 - 0.05
    assert own[2] < shared[4]
    unknown = sorted(taken["d.com"])
    assert min(b - a for a, b in itertools.pairwise(unknown)) >= 0.3 - 0.05
    assert spaced == {"a.com": {True}, "b.com": {True}, "c.com": {True}, "d.com": {False}}


def test_without_an_address_delay_hosts_at_one_address_are_independent(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    q = make_queue(redis_client, redis_url, redis_prefix, BACKLINKBOT_HOST_DELAY=30)
    redis_client.hset(f"{redis_prefix}:host_ip",
                      mapping={"a.com": "192.0.2.1", "b.com": "192.0.2.1"})  # fmt: skip
    q.push(Request("http://a.com/"))
    q.push(Request("http://b.com/"))
    assert len(q.pop_many(4)) == 2
    assert not redis_client.exists(f"{redis_prefix}:ip_ready")


def test_a_dead_workers_leases_are_reaped_and_crawled_again(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    dead = make_queue(redis_client, redis_url, redis_prefix, BACKLINKBOT_LEASE_TIMEOUT=0.3)
    alive = make_queue(redis_client, redis_url, redis_prefix, BACKLINKBOT_LEASE_TIMEOUT=0.3,
                       BACKLINKBOT_WORKER_ID="w2")  # fmt: skip
    for i in range(3):
        dead.push(Request(f"http://h{i}.com/", priority=i))
    taken = [dead.pop().url for _ in range(3)]
    assert alive.pop() is None and alive.leases.reap() == 0  # leases still live
    alive.leases.hold("x", "nothing")  # renewing an unknown id does nothing
    assert alive.leases.renew() == 0
    time.sleep(0.35)
    assert alive.leases.reap() == 3
    assert int(redis_client.get(f"{redis_prefix}:dequeued")) == 0
    again = {r.url: r.priority for r in (alive.pop() for _ in range(3))}
    assert sorted(again) == sorted(taken)
    assert again == {f"http://h{i}.com/": i for i in range(3)}
    assert redis_client.zcard(f"{redis_prefix}:leased") == 3


def test_renewed_leases_survive_and_released_ones_return(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    q = make_queue(redis_client, redis_url, redis_prefix, BACKLINKBOT_LEASE_TIMEOUT=0.3)
    q.push(Request("http://a.com/"))
    q.push(Request("http://b.com/"))
    q.pop()
    q.pop()
    time.sleep(0.2)
    assert q.leases.renew() == 2
    time.sleep(0.2)
    assert q.leases.reap() == 0
    assert q.leases.release() == 2 and len(q.leases) == 0
    assert len(q) == 2 and redis_client.zcard(f"{redis_prefix}:leased") == 0


def test_queue_respects_cluster_page_budget_and_pause(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    q = make_queue(redis_client, redis_url, redis_prefix, BACKLINKBOT_MAX_PAGES=2)
    for i in range(4):
        q.push(Request(f"http://h{i}.com/"))
    redis_client.set(f"{redis_prefix}:paused", 1)
    assert q.pop() is None
    redis_client.delete(f"{redis_prefix}:paused")
    assert q.pop() is not None and q.pop() is not None
    assert q.pop() is None and len(q) == 2
    assert q.budget_exhausted()


@pytest.mark.parametrize("recent", [0, 50_000])
def test_scheduler_batches_links_and_acks_stored_pages(
    redis_url: str, redis_prefix: str, redis_client: Any, recent: int
) -> None:
    spider = make_spider(redis_url, redis_prefix, BACKLINKBOT_DUPEFILTER_RECENT_URLS=recent)
    crawler = spider.crawler
    with open_scheduler(spider) as scheduler:
        taken = [
            scheduler.enqueue_request(Request(f"http://h{i % 40 % 7}.com/{i % 40}"))
            for i in range(60)
        ]
        # Remembered, the 20 repeats are answered without Redis; else Redis
        # filters them in the same batch.
        assert taken == [True] * 40 + [not recent] * 20
        assert scheduler.has_pending_requests()
        request = scheduler.next_request()
        assert request is not None
        stats = crawler.stats
        assert stats.get_value("backlinkbot/frontier/push_batches") == 1
        assert stats.get_value("scheduler/enqueued/redis") == 40
        assert stats.get_value("dupefilter/filtered") == 20
        assert stats.get_value("backlinkbot/frontier/seen_recently", 0) == (20 if recent else 0)
        crawler.signals.send_catch_log(pages_stored, urls=[request.url])
        assert redis_client.zcard(f"{redis_prefix}:leased") == 0
        held = scheduler.next_request()
        assert redis_client.zcard(f"{redis_prefix}:leased") == 1
    # Closing gives the unfinished request back.
    assert redis_client.zcard(f"{redis_prefix}:leased") == 0
    assert int(redis_client.get(f"{redis_prefix}:queued")) == 39
    assert held is not None


async def pop_back(scheduler: FrontierScheduler) -> None:
    """Until the pop on its way (on the running event loop) is taken in."""
    while scheduler.inflight is not None:
        await asyncio.sleep(0.005)


def test_in_a_running_crawl_the_pop_does_not_wait_for_redis(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    spider = make_spider(redis_url, redis_prefix)
    scheduler = FrontierScheduler.from_crawler(spider.crawler)
    scheduler.open(spider)
    leased = f"{redis_prefix}:leased"

    async def crawl() -> None:
        for i in range(4):
            scheduler.enqueue_request(Request(f"http://h{i}.com/"))
        assert scheduler.push_pending()
        # The first pop (no pop yet, or the last found nothing) waits for
        # its answer (one free slot outside a crawl: one request).
        first = scheduler.next_request()
        assert first is not None and scheduler.inflight is None
        # The next starts on the event loop: the engine gets None meanwhile,
        # and the worker is not idle while it is on its way.
        assert scheduler.next_request() is None and scheduler.inflight is not None
        assert scheduler.has_pending_requests()
        assert scheduler.next_request() is None  # one pop at a time
        await pop_back(scheduler)
        second = scheduler.next_request()
        assert second is not None and second.url in scheduler.queue.leases.held
        assert redis_client.zcard(leased) == 2
        # A pop still on its way back when the worker closes: its request is
        # taken in and handed back with the rest.
        assert scheduler.next_request() is None and scheduler.inflight is not None
        closing = scheduler.close("shutdown")
        assert closing is not None
        await closing.asFuture(asyncio.get_running_loop())
        assert scheduler.inflight is None
        assert redis_client.zcard(leased) == 0
        assert int(redis_client.get(f"{redis_prefix}:queued")) == 4
        assert spider.crawler.stats.get_value("scheduler/dequeued/redis") == 3

    asyncio.run(crawl())


def test_pops_wait_for_their_answers_once_the_event_loop_client_fails(
    redis_url: str, redis_prefix: str, redis_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    spider = make_spider(redis_url, redis_prefix)
    scheduler = FrontierScheduler.from_crawler(spider.crawler)
    scheduler.open(spider)

    async def broken(ids: list[str]) -> Any:
        raise TypeError("an option the event loop's client does not take")

    scheduler.queue.take_async = broken  # type: ignore[method-assign]

    async def crawl() -> None:
        for i in range(3):
            scheduler.enqueue_request(Request(f"http://h{i}.com/"))
        assert scheduler.push_pending()
        assert scheduler.next_request() is not None  # the first waits anyway
        assert scheduler.next_request() is None and scheduler.inflight is not None
        await pop_back(scheduler)
        # Logged, not raised into the engine; the crawl goes on.
        assert not scheduler.pop_on_loop
        assert scheduler.next_request() is not None and scheduler.inflight is None
        closing = scheduler.close("shutdown")
        if closing is not None:
            await closing.asFuture(asyncio.get_running_loop())

    asyncio.run(crawl())
    assert any("pops wait for their answers" in r.getMessage() for r in caplog.records)
    assert redis_client.zcard(f"{redis_prefix}:leased") == 0


def test_recent_urls_are_bounded_and_answer_repeats() -> None:
    recent = RecentURLs(3)
    assert recent.split(["a", "b", "a"]) == (["a", "b"], ["a"])
    assert recent.split(["b", "c", "d"]) == (["c", "d"], ["b"])
    # Two generations of at most 3: "a" and "b" (the oldest) are forgotten.
    recent.split(["e", "f", "g"])
    assert len(recent) <= 6
    assert recent.split(["a", "g"]) == (["a"], ["g"])
    recent.clear()
    assert len(recent) == 0 and recent.split(["g"]) == (["g"], [])
    assert RecentURLs(0).split(["a", "a"]) == (["a", "a"], [])
    with pytest.raises(ValueError):
        RecentURLs(-1)


def test_links_seen_lately_skip_redis_until_redis_may_have_lost_writes(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    spider = make_spider(redis_url, redis_prefix)
    stats = spider.crawler.stats
    prototype = Request("http://a.com/", callback=spider.parse)
    with open_scheduler(spider) as scheduler:
        scheduler.enqueue_links(prototype, ["http://a.com/1", "http://a.com/2"])
        assert scheduler.push_pending()
        assert stats.get_value("backlinkbot/frontier/push_batches") == 1
        scheduler.enqueue_links(prototype, ["http://a.com/2", "http://a.com/1"])
        assert scheduler.push_pending() and not scheduler.pending
        # Answered here: no second trip, and counted as filtered.
        assert stats.get_value("backlinkbot/frontier/push_batches") == 1
        assert stats.get_value("dupefilter/filtered") == 2
        # Redis lost its last writes (a restart inside the fsync window) while
        # this worker could not reach it: once it answers again, what this
        # worker remembers is no proof any more, and links found again are
        # checked (and queued) again.
        redis_client.delete(*redis_client.keys(f"{redis_prefix}:*"))
        scheduler.df.prepare()
        scheduler.outage.failed("test", redis.ConnectionError("gone"))
        scheduler.outage.retry_now()
        scheduler.enqueue_links(prototype, ["http://a.com/3"])
        assert scheduler.push_pending()
        scheduler.enqueue_links(prototype, ["http://a.com/1"])
        assert scheduler.push_pending()
        assert stats.get_value("scheduler/enqueued/redis") == 4
        assert len(scheduler.queue) == 2


def test_a_retried_request_gives_up_its_old_lease(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    spider = make_spider(redis_url, redis_prefix)
    with open_scheduler(spider) as scheduler:
        scheduler.enqueue_request(Request("http://h.com/flaky"))
        held = scheduler.next_request()
        assert held is not None and redis_client.zcard(f"{redis_prefix}:leased") == 1
        # What RetryMiddleware does: a copy that bypasses the dupefilter.
        scheduler.enqueue_request(held.replace(dont_filter=True))
        scheduler.push_pending()
        # The copy is queued and the old lease is gone: nobody renews a
        # lease for work that is back in the queue.
        assert redis_client.zcard(f"{redis_prefix}:leased") == 0
        assert len(scheduler.queue) == 1
        retry = scheduler.next_request()
        assert retry is not None and retry.url == held.url
        assert redis_client.zcard(f"{redis_prefix}:leased") == 1


def test_requests_over_a_spent_page_budget_let_the_worker_go_idle(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    spider = make_spider(redis_url, redis_prefix, BACKLINKBOT_MAX_PAGES=2)
    with open_scheduler(spider) as scheduler:
        for i in range(5):
            scheduler.enqueue_request(Request(f"http://h{i}.com/"))
        scheduler.push_pending()
        assert scheduler.has_pending_requests()
        assert scheduler.next_request() is not None and scheduler.next_request() is not None
        assert scheduler.next_request() is None
        # Three requests wait, but the budget is spent: nothing is pending,
        # so the engine goes idle and the crawl can be found finished.
        assert len(scheduler.queue) == 3
        assert not scheduler.has_pending_requests()


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


@pytest.mark.parametrize(
    "pending",
    [
        lambda r, k: r.set(k.queued, 1),  # work is queued
        lambda r, k: r.zadd(k.leased, {"b|x|1": time.time() + 60}),  # leased, in progress
        lambda r, k: r.set(k.paused, 1),  # paused
        lambda r, k: r.rpush(k.start_urls, "http://a.com/"),  # seeds waiting
        lambda r, k: r.hset(k.busy, "b", time.time()),  # b holds a request
    ],
)
def test_crawl_is_not_finished_while_work_is_pending(
    cluster_pair: tuple[Cluster, Cluster, CrawlKeys], redis_client: Any, pending: Any
) -> None:
    a, _, keys = cluster_pair
    pending(redis_client, keys)
    assert not a.idle()


def test_crawl_is_finished_when_queue_empty_and_nobody_busy(
    cluster_pair: tuple[Cluster, Cluster, CrawlKeys], redis_client: Any
) -> None:
    a, b, keys = cluster_pair
    redis_client.hset(keys.busy, "b", time.time())
    assert not a.idle()
    assert b.idle()  # b finished it and nothing is left: done
    assert a.idle()


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
    redis_client.set(keys.queued, 1)
    assert not a.idle()
    redis_client.set(keys.dequeued, 1)
    assert a.idle()


def test_leases_are_unique_per_process(redis_client: Any, redis_prefix: str) -> None:
    keys = CrawlKeys(redis_prefix)
    ids = {Leases(redis_client, keys, "w", timeout=1).new_id() for _ in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize(
    ("seed", "url", "dont_filter"),
    [
        ("http://A.com/x#f", "http://a.com/x", False),
        ('{"url": "http://a.com/"}', "http://a.com/", False),
        ('{"url": "http://a.com/", "recrawl": true}', "http://a.com/", True),
        ('{"url": "http://a.com/", "recrawl": "yes"}', "http://a.com/", False),
    ],
)
def test_seeds_and_the_recrawl_flag(seed: str, url: str, dont_filter: bool) -> None:
    from backlinkbot.spiders.backlinks import SEED_PRIORITY, BacklinksSpider

    spider = BacklinksSpider.from_crawler(get_crawler(BacklinksSpider))
    request = spider.make_request_from_data(seed)
    assert request is not None
    assert (request.url, request.dont_filter, request.priority) == (url, dont_filter, SEED_PRIORITY)


def test_scheduler_counts_urls_over_the_host_budget_as_traps(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    spider = make_spider(redis_url, redis_prefix, BACKLINKBOT_MAX_HOST_PAGES=2)
    with open_scheduler(spider, "finished") as scheduler:
        prototype = Request("http://big.example/", callback=spider.parse)
        scheduler.enqueue_links(prototype, [f"http://big.example/{i}" for i in range(5)])
        assert scheduler.push_pending()
    stats = spider.crawler.stats
    assert stats.get_value("backlinkbot/traps/host_budget") == 3
    assert stats.get_value("scheduler/enqueued/redis") == 2
    assert redis_client.zcard(f"{redis_prefix}:requests:big.example") == 2


def test_scrapy_redis_flush_never_clears_the_shared_frontier(
    redis_url: str, redis_prefix: str
) -> None:
    spider = make_spider(redis_url, redis_prefix)
    with open_scheduler(spider) as scheduler:
        scheduler.enqueue_request(Request("http://a.com/"))
        assert scheduler.push_pending()
        # scrapy-redis's flush() wipes the queue and the filter; the frontier
        # is every worker's, so here it leaves both alone.
        scheduler.flush()
        assert len(scheduler.queue) == 1
        assert not scheduler.enqueue_request(Request("http://b.com/").replace(url="http://a.com/"))


def test_the_scheduler_is_built_from_plain_values(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    spider = make_spider(redis_url, redis_prefix)
    keys = CrawlKeys(redis_prefix)
    scheduler = FrontierScheduler(
        redis_client, URLDupeFilter(redis_client, keys.dupefilter, recent=10),
        queue_key=keys.requests, serializer=serializer, batch_size=2,
    )  # fmt: skip
    scheduler.open(spider)
    try:
        for i in range(3):
            scheduler.enqueue_request(Request(f"http://h{i}.com/"))
        assert len(scheduler.pending) == 1  # two pushed at the batch size
        assert scheduler.next_request() is not None
    finally:
        scheduler.close("finished")


def test_waking_the_engine_reaches_the_pinned_scrapys_slot() -> None:
    # The scheduler's one private access to Scrapy's engine: when an upgrade
    # changes it, this fails rather than pops waiting for the heartbeat.
    assert "nextcall" in inspect.signature(_Slot).parameters
    assert "self._slot" in inspect.getsource(ExecutionEngine.__init__)
    woken: list[int] = []
    engine = SimpleNamespace(
        _slot=SimpleNamespace(nextcall=SimpleNamespace(schedule=lambda: woken.append(1)))
    )
    wake_engine(engine)
    wake_engine(SimpleNamespace(_slot=None))  # before the spider opens
    assert woken == [1]

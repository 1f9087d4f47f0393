"""Following links (FollowLinksMiddleware): traps checked in one place, a
page's links handed over before the page goes on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler

from backlinkbot import defaults
from backlinkbot.frontier.scheduler import FrontierScheduler
from backlinkbot.items import Edge, PageItem
from backlinkbot.signals import pages_stored
from backlinkbot.spidermiddlewares.follow import FollowLinksMiddleware, targets
from backlinkbot.spiders.backlinks import BacklinksSpider
from backlinkbot.traps import HOPS_KEY

from .test_frontier import make_spider, open_scheduler

URL = "http://a.example/page"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Batches:
    """A scheduler that takes batches, and records them."""

    def __init__(self) -> None:
        self.batches: list[tuple[Request, list[str]]] = []

    def enqueue_links(self, prototype: Request, urls: list[str]) -> None:
        self.batches.append((prototype, urls))


def middleware(scheduler: Any = None, **settings: Any) -> FollowLinksMiddleware:
    base = {name: getattr(defaults, name) for name in defaults.__all__}
    crawler = get_crawler(BacklinksSpider, {**base, **settings})
    if scheduler is not None:
        crawler.engine = SimpleNamespace(scheduler=scheduler)  # type: ignore[assignment]
    return FollowLinksMiddleware.from_crawler(crawler)


def edge(dst: str, kind: str = "a") -> Edge:
    return Edge(URL, dst, "a.example", "b.example", "a.example", "b.example", kind=kind)


def page(*dsts: str) -> PageItem:
    return PageItem(URL, 200, NOW, edges=[edge(d) for d in dsts])


def parse(*_: Any) -> None: ...


def errback(*_: Any) -> None: ...


def response(status: int = 200, meta: dict[str, Any] | None = None) -> Response:
    request = Request(URL, callback=parse, errback=errback, meta={"depth": 2, **(meta or {})})
    return HtmlResponse(URL, status=status, request=request)


def test_targets_are_distinct_and_leave_out_the_page_itself() -> None:
    item = page("http://b.example/1", URL, "http://b.example/2", "http://b.example/1")
    assert targets(item) == ["http://b.example/1", "http://b.example/2"]


def test_a_pages_links_go_to_the_scheduler_in_one_batch_before_the_page() -> None:
    scheduler = Batches()
    mw = middleware(scheduler)
    item = page("http://b.example/1", "http://b.example/2", "http://b.example/1")
    out = mw.process_spider_output(response(), [item])
    assert next(out) is item
    # Handed over by the time the page goes on to the pipelines.
    ((prototype, urls),) = scheduler.batches
    assert urls == ["http://b.example/1", "http://b.example/2"]
    assert (prototype.url, prototype.priority, prototype.meta) == (urls[0], -3, {"depth": 3})
    assert (prototype.callback, prototype.errback) == (parse, errback)
    assert list(out) == []


def test_without_a_batching_scheduler_the_links_are_requests_before_the_page() -> None:
    mw = middleware()  # no engine: plain requests, through the engine's own path
    item = page("http://b.example/1", "http://b.example/2")
    out = list(mw.process_spider_output(response(), [item]))
    assert out[-1] is item
    assert [(r.url, r.priority, r.meta["depth"], r.callback) for r in out[:-1]] == [
        ("http://b.example/1", -3, 3, parse), ("http://b.example/2", -3, 3, parse)
    ]  # fmt: skip


def test_links_of_a_redirect_carry_the_hops_and_chains_are_bounded() -> None:
    scheduler = Batches()
    mw = middleware(scheduler, BACKLINKBOT_MAX_REDIRECTS=3)
    list(mw.process_spider_output(response(301, {HOPS_KEY: 1}), [page("http://b.example/")]))
    ((prototype, _),) = scheduler.batches
    assert prototype.meta[HOPS_KEY] == 2
    list(mw.process_spider_output(response(301, {HOPS_KEY: 3}), [page("http://c.example/")]))
    assert len(scheduler.batches) == 1
    assert mw.guard.stats.get_value("backlinkbot/traps/redirect_chain") == 1


def test_traps_are_checked_for_batches_and_for_requests_alike() -> None:
    scheduler = Batches()
    mw = middleware(scheduler, BACKLINKBOT_MAX_URL_LENGTH=30)
    long = "http://b.example/" + "x" * 20
    item = page("http://b.example/ok", long)
    out = list(
        mw.process_spider_output(response(), [Request(long), item, Request("http://b.example/r")])
    )
    assert out[0] is item and [r.url for r in out[1:]] == ["http://b.example/r"]
    assert scheduler.batches[0][1] == ["http://b.example/ok"]
    assert mw.guard.stats.get_value("backlinkbot/traps/url_too_long") == 2


def test_requests_a_callback_yields_get_the_hops_of_a_redirect() -> None:
    mw = middleware()
    (out,) = mw.process_spider_output(response(302, {HOPS_KEY: 2}), [Request("http://b.example/")])
    assert out.meta[HOPS_KEY] == 3
    (out,) = mw.process_spider_output(response(200, {HOPS_KEY: 2}), [Request("http://b.example/")])
    assert HOPS_KEY not in out.meta  # a new chain starts


def test_with_following_off_pages_lead_nowhere() -> None:
    scheduler = Batches()
    mw = middleware(scheduler, BACKLINKBOT_FOLLOW_LINKS=False)
    item = page("http://b.example/1")
    assert list(mw.process_spider_output(response(), [item])) == [item]
    assert scheduler.batches == []


def test_async_spider_output_is_followed_the_same_way() -> None:
    scheduler = Batches()
    mw = middleware(scheduler)
    item = page("http://b.example/1")

    async def output() -> AsyncIterator[Any]:
        yield item

    async def collect() -> list[Any]:
        return [o async for o in mw.process_spider_output_async(response(), output())]

    assert asyncio.run(collect()) == [item]
    assert scheduler.batches[0][1] == ["http://b.example/1"]


@pytest.fixture
def frontier(redis_url: str, redis_prefix: str) -> Iterator[FrontierScheduler]:
    spider = make_spider(redis_url, redis_prefix)
    with open_scheduler(spider) as scheduler:
        spider.crawler.engine = SimpleNamespace(scheduler=scheduler)  # type: ignore[assignment]
        yield scheduler


def test_a_pages_links_are_queued_before_its_lease_is_acknowledged(
    frontier: FrontierScheduler, redis_client: Any, redis_prefix: str
) -> None:
    crawler = frontier.crawler
    assert crawler is not None
    frontier.enqueue_request(Request(URL))
    leased = frontier.next_request()
    assert leased is not None and redis_client.zcard(f"{redis_prefix}:leased") == 1
    mw = FollowLinksMiddleware.from_crawler(crawler)
    links = ["http://b.example/1", "http://c.example/1"]
    (item,) = mw.process_spider_output(HtmlResponse(URL, request=leased), [page(*links)])
    # Buffered when the page goes to the pipelines ...
    assert [e.url for e in frontier.pending] == links
    assert int(redis_client.get(f"{redis_prefix}:queued") or 0) == 0
    # ... and in Redis by the time its lease goes.
    crawler.signals.send_catch_log(pages_stored, urls=[item.url])
    assert int(redis_client.get(f"{redis_prefix}:queued")) == 2
    assert redis_client.zcard(f"{redis_prefix}:leased") == 0

"""Per-IP spacing of robots.txt and first contacts, before anything is sent."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from backlinkbot.connection import CrawlKeys
from backlinkbot.downloadermiddlewares.addressspacing import AddressSpacing
from backlinkbot.downloadermiddlewares.robotstxt import ROBOTS_REQUEST, ROBOTS_WAITED
from backlinkbot.embedded.servers import free_port
from backlinkbot.frontier.spacing import IP_SPACED

DELAY = 0.4
ADDRESSES = {"a.example": "192.0.2.1", "b.example": "192.0.2.1", "c.example": "192.0.2.2"}


def _middleware(redis_url: str, prefix: str, delay: float = DELAY) -> AddressSpacing:
    crawler = get_crawler(settings_dict={
        "REDIS_URL": redis_url, "BACKLINKBOT_REDIS_PREFIX": prefix, "BACKLINKBOT_IP_DELAY": delay,
    })  # fmt: skip
    middleware = AddressSpacing.from_crawler(crawler)
    middleware.asked: list[str] = []  # type: ignore[attr-defined]

    async def resolve(host: str) -> str:
        middleware.asked.append(host)  # type: ignore[attr-defined]
        if host not in ADDRESSES:
            raise OSError(f"no address for {host}")
        return ADDRESSES[host]

    middleware.resolve = resolve
    return middleware


def _sent_at(workers: list[AddressSpacing], requests: list[tuple[int, Request]]) -> list[float]:
    """When each request left the middleware, seconds after the first call."""

    async def run() -> list[float]:
        start = time.monotonic()

        async def one(worker: int, request: Request) -> float:
            await workers[worker].process_request(request)
            return time.monotonic() - start

        return list(await asyncio.gather(*(one(w, r) for w, r in requests)))

    return asyncio.run(run())


def test_off_without_an_address_delay(redis_url: str, redis_prefix: str) -> None:
    with pytest.raises(NotConfigured):
        _middleware(redis_url, redis_prefix, delay=0)


def test_hosts_sharing_an_address_take_turns_across_workers(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    workers = [_middleware(redis_url, redis_prefix), _middleware(redis_url, redis_prefix)]
    a = Request("http://a.example/robots.txt", meta={ROBOTS_REQUEST: True})
    b, c = Request("http://b.example/"), Request("http://c.example/")
    a_at, b_at, c_at = _sent_at(workers, [(0, a), (1, b), (1, c)])
    # a and b share 192.0.2.1: one of them waits the delay; c has its own.
    assert sorted([a_at, b_at])[0] < 0.1
    assert sorted([a_at, b_at])[1] >= DELAY - 0.05
    assert c_at < 0.1
    keys = CrawlKeys(redis_prefix)
    assert redis_client.hgetall(keys.host_ip) == {
        b"a.example": b"192.0.2.1", b"b.example": b"192.0.2.1", b"c.example": b"192.0.2.2",
    }  # fmt: skip
    # The address's next free time, on the frontier's clock (Redis TIME).
    seconds, micros = redis_client.time()
    free = float(redis_client.hget(keys.ip_ready, "192.0.2.1"))
    assert 0 < free - (seconds + micros / 1e6) <= DELAY
    waits = [w.spacing.stats.get_value("backlinkbot/frontier/address_waits", 0) for w in workers]
    assert sum(waits) == 1


def test_requests_the_frontier_spaced_pass_but_robots_txt_does_not(
    redis_url: str, redis_prefix: str
) -> None:
    worker = _middleware(redis_url, redis_prefix)
    first, spaced, robots = (
        Request("http://a.example/"),
        Request("http://b.example/next", meta={IP_SPACED: True}),
        Request("http://b.example/robots.txt", meta={ROBOTS_REQUEST: True, IP_SPACED: True}),
    )
    first_at, spaced_at = _sent_at([worker], [(0, first), (0, spaced)])
    # The first contact took the address; the request the frontier's pop
    # spaced by its address goes as it is, and is not even resolved.
    assert first_at < 0.1 and spaced_at < 0.1
    assert worker.asked == ["a.example"]  # type: ignore[attr-defined]
    (robots_at,) = _sent_at([worker], [(0, robots)])
    assert robots_at >= DELAY - 0.15  # b shares a's address, just taken


def test_a_spaced_request_that_waited_for_robots_txt_takes_a_slot_of_its_own(
    redis_url: str, redis_prefix: str
) -> None:
    """The frontier spaced it, then its host's robots.txt was fetched (and
    took the address): it must not follow that fetch at once."""
    worker = _middleware(redis_url, redis_prefix)
    robots = Request("http://a.example/robots.txt", meta={ROBOTS_REQUEST: True})
    waited = Request("http://a.example/", meta={IP_SPACED: True, ROBOTS_WAITED: True})
    (robots_at,) = _sent_at([worker], [(0, robots)])
    (waited_at,) = _sent_at([worker], [(0, waited)])
    assert robots_at < 0.1
    assert waited_at >= DELAY - 0.15


def test_proxied_unresolvable_and_literal_hosts(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    worker = _middleware(redis_url, redis_prefix)
    requests = [
        Request("http://a.example/", meta={"proxy": "http://proxy.internal:3128"}),
        Request("http://nowhere.example/"),
        Request("http://198.51.100.7/"),
        Request("http://198.51.100.7/again", meta={ROBOTS_REQUEST: True}),
    ]
    proxied_at, unresolved_at, literal_at, again_at = _sent_at([worker], [(0, r) for r in requests])
    assert proxied_at < 0.1 and unresolved_at < 0.1 and literal_at < 0.1
    assert again_at >= DELAY - 0.05  # an address literal is its own address
    # The proxy resolves names: nothing is asked or recorded for that request.
    assert worker.asked == ["nowhere.example"]  # type: ignore[attr-defined]
    assert redis_client.hgetall(CrawlKeys(redis_prefix).host_ip) == {
        b"198.51.100.7": b"198.51.100.7"
    }


def test_redis_away_lets_requests_pass_and_counts(redis_prefix: str) -> None:
    worker = _middleware(f"redis://127.0.0.1:{free_port()}/0", redis_prefix)
    (at,) = _sent_at([worker], [(0, Request("http://a.example/"))])
    assert at < 1.0
    assert worker.spacing.stats.get_value("backlinkbot/frontier/redis_errors") == 1
    assert worker.spacing.outage.waiting()

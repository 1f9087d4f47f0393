"""Host addresses for per-IP spacing: learned from direct answers only."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
import redis
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from backlinkbot.connection import CrawlKeys, fail_fast
from backlinkbot.embedded.servers import free_port
from backlinkbot.extensions.hostaddresses import HostAddresses


def _answer(url: str, ip: str | None, **meta: Any) -> dict[str, Any]:
    request = Request(url, meta=meta)
    address = ipaddress.ip_address(ip) if ip else None
    return {"response": Response(url, ip_address=address, request=request), "request": request}


def _crawler(redis_url: str, prefix: str, delay: float = 0.5) -> Crawler:
    return get_crawler(settings_dict={
        "REDIS_URL": redis_url, "BACKLINKBOT_REDIS_PREFIX": prefix,
        "BACKLINKBOT_IP_DELAY": delay,
    })  # fmt: skip


def _extension(redis_url: str, prefix: str, delay: float = 0.5) -> HostAddresses:
    return HostAddresses.from_crawler(_crawler(redis_url, prefix, delay))


def test_off_without_an_address_delay(redis_url: str, redis_prefix: str) -> None:
    with pytest.raises(NotConfigured):
        _extension(redis_url, redis_prefix, delay=0)


def test_every_answer_reaches_the_extension(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    crawler = _crawler(redis_url, redis_prefix)
    ext = HostAddresses.from_crawler(crawler)  # signals hold weak references: keep it
    answer = _answer("http://a.example/", "192.0.2.1")
    crawler.signals.send_catch_log(signals.response_received, spider=None, **answer)
    assert redis_client.hget(CrawlKeys(redis_prefix).host_ip, "a.example") == b"192.0.2.1"
    assert ext.spacing.stats.get_value("backlinkbot/frontier/host_addresses") == 1


def test_direct_answers_give_each_host_its_address(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    ext = _extension(redis_url, redis_prefix)
    key = CrawlKeys(redis_prefix).host_ip
    ext.response_received(**_answer("http://a.example/robots.txt", "192.0.2.1"))
    ext.response_received(**_answer("http://a.example/page", "192.0.2.1"))
    ext.response_received(**_answer("http://b.example/", "2001:db8::1"))
    # Through a proxy the address is the proxy's; no address, nothing to say.
    ext.response_received(**_answer("http://c.example/", "127.0.0.1", proxy="http://p:3128"))
    ext.response_received(**_answer("http://d.example/", None))
    assert redis_client.hgetall(key) == {b"a.example": b"192.0.2.1", b"b.example": b"2001:db8::1"}
    assert ext.spacing.stats.get_value("backlinkbot/frontier/host_addresses") == 2  # once per host
    # The host moved: its new address replaces the old one.
    ext.response_received(**_answer("http://a.example/next", "192.0.2.9"))
    assert redis_client.hget(key, "a.example") == b"192.0.2.9"


def test_redis_away_is_counted_and_the_address_sent_with_a_later_answer(
    redis_url: str, redis_prefix: str, redis_client: Any
) -> None:
    ext = _extension(redis_url, redis_prefix)
    spacing = ext.spacing
    working = spacing.server
    spacing.server = fail_fast(redis.Redis(port=free_port(), socket_connect_timeout=0.5))
    ext.response_received(**_answer("http://a.example/", "192.0.2.1"))
    assert spacing.stats.get_value("backlinkbot/frontier/redis_errors") == 1
    spacing.server = working
    spacing.outage.retry_now()
    ext.response_received(**_answer("http://a.example/2", "192.0.2.1"))
    assert redis_client.hget(CrawlKeys(redis_prefix).host_ip, "a.example") == b"192.0.2.1"

"""robots.txt status rules (RFC 9309), the cluster-wide Redis cache and the
shared Crawl-delay."""

from __future__ import annotations

import asyncio

import pytest
import redis
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler
from twisted.internet.error import TimeoutError as TCPTimeoutError

from backlinkbot import defaults
from backlinkbot.downloadermiddlewares.robotstxt import RobotsTxtMiddleware

ROBOTS = b"User-agent: backlinkbot\nDisallow: /private/\nCrawl-delay: 2.5\n"


class _Engine:
    def __init__(self, status: int | None, body: bytes = ROBOTS) -> None:
        self.status, self.body, self.fetched = status, body, 0

    async def download_async(self, request: Request) -> TextResponse:
        self.fetched += 1
        if self.status is None:
            raise TCPTimeoutError()
        return TextResponse(request.url, status=self.status, body=self.body)


def _worker(engine: _Engine, redis_url: str, prefix: str) -> RobotsTxtMiddleware:
    settings = {name: getattr(defaults, name) for name in defaults.__all__}
    settings.update(ROBOTSTXT_OBEY=True, ROBOTSTXT_USER_AGENT="backlinkbot",
                    REDIS_URL=redis_url, BACKLINKBOT_REDIS_PREFIX=prefix)  # fmt: skip
    crawler = get_crawler(settings_dict=settings)
    crawler.engine = engine  # type: ignore[assignment]
    mw = RobotsTxtMiddleware.from_crawler(crawler)
    mw._open()
    return mw


def _check(mw: RobotsTxtMiddleware, url: str) -> str:
    async def run() -> str:
        try:
            await mw.process_request(Request(url))
        except IgnoreRequest:
            return "forbidden"
        return "allowed"

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("status", "public", "private", "ttl"),
    [
        (200, "allowed", "forbidden", defaults.BACKLINKBOT_ROBOTS_CACHE_SECONDS),
        (404, "allowed", "allowed", defaults.BACKLINKBOT_ROBOTS_CACHE_SECONDS),
        (403, "allowed", "allowed", defaults.BACKLINKBOT_ROBOTS_CACHE_SECONDS),
        (503, "forbidden", "forbidden", defaults.BACKLINKBOT_ROBOTS_RETRY_SECONDS),
        (None, "forbidden", "forbidden", defaults.BACKLINKBOT_ROBOTS_RETRY_SECONDS),  # timeout
    ],
)
def test_status_rules_and_shared_cache(
    status: int | None, public: str, private: str, ttl: int,
    redis_url: str, redis_prefix: str, redis_client: redis.Redis,
) -> None:  # fmt: skip
    engine = _Engine(status)
    first = _worker(engine, redis_url, redis_prefix)
    assert (_check(first, "http://a.example/"), _check(first, "http://a.example/private/x")) == (
        public,
        private,
    )
    assert engine.fetched == 1
    key = f"{redis_prefix}:robots:http://a.example"
    assert ttl - 5 <= redis_client.ttl(key) <= ttl
    # Another worker uses the cached outcome without fetching.
    other_engine = _Engine(500)
    second = _worker(other_engine, redis_url, redis_prefix)
    assert (_check(second, "http://a.example/"), _check(second, "http://a.example/private/x")) == (
        public,
        private,
    )
    assert other_engine.fetched == 0
    assert second._stats.get_value("backlinkbot/robots/cache_hit") == 1


def test_crawl_delay_is_shared(
    redis_url: str, redis_prefix: str, redis_client: redis.Redis
) -> None:
    mw = _worker(_Engine(200), redis_url, redis_prefix)
    _check(mw, "http://b.example:8080/")
    assert float(redis_client.hget(f"{redis_prefix}:crawl_delay", "b.example")) == 2.5


def test_unreachable_robots_is_fetched_again_after_the_retry_delay(
    redis_url: str, redis_prefix: str, redis_client: redis.Redis
) -> None:
    engine = _Engine(503)
    mw = _worker(engine, redis_url, redis_prefix)
    assert _check(mw, "http://c.example/") == "forbidden"
    # The retry delay passes: the Redis entry and the local parser expire.
    redis_client.delete(f"{redis_prefix}:robots:http://c.example")
    mw._expires["http://c.example"] = 0.0
    engine.status = 200
    assert _check(mw, "http://c.example/") == "allowed"
    assert engine.fetched == 2


def test_works_without_redis() -> None:
    mw = _worker(_Engine(200), "", "none")
    assert _check(mw, "http://d.example/private/") == "forbidden"


class _ByScheme(_Engine):
    async def download_async(self, request: Request) -> TextResponse:
        self.fetched += 1
        status = 200 if request.url.startswith("http://") else 404
        return TextResponse(request.url, status=status, body=ROBOTS)


def test_rules_belong_to_one_scheme_host_and_port(
    redis_url: str, redis_prefix: str, redis_client: redis.Redis
) -> None:
    mw = _worker(_ByScheme(None), redis_url, redis_prefix)
    assert _check(mw, "https://e.example/private/x") == "allowed"  # https: 404
    assert _check(mw, "http://e.example/private/x") == "forbidden"
    assert _check(mw, "http://e.example:8080/private/x") == "forbidden"
    assert mw.crawler.engine.fetched == 3  # type: ignore[union-attr]


LONG_CHAIN = {f"http://r.example/{i}": f"/{i + 1}" for i in range(6)}
LONG_CHAIN["http://r.example/robots.txt"] = "/0"


class _Routes(_Engine):
    """robots.txt URLs that redirect: ``routes`` maps a URL to a Location."""

    def __init__(self, routes: dict[str, str]) -> None:
        super().__init__(200)
        self.routes = routes

    async def download_async(self, request: Request) -> TextResponse:
        self.fetched += 1
        if request.url in self.routes:
            headers = {"Location": self.routes[request.url]}
            return TextResponse(request.url, status=301, headers=headers)
        return TextResponse(request.url, status=200, body=ROBOTS)


@pytest.mark.parametrize(
    ("routes", "private", "fetched"),
    [
        ({"http://r.example/robots.txt": "https://r.example/robots.txt"}, "forbidden", 2),
        ({"http://r.example/robots.txt": "/other/robots.txt"}, "forbidden", 2),
        (LONG_CHAIN, "allowed", 6),  # more than five hops: allow all
        ({"http://r.example/robots.txt": "ftp://r.example/robots.txt"}, "allowed", 1),
    ],
)  # fmt: skip
def test_robots_redirects_are_followed_five_hops(
    routes: dict[str, str], private: str, fetched: int, redis_url: str, redis_prefix: str,
    redis_client: redis.Redis,
) -> None:  # fmt: skip
    engine = _Routes(routes)
    mw = _worker(engine, redis_url, redis_prefix)
    assert _check(mw, "http://r.example/private/x") == private
    assert engine.fetched == fetched

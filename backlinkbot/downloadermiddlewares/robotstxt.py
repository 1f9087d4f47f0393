"""robots.txt for every request: cached cluster-wide, RFC 9309 status rules.

Extends Scrapy 2.19's ``RobotsTxtMiddleware`` (protego parser): every request
that waited for a host's robots.txt is checked (under asyncio Scrapy checks
only the first waiter); status codes follow RFC 9309 section 2.3.1 (4xx
allows all, 5xx and timeouts disallow all for a while); the outcome of each
origin is cached in Redis for the whole cluster, and a ``Crawl-delay`` goes
to ``<prefix>:crawl_delay`` for the frontier's spacing (docs/SAFETY.md).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import redis
from scrapy import Request, signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as _ScrapyRobotsTxt
from scrapy.exceptions import IgnoreRequest
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet import defer
from twisted.internet import error as net_error
from twisted.internet.defer import Deferred

from backlinkbot.connection import CrawlKeys, redis_client

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.robotstxt import RobotParser

__all__ = [
    "DISALLOW_ALL",
    "MAX_REDIRECTS",
    "ROBOTS_REQUEST",
    "ROBOTS_WAITED",
    "RobotsTxtMiddleware",
]

logger = logging.getLogger(__name__)

DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"
#: Redirect hops followed for one robots.txt (RFC 9309 section 2.3.1.2).
MAX_REDIRECTS = 5
#: ``Request.meta`` key set on this middleware's own robots.txt requests.
ROBOTS_REQUEST = "backlinkbot_robots"
#: ``Request.meta`` key set on a request that waited for its host's
#: robots.txt to be loaded (perhaps fetched: a request to the same address,
#: which per-IP spacing must count).
ROBOTS_WAITED = "backlinkbot_robots_waited"
_TIMEOUTS = (net_error.TimeoutError, defer.TimeoutError, TimeoutError)


class RobotsTxtMiddleware(_ScrapyRobotsTxt):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.cache_seconds = settings.getint("BACKLINKBOT_ROBOTS_CACHE_SECONDS")
        self.retry_seconds = settings.getint("BACKLINKBOT_ROBOTS_RETRY_SECONDS")
        self.keys = CrawlKeys.from_settings(settings)
        self.server: redis.Redis | None = None
        self._expires: dict[str, float] = {}
        crawler.signals.connect(self._open, signal=signals.spider_opened)
        crawler.signals.connect(self._close, signal=signals.spider_closed)

    def _open(self) -> None:
        url = self.crawler.settings.get("REDIS_URL")
        if url:
            self.server = redis_client(self.crawler.settings)

    def _close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def robot_parser(self, request: Request) -> RobotParser | None:
        url = urlparse_cached(request)
        # RFC 9309 section 2.3: the rules of one scheme, host and port.
        origin = f"{url.scheme}://{url.netloc}"
        expired = origin in self._expires and self._expires[origin] <= time.monotonic()
        if expired and not isinstance(self._parsers.get(origin), Deferred):
            self._parsers.pop(origin, None)
            del self._expires[origin]
        if origin not in self._parsers or isinstance(self._parsers[origin], Deferred):
            request.meta[ROBOTS_WAITED] = True
        if origin not in self._parsers:
            waiter: Deferred[RobotParser | None] = Deferred()
            self._parsers[origin] = waiter
            parser: RobotParser | None = None
            try:
                parser = await self._load(origin, url.hostname or "")
            except Exception:
                # Never leave the waiting requests hanging: allow, retry soon.
                logger.exception("robots.txt of %s could not be loaded", origin)
                self._expires[origin] = time.monotonic() + self.retry_seconds
            self._parsers[origin] = parser
            waiter.callback(parser)
        cached = self._parsers[origin]
        if isinstance(cached, Deferred):
            await maybe_deferred_to_future(cached)
            cached = self._parsers.get(origin)
        return None if isinstance(cached, Deferred) else cached

    async def _load(self, origin: str, host: str) -> RobotParser | None:
        """The parser of ``origin``'s robots.txt: from Redis, else fetched
        and shared with the cluster."""
        key = f"{self.keys.prefix}:robots:{origin}"
        stored = self._redis(lambda s: s.get(key))
        if isinstance(stored, bytes):
            ttl = self._redis(lambda s: s.ttl(key))
            self._expires[origin] = time.monotonic() + max(int(str(ttl or 0)), 1)
            self._stats.inc_value("backlinkbot/robots/cache_hit")
            return self._parser(stored)
        body, seconds = await self._fetch(f"{origin}/robots.txt")
        self._stats.inc_value("robotstxt/request_count")
        self._expires[origin] = time.monotonic() + seconds
        parser = self._parser(body)
        delay = getattr(getattr(parser, "rp", None), "crawl_delay", None)
        crawl_delay = delay(self._robotstxt_useragent or "*") if delay else None

        def share(server: redis.Redis) -> None:
            pipe = server.pipeline(transaction=False)
            pipe.set(key, body, ex=max(seconds, 1))
            if crawl_delay:
                pipe.hset(self.keys.crawl_delay, host, float(crawl_delay))
            pipe.execute()

        self._redis(share)
        return parser

    async def _fetch(self, robots_url: str) -> tuple[bytes, int]:
        """The robots.txt rules to apply and for how many seconds.

        Redirects are followed up to ``MAX_REDIRECTS`` hops (RFC 9309
        section 2.3.1.2), each hop through the downloader middlewares, so the
        SSRF guard checks every target; a longer chain means "allow all".
        """
        url = robots_url
        for _ in range(MAX_REDIRECTS + 1):
            request = Request(
                url,
                priority=self.DOWNLOAD_PRIORITY,
                meta={"dont_obey_robotstxt": True, ROBOTS_REQUEST: True},
                callback=NO_CALLBACK,
            )
            try:
                response = await self.crawler.engine.download_async(request)
            except IgnoreRequest:
                return b"", self.cache_seconds  # refused by policy: so is the page
            except _TIMEOUTS:
                self._stats.inc_value("backlinkbot/robots/unreachable")
                return DISALLOW_ALL, self.retry_seconds
            except Exception as exc:
                self._stats.inc_value(f"robotstxt/exception_count/{type(exc).__name__}")
                return b"", self.cache_seconds
            status = response.status
            self._stats.inc_value("robotstxt/response_count")
            self._stats.inc_value(f"robotstxt/response_status_count/{status}")
            location = response.headers.get(b"Location")
            if 300 <= status < 400 and location:
                url = urljoin(url, location.decode("latin-1").strip())
                if urlsplit(url).scheme not in ("http", "https"):
                    break
                continue
            if status >= 500:
                self._stats.inc_value("backlinkbot/robots/unreachable")
                return DISALLOW_ALL, self.retry_seconds
            if 200 <= status < 300:
                return response.body, self.cache_seconds
            return b"", self.cache_seconds
        self._stats.inc_value("backlinkbot/robots/too_many_redirects")
        return b"", self.cache_seconds

    def _parser(self, body: bytes) -> RobotParser:
        return build_from_crawler(self._parserimpl, self.crawler, body)

    def _redis(self, action: object) -> object:
        if self.server is None:
            return None
        try:
            return action(self.server)  # type: ignore[operator]
        except redis.RedisError as exc:
            self._stats.inc_value("backlinkbot/robots/redis_error")
            logger.warning("robots.txt cache unavailable: %s", exc)
            return None

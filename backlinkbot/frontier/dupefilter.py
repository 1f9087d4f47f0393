"""Seen-URL filter (``DUPEFILTER_CLASS``): each normalized URL is fetched once.

The spider only schedules normalized URLs, so the URL itself is the identity
of a request; a 64-bit slice of its SHA-1 is the fingerprint kept in a Redis
set shared by every worker.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from scrapy_redis.connection import get_redis_from_settings
from scrapy_redis.dupefilter import RFPDupeFilter

from .keys import CrawlKeys

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler

__all__ = ["URLDupeFilter", "url_fingerprint"]


def url_fingerprint(url: str) -> bytes:
    return hashlib.sha1(url.encode("utf-8")).digest()[:8]


class URLDupeFilter(RFPDupeFilter):  # type: ignore[misc]
    """A shared set of URL fingerprints in Redis."""

    def __init__(self, server: Any, key: str, debug: bool = False, stats: Any = None) -> None:
        super().__init__(server, key, debug)
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> URLDupeFilter:
        settings = crawler.settings
        return cls(
            get_redis_from_settings(settings),
            CrawlKeys(settings.get("BACKLINKBOT_REDIS_PREFIX")).dupefilter,
            debug=settings.getbool("DUPEFILTER_DEBUG"),
            stats=crawler.stats,
        )

    @classmethod
    def from_spider(cls, spider: Spider) -> URLDupeFilter:
        # scrapy-redis's Scheduler builds its dupefilter through this hook.
        return cls.from_crawler(spider.crawler)

    def request_fingerprint(self, request: Request) -> bytes:
        return url_fingerprint(request.url)

    def request_seen(self, request: Request) -> bool:
        added = self.server.sadd(self.key, self.request_fingerprint(request))
        return added == 0

    def log(self, request: Request, spider: Spider) -> None:
        if self.stats is not None:
            self.stats.inc_value("dupefilter/filtered")
        super().log(request, spider)

    def close(self, reason: str = "") -> None:
        # The set is shared by every worker of the crawl: never clear it here.
        return None

"""Seen-URL filter (``DUPEFILTER_CLASS``): each normalized URL is fetched once.

The URL itself is a request's identity. Seen URLs are kept in a Bloom filter
on Redis bitmaps shared by every worker (:mod:`.bloom`), checked in batches
as the scheduler queues them (:meth:`FrontierQueue.push_many`), with a memory
of the URLs this worker handed over lately (:mod:`.recent`) in front of it.
Sizes and rates: docs/FRONTIER.md, "Seen URLs".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy_redis.dupefilter import RFPDupeFilter

from backlinkbot.connection import CrawlKeys, redis_client

from .bloom import BloomGeometry
from .recent import RecentURLs

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler

__all__ = ["URLDupeFilter"]

# KEYS: bitmap. ARGV: bit offsets. Sets them; 1 if any was clear (a new URL).
_SEEN = """
local new = 0
for i = 1, #ARGV do
  if redis.call('SETBIT', KEYS[1], ARGV[i], 1) == 0 then new = 1 end
end
return new
"""


class URLDupeFilter(RFPDupeFilter):  # type: ignore[misc]
    """A Bloom filter of URLs in Redis bitmaps."""

    def __init__(self, server: Any, key: str, debug: bool = False, stats: Any = None, *,
                 geometry: BloomGeometry | None = None, recent: int = 0) -> None:  # fmt: skip
        super().__init__(server, key, debug)
        self.logdupes: bool = True
        self.stats = stats
        self.geometry = geometry or BloomGeometry.for_capacity(10_000_000, 0.001)
        #: URLs this worker handed to the filter lately (see :mod:`.recent`).
        self.recent = RecentURLs(recent)
        self._seen = server.register_script(_SEEN)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> URLDupeFilter:
        settings = crawler.settings
        return cls(
            redis_client(settings),
            CrawlKeys.from_settings(settings).dupefilter,
            debug=settings.getbool("DUPEFILTER_DEBUG"),
            stats=crawler.stats,
            geometry=BloomGeometry.for_capacity(
                settings.getint("BACKLINKBOT_DUPEFILTER_CAPACITY"),
                settings.getfloat("BACKLINKBOT_DUPEFILTER_ERROR_RATE"),
            ),
            recent=settings.getint("BACKLINKBOT_DUPEFILTER_RECENT_URLS"),
        )

    @classmethod
    def from_spider(cls, spider: Spider) -> URLDupeFilter:
        # scrapy-redis's Scheduler builds its dupefilter through this hook.
        return cls.from_crawler(spider.crawler)

    def prepare(self) -> None:
        """Allocate the bitmaps at their full size once, exactly: grown bit by
        bit, Redis would over-allocate them by up to 1 MB or 2x each."""
        size = self.geometry.bytes // self.geometry.shards
        for shard in range(self.geometry.shards):
            key = f"{self.key}:{shard}" if shard else self.key
            if not self.server.exists(key):
                self.server.set(key, bytes(size), nx=True)

    def bits(self, url: str) -> tuple[str, list[int]]:
        """The bitmap key and bit offsets of ``url``."""
        shard, offsets = self.geometry.locate(url)
        return (f"{self.key}:{shard}" if shard else self.key), offsets

    def request_fingerprint(self, request: Request) -> str:
        return request.url

    def request_seen(self, request: Request) -> bool:
        key, offsets = self.bits(request.url)
        return not self._seen(keys=[key], args=offsets)

    def unseen(self, urls: list[str]) -> list[str]:
        """``urls`` less the ones this worker handed to the filter lately:
        those are known to be seen, and counted as filtered here. The others
        are checked in Redis as they are queued."""
        fresh, known = self.recent.split(urls)
        if known:
            self.filtered(*known)
            if self.stats is not None:
                self.stats.inc_value("backlinkbot/frontier/seen_recently", len(known))
        return fresh

    def log(self, request: Request, spider: Spider) -> None:
        self.filtered(request.url)

    def filtered(self, *urls: str) -> None:
        """Count (and log, as scrapy-redis does) URLs seen before."""
        if not urls:
            return
        if self.stats is not None:
            self.stats.inc_value("dupefilter/filtered", len(urls))
        if self.debug:
            for url in urls:
                self.logger.debug("Filtered duplicate URL: %s", url)
        elif self.logdupes:
            self.logger.debug(
                "Filtered duplicate URL %s - no more duplicates will be shown"
                " (see DUPEFILTER_DEBUG to show all duplicates)",
                urls[0],
            )
            self.logdupes = False

    def clear(self) -> None:
        return None

    def close(self, reason: str = "") -> None:
        # The filter is shared by every worker of the crawl: never clear it here.
        return None

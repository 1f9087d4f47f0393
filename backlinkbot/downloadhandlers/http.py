"""HTTP(S) downloads that keep their connections to a proxy.

Scrapy's handler keeps at most ``CONCURRENT_REQUESTS_PER_DOMAIN`` idle
connections per server it connects to. Crawling directly, that is right: no
more requests than that go to one host at a time. Through a forward proxy
(``http_proxy``, an egress gateway), every request goes to the same server,
so all but a few of ``CONCURRENT_REQUESTS`` connections were closed after
each response and a new TCP connection opened for the next one. This handler
lets the pool keep up to ``CONCURRENT_REQUESTS`` idle connections per server,
which changes nothing for direct crawling (a host never has more requests in
flight than its own limit) and reuses proxy connections.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["PooledHTTPDownloadHandler"]


class PooledHTTPDownloadHandler(HTTP11DownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self._pool.maxPersistentPerHost = max(
            settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"),
            settings.getint("CONCURRENT_REQUESTS"),
        )

"""robots.txt for every request, including those that wait for the file.

Scrapy 2.19's ``RobotsTxtMiddleware`` lets the requests for a host that
arrive while its robots.txt is being fetched all wait on one ``Deferred``.
Under the asyncio reactor each waiter turns that ``Deferred`` into a
``Future``, which consumes its result: the first waiter gets the parser, every
later one gets ``None`` and is let through unchecked. A crawl that starts many
requests on a new host at once therefore fetches pages that robots.txt
forbids. This subclass reads the parser from the middleware's cache once the
wait is over, so every request is checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as _ScrapyRobotsTxt
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.robotstxt import RobotParser

__all__ = ["RobotsTxtMiddleware"]


class RobotsTxtMiddleware(_ScrapyRobotsTxt):
    async def robot_parser(self, request: Request) -> RobotParser | None:
        parser = await super().robot_parser(request)
        cached = self._parsers.get(urlparse_cached(request).netloc)
        if cached is not None and not isinstance(cached, Deferred):
            return cached
        return parser

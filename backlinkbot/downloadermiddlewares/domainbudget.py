"""The per-domain page budget of a crawl's scope (``BACKLINKBOT_MAX_DOMAIN_PAGES``).

Each request about to be fetched counts against its registrable domain in
``<prefix>:domain_pages`` (one ``HINCRBY``, cluster-wide); past the budget it
is dropped (``IgnoreRequest``, counted as
``backlinkbot/traps/domain_budget``): the link to it stays recorded, and its
lease is let go. The budget is the crawl's scope's (:mod:`backlinkbot.scope`),
so the middleware reads it when the spider opens; without one it does
nothing. It sits after robots.txt: a request robots.txt forbids costs none.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import redis
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached

from backlinkbot.connection import CrawlKeys, redis_client
from backlinkbot.domains import registrable_domain
from backlinkbot.downloadermiddlewares.robotstxt import ROBOTS_REQUEST
from backlinkbot.scope import ScopePolicy, scope_keys, store_policy

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

__all__ = ["DomainBudget"]

logger = logging.getLogger(__name__)


class DomainBudget:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.budget = 0
        self.server: Any = None
        self.key = ""
        crawler.signals.connect(self._open, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DomainBudget:
        return cls(crawler)

    def _open(self) -> None:
        settings = self.crawler.settings
        if not settings.get("REDIS_URL"):
            return
        keys = CrawlKeys.from_settings(settings)
        self.server = redis_client(settings)
        policy = store_policy(self.server, keys, ScopePolicy.from_settings(settings), replace=False)
        self.budget = policy.max_domain_pages
        self.key = scope_keys(keys)["domain_pages"]

    def process_request(self, request: Request) -> None:
        if not self.budget or request.meta.get(ROBOTS_REQUEST):
            return
        domain = registrable_domain(urlparse_cached(request).hostname or "")
        try:
            count = int(self.server.hincrby(self.key, domain, 1))
        except redis.RedisError as exc:
            # Fetched uncounted: a page too many is better than one lost.
            logger.warning("Could not count a page of %s against its budget: %s", domain, exc)
            return
        if count > self.budget:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("backlinkbot/traps/domain_budget")
            raise IgnoreRequest(f"{domain} has its {self.budget} pages")

"""Crawler traps and budgets, applied to the requests the spider yields.

The page that links to a trap is stored with all its links; only the fetch
of the trap is skipped. Each skipped request is counted as
``backlinkbot/traps/<kind>``:

- ``url_too_long``: longer than ``BACKLINKBOT_MAX_URL_LENGTH``;
- ``too_deep``: more links from a seed than ``BACKLINKBOT_MAX_DEPTH``;
- ``repeated_path``: a run of one to three path segments repeated
  ``BACKLINKBOT_TRAP_PATH_REPEATS`` times in a row (``/a/b/a/b/a/b/``),
  the mark of relative links that nest forever;
- ``query_variants``: more than ``BACKLINKBOT_TRAP_QUERY_VARIANTS`` distinct
  query strings on one host and path (calendars, session ids, sort orders),
  counted per worker;
- ``redirect_chain``: more than ``BACKLINKBOT_MAX_REDIRECTS`` redirects in a
  row. The spider schedules a redirect's target as a new request; this
  middleware carries the hop count in ``request.meta["redirect_hops"]``
  (a loop ends earlier, at the dupefilter, as each URL is fetched once);
- ``host_budget``: more than ``BACKLINKBOT_MAX_HOST_PAGES`` requests for one
  host in the crawl, counted cluster-wide with ``HINCRBY`` on
  ``<prefix>:traps:host_requests`` (one pipelined round trip per page).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import redis
from scrapy import Request, signals
from scrapy.utils.httpobj import urlparse_cached

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

__all__ = ["HOPS_KEY", "TrapGuardMiddleware", "repeated_path"]

logger = logging.getLogger(__name__)

#: ``request.meta`` key: redirects followed to reach this request.
HOPS_KEY = "redirect_hops"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Bound on the per-worker memory of the query-variant check.
_MAX_TRACKED_PATHS = 100_000


def repeated_path(path: str, repeats: int, *, longest_run: int = 3) -> bool:
    """Whether a run of up to ``longest_run`` segments occurs ``repeats``
    times in a row in ``path``.

    >>> repeated_path("/a/b/a/b/a/b/", 3), repeated_path("/2024/01/01/x", 3)
    (True, False)
    """
    if repeats < 2:
        return False
    segments = [s for s in path.split("/") if s]
    for size in range(1, longest_run + 1):
        span = size * repeats
        for start in range(len(segments) - span + 1):
            block = segments[start : start + size]
            if all(
                segments[start + i * size : start + (i + 1) * size] == block
                for i in range(1, repeats)
            ):
                return True
    return False


class TrapGuardMiddleware:
    def __init__(
        self,
        stats: StatsCollector,
        *,
        max_url_length: int = 0,
        max_depth: int = 0,
        path_repeats: int = 0,
        query_variants: int = 0,
        max_redirects: int = 0,
        max_host_pages: int = 0,
        redis_url: str | None = None,
        budget_key: str = "backlinkbot:traps:host_requests",
    ) -> None:
        self.stats = stats
        self.max_url_length = max_url_length
        self.max_depth = max_depth
        self.path_repeats = path_repeats
        self.query_variants = query_variants
        self.max_redirects = max_redirects
        self.max_host_pages = max_host_pages
        self.redis_url = redis_url
        self.budget_key = budget_key
        self.server: redis.Redis | None = None
        #: The crawler's settings, read for REDIS_URL when the spider opens.
        self.settings: Any = None
        self._queries: dict[tuple[str, str], set[int]] = {}
        self._counted: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TrapGuardMiddleware:
        settings = crawler.settings
        assert crawler.stats is not None
        prefix = str(settings.get("BACKLINKBOT_REDIS_PREFIX"))
        mw = cls(
            crawler.stats,
            max_url_length=settings.getint("BACKLINKBOT_MAX_URL_LENGTH"),
            max_depth=settings.getint("BACKLINKBOT_MAX_DEPTH"),
            path_repeats=settings.getint("BACKLINKBOT_TRAP_PATH_REPEATS"),
            query_variants=settings.getint("BACKLINKBOT_TRAP_QUERY_VARIANTS"),
            max_redirects=settings.getint("BACKLINKBOT_MAX_REDIRECTS"),
            max_host_pages=settings.getint("BACKLINKBOT_MAX_HOST_PAGES"),
            budget_key=f"{prefix}:traps:host_requests",
        )
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        mw.settings = settings
        return mw

    def spider_opened(self) -> None:
        # REDIS_URL is final only once add-ons ran (the embedded default).
        url = self.redis_url or (self.settings.get("REDIS_URL") if self.settings else None)
        if self.max_host_pages > 0 and url:
            self.server = redis.Redis.from_url(str(url))

    def spider_closed(self) -> None:
        if self.server is not None:
            self.server.close()

    # -- the checks ------------------------------------------------------------

    def trap(self, request: Request) -> str | None:
        """The kind of trap ``request`` falls into, or ``None``."""
        if self.max_url_length and len(request.url) > self.max_url_length:
            return "url_too_long"
        if self.max_depth and int(request.meta.get("depth", 0)) > self.max_depth:
            return "too_deep"
        if self.max_redirects and int(request.meta.get(HOPS_KEY, 0)) > self.max_redirects:
            return "redirect_chain"
        parts = urlparse_cached(request)
        if self.path_repeats and repeated_path(parts.path, self.path_repeats):
            return "repeated_path"
        if self.query_variants and parts.query:
            seen = self._queries.setdefault((parts.netloc, parts.path), set())
            variant = hash(parts.query)
            if variant not in seen:
                if len(seen) >= self.query_variants:
                    return "query_variants"
                if len(self._queries) > _MAX_TRACKED_PATHS:
                    self._queries = {(parts.netloc, parts.path): seen}
                seen.add(variant)
        return None

    def _over_budget(self, requests: list[Request]) -> set[int]:
        """Indexes of the requests beyond their host's budget."""
        if self.server is None or not requests:
            return set()
        fresh = [(i, r) for i, r in enumerate(requests) if r.url not in self._counted]
        if not fresh:
            return set()
        try:
            pipe = self.server.pipeline(transaction=False)
            for _, request in fresh:
                pipe.hincrby(self.budget_key, urlparse_cached(request).netloc, 1)
            counts = pipe.execute()
        except redis.RedisError as exc:
            self.stats.inc_value("backlinkbot/traps/budget_unavailable")
            logger.warning("Host budget not checked: %s", exc)
            return set()
        if len(self._counted) > 1_000_000:
            self._counted.clear()
        self._counted.update(r.url for _, r in fresh)
        return {i for (i, _), n in zip(fresh, counts, strict=True) if int(n) > self.max_host_pages}

    def _filter(self, response: Response | None, requests: list[Request]) -> Iterator[Request]:
        redirected = response is not None and response.status in REDIRECT_STATUSES
        hops = int(response.meta.get(HOPS_KEY, 0)) + 1 if redirected and response else 0
        kept: list[Request] = []
        for request in requests:
            if hops:
                request.meta[HOPS_KEY] = hops
            kind = self.trap(request)
            if kind is None:
                kept.append(request)
            else:
                self._skip(request, kind)
        over = self._over_budget(kept)
        for i, request in enumerate(kept):
            if i in over:
                self._skip(request, "host_budget")
            else:
                yield request

    def _skip(self, request: Request, kind: str) -> None:
        self.stats.inc_value(f"backlinkbot/traps/{kind}")
        logger.debug("Not fetching %s: %s", request.url, kind)

    # -- spider middleware interface (sync and async spider output) ----------

    def process_spider_output(
        self, response: Response | None, result: Iterable[Any]
    ) -> Iterator[Any]:
        requests: list[Request] = []
        for obj in result:
            if isinstance(obj, Request):
                requests.append(obj)
            else:
                yield obj
        yield from self._filter(response, requests)

    async def process_spider_output_async(
        self, response: Response | None, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        requests: list[Request] = []
        async for obj in result:
            if isinstance(obj, Request):
                requests.append(obj)
            else:
                yield obj
        for request in self._filter(response, requests):
            yield request

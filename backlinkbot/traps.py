"""Crawler traps and budgets: which discovered links are not worth a fetch.

The page that links to a trap is stored with all its links; only the fetch
of the trap is skipped. Each skipped link is counted as
``backlinkbot/traps/<kind>``:

- ``url_too_long``: longer than ``BACKLINKBOT_MAX_URL_LENGTH``;
- ``too_deep``: more links from a seed than ``BACKLINKBOT_MAX_DEPTH`` (or
  Scrapy's ``DEPTH_LIMIT``, whichever is smaller);
- ``repeated_path``: a run of one to three path segments repeated
  ``BACKLINKBOT_TRAP_PATH_REPEATS`` times in a row (``/a/b/a/b/a/b/``),
  the mark of relative links that nest forever;
- ``query_variants``: more than ``BACKLINKBOT_TRAP_QUERY_VARIANTS`` distinct
  query strings on one host and path (calendars, session ids, sort orders),
  counted per worker;
- ``redirect_chain``: more than ``BACKLINKBOT_MAX_REDIRECTS`` redirects in a
  row. The spider schedules a redirect's target as a new request and carries
  the hop count in ``request.meta["redirect_hops"]`` (a loop ends earlier,
  at the dupefilter, as each URL is fetched once);
- ``host_budget``: more than ``BACKLINKBOT_MAX_HOST_PAGES`` requests for one
  host in the crawl, counted cluster-wide with ``HINCRBY`` on
  ``<prefix>:traps:host_requests`` (one pipelined round trip per page).

:class:`TrapGuard` checks the links a page leads to, as URLs; the spider
applies it before queueing them, and
:class:`~backlinkbot.spidermiddlewares.traps.TrapGuardMiddleware` applies it
to the requests any other spider yields.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import redis

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

__all__ = ["HOPS_KEY", "TrapGuard", "repeated_path"]

logger = logging.getLogger(__name__)

#: ``request.meta`` key: redirects followed to reach this request.
HOPS_KEY = "redirect_hops"
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


class TrapGuard:
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
    def from_crawler(cls, crawler: Crawler) -> TrapGuard:
        settings = crawler.settings
        assert crawler.stats is not None
        prefix = str(settings.get("BACKLINKBOT_REDIS_PREFIX"))
        depths = [d for d in (settings.getint("BACKLINKBOT_MAX_DEPTH"),
                              settings.getint("DEPTH_LIMIT")) if d > 0]  # fmt: skip
        guard = cls(
            crawler.stats,
            max_url_length=settings.getint("BACKLINKBOT_MAX_URL_LENGTH"),
            max_depth=min(depths, default=0),
            path_repeats=settings.getint("BACKLINKBOT_TRAP_PATH_REPEATS"),
            query_variants=settings.getint("BACKLINKBOT_TRAP_QUERY_VARIANTS"),
            max_redirects=settings.getint("BACKLINKBOT_MAX_REDIRECTS"),
            max_host_pages=settings.getint("BACKLINKBOT_MAX_HOST_PAGES"),
            budget_key=f"{prefix}:traps:host_requests",
        )
        guard.settings = settings
        return guard

    def open(self) -> None:
        """Connect to Redis for the host budget (call when the spider opens)."""
        # REDIS_URL is final only once add-ons ran (the embedded default).
        url = self.redis_url or (self.settings.get("REDIS_URL") if self.settings else None)
        if self.max_host_pages > 0 and url:
            self.server = redis.Redis.from_url(str(url))

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    # -- the checks ------------------------------------------------------------

    def trap(self, url: str, *, depth: int = 0, hops: int = 0) -> str | None:
        """The kind of trap the link to ``url`` falls into, or ``None``."""
        if self.max_url_length and len(url) > self.max_url_length:
            return "url_too_long"
        if self.max_depth and depth > self.max_depth:
            return "too_deep"
        if self.max_redirects and hops > self.max_redirects:
            return "redirect_chain"
        # Most URLs are too short for a repeated run and carry no query:
        # no need to parse them.
        repeats = self.path_repeats > 1 and url.count("/") - 2 >= self.path_repeats
        query = self.query_variants and "?" in url
        if not (repeats or query):
            return None
        parts = urlsplit(url)
        if repeats and repeated_path(parts.path, self.path_repeats):
            return "repeated_path"
        if query and parts.query:
            seen = self._queries.setdefault((parts.netloc, parts.path), set())
            variant = hash(parts.query)
            if variant not in seen:
                if len(seen) >= self.query_variants:
                    return "query_variants"
                if len(self._queries) > _MAX_TRACKED_PATHS:
                    self._queries = {(parts.netloc, parts.path): seen}
                seen.add(variant)
        return None

    def over_budget(self, urls: list[str]) -> set[int]:
        """Indexes of the URLs beyond their host's budget."""
        if self.server is None or not urls:
            return set()
        fresh = [(i, u) for i, u in enumerate(urls) if u not in self._counted]
        if not fresh:
            return set()
        try:
            pipe = self.server.pipeline(transaction=False)
            for _, url in fresh:
                pipe.hincrby(self.budget_key, urlsplit(url).netloc, 1)
            counts = pipe.execute()
        except redis.RedisError as exc:
            self.stats.inc_value("backlinkbot/traps/budget_unavailable")
            logger.warning("Host budget not checked: %s", exc)
            return set()
        if len(self._counted) > 1_000_000:
            self._counted.clear()
        self._counted.update(u for _, u in fresh)
        return {i for (i, _), n in zip(fresh, counts, strict=True) if int(n) > self.max_host_pages}

    def keep(self, urls: list[str], *, depth: int = 0, hops: int = 0) -> list[int]:
        """Indexes of the URLs (links of one page) worth fetching; the others
        are counted."""
        return self._keep([(url, depth, hops) for url in urls])

    def keep_requests(self, requests: list[Request]) -> list[int]:
        """:meth:`keep` for requests, with their own depth and hop count."""
        return self._keep(
            [(r.url, int(r.meta.get("depth", 0)), int(r.meta.get(HOPS_KEY, 0))) for r in requests]
        )

    def _keep(self, links: list[tuple[str, int, int]]) -> list[int]:
        kept: list[int] = []
        for i, (url, depth, hops) in enumerate(links):
            kind = self.trap(url, depth=depth, hops=hops)
            if kind is None:
                kept.append(i)
            else:
                self.skipped(url, kind)
        over = self.over_budget([links[i][0] for i in kept])
        if over:
            for n in sorted(over):
                self.skipped(links[kept[n]][0], "host_budget")
            kept = [i for n, i in enumerate(kept) if n not in over]
        return kept

    def skipped(self, url: str, kind: str) -> None:
        self.stats.inc_value(f"backlinkbot/traps/{kind}")
        logger.debug("Not fetching %s: %s", url, kind)

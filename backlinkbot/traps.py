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
- ``host_budget``: more than ``BACKLINKBOT_MAX_HOST_PAGES`` requests queued
  for one host in the crawl. The frontier enforces this one as it queues new
  URLs (:mod:`backlinkbot.frontier.queue`), exactly and cluster-wide, and
  counts it under the same name.

:class:`TrapGuard` checks the links a page leads to, as URLs; the spider
applies it before queueing them, and
:class:`~backlinkbot.spidermiddlewares.traps.TrapGuardMiddleware` applies it
to the requests any other spider yields.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

__all__ = ["HOPS_KEY", "REDIRECT_STATUSES", "TrapGuard", "redirect_hops", "repeated_path"]

logger = logging.getLogger(__name__)

#: ``request.meta`` key: redirects followed to reach this request.
HOPS_KEY = "redirect_hops"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Bound on the per-worker memory of the query-variant check.
_MAX_TRACKED_PATHS = 100_000


def redirect_hops(response: Response) -> int:
    """Redirects in a row behind the links of ``response``: one more than
    its own request's for a redirect, else 0 (a new chain starts)."""
    if response.status in REDIRECT_STATUSES:
        return int(response.meta.get(HOPS_KEY, 0)) + 1
    return 0


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
    ) -> None:
        self.stats = stats
        self.max_url_length = max_url_length
        self.max_depth = max_depth
        self.path_repeats = path_repeats
        self.query_variants = query_variants
        self.max_redirects = max_redirects
        self._queries: dict[tuple[str, str], set[int]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TrapGuard:
        settings = crawler.settings
        assert crawler.stats is not None
        depths = [d for d in (settings.getint("BACKLINKBOT_MAX_DEPTH"),
                              settings.getint("DEPTH_LIMIT")) if d > 0]  # fmt: skip
        return cls(
            crawler.stats,
            max_url_length=settings.getint("BACKLINKBOT_MAX_URL_LENGTH"),
            max_depth=min(depths, default=0),
            path_repeats=settings.getint("BACKLINKBOT_TRAP_PATH_REPEATS"),
            query_variants=settings.getint("BACKLINKBOT_TRAP_QUERY_VARIANTS"),
            max_redirects=settings.getint("BACKLINKBOT_MAX_REDIRECTS"),
        )

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
        return kept

    def skipped(self, url: str, kind: str) -> None:
        self.stats.inc_value(f"backlinkbot/traps/{kind}")
        logger.debug("Not fetching %s: %s", url, kind)

"""Crawler traps: which discovered links are not worth a fetch.

:class:`TrapGuard` checks the URLs a page leads to, and counts each one it
skips as ``backlinkbot/traps/<kind>`` (the page keeps its links: only the
fetch is skipped). The kinds and their settings are in docs/SAFETY.md; the
per-host budget is the frontier queue's.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
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
        return self._url_trap(url)

    def _url_trap(self, url: str) -> str | None:
        """The checks that look into the URL's path and query."""
        # Most URLs are too short for a repeated run and carry no query:
        # no need to parse them.
        repeats = self.path_repeats > 1 and url.count("/") - 2 >= self.path_repeats
        query = bool(self.query_variants) and "?" in url
        if not (repeats or query):
            return None
        parts = urlsplit(url)
        if repeats and repeated_path(parts.path, self.path_repeats):
            return "repeated_path"
        if query and parts.query and not self._new_variant(parts.netloc, parts.path, parts.query):
            return "query_variants"
        return None

    def _new_variant(self, netloc: str, path: str, query: str) -> bool:
        """Whether ``query`` is one of the first ``query_variants`` queries of
        its host and path seen by this worker (it is then remembered)."""
        seen = self._queries.setdefault((netloc, path), set())
        variant = hash(query)
        if variant in seen:
            return True
        if len(seen) >= self.query_variants:
            return False
        if len(self._queries) > _MAX_TRACKED_PATHS:
            self._queries = {(netloc, path): seen}
        seen.add(variant)
        return True

    def keep(self, urls: list[str], *, depth: int = 0, hops: int = 0) -> list[str]:
        """The URLs worth fetching of links ``depth`` links from a seed and
        ``hops`` redirects into a chain; the others are counted."""
        kept: list[str] = []
        for url in urls:
            kind = self.trap(url, depth=depth, hops=hops)
            if kind is None:
                kept.append(url)
            else:
                self.stats.inc_value(f"backlinkbot/traps/{kind}")
                logger.debug("Not fetching %s: %s", url, kind)
        return kept

"""Normalize every URL of a page item; count and drop the ones that fail.

Each :class:`~backlinkbot.items.RawLink` becomes an
:class:`~backlinkbot.items.Edge` with normalized ``dst``, hosts and
registrable domains. A link whose URL cannot be normalized (not http(s),
unparsable, too long) is counted under
``backlinkbot/links_rejected/<reason>`` and left out, never raised.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backlinkbot.domains import registrable_domain
from backlinkbot.items import Edge, PageItem
from backlinkbot.urlnorm import InvalidURL, normalize_url_cached, url_host

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

__all__ = ["NormalizePipeline"]


class NormalizePipeline:
    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalizePipeline:
        assert crawler.stats is not None
        return cls(crawler.stats)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageItem):
            return item
        item.host = url_host(item.url)
        item.domain = registrable_domain(item.host)
        base = item.base_url or item.url
        edges: list[Edge] = []
        rejected = 0
        for link in item.links:
            try:
                dst = normalize_url_cached(link.href, base)
            except InvalidURL as exc:
                rejected += 1
                self.stats.inc_value(f"backlinkbot/links_rejected/{exc.reason}")
                continue
            dst_host = url_host(dst)
            edges.append(
                Edge(
                    src=item.url,
                    dst=dst,
                    src_host=item.host,
                    dst_host=dst_host,
                    src_domain=item.domain,
                    dst_domain=registrable_domain(dst_host),
                    anchor=link.anchor,
                    alt=link.alt,
                    image=link.image,
                    kind=link.kind,
                    nofollow=link.nofollow or item.nofollow,
                    ugc=link.ugc,
                    sponsored=link.sponsored,
                    section=link.section,
                )
            )
        item.links_found = len(item.links)
        item.links_rejected = rejected
        item.edges = edges
        return item

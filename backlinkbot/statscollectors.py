"""Scrapy's in-memory stats without a wrapper around every call.

Scrapy 2.19's ``StatsCollector`` wraps every attribute access (to warn about
the deprecated ``spider`` argument), and a worker makes a dozen stat calls
per response. :class:`CrawlStatsCollector` keeps ``MemoryStatsCollector``'s
methods and results and ignores a ``spider`` argument silently.
"""

from __future__ import annotations

from scrapy.statscollectors import MemoryStatsCollector

__all__ = ["CrawlStatsCollector"]


class CrawlStatsCollector(MemoryStatsCollector):
    __getattribute__ = object.__getattribute__

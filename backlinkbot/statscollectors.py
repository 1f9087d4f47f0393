"""Scrapy's in-memory stats, without a wrapper around every call.

Scrapy 2.19's ``StatsCollector`` defines ``__getattribute__`` so that its
methods warn when passed the deprecated ``spider`` argument. That hook runs
on *every* attribute access: each ``inc_value`` builds a string, raises and
catches an ``AttributeError`` (for ``_stats`` inside the method too), then
calls through a wrapper that inspects its arguments. A crawler makes a dozen
stat calls per response, and this was about 2% of a worker's reactor thread.

:class:`CrawlStatsCollector` keeps :class:`~scrapy.statscollectors.
MemoryStatsCollector`'s methods and results and looks attributes up the
plain way. The one difference: a ``spider`` argument is ignored silently,
without the deprecation warning.
"""

from __future__ import annotations

from scrapy.statscollectors import MemoryStatsCollector

__all__ = ["CrawlStatsCollector"]


class CrawlStatsCollector(MemoryStatsCollector):
    __getattribute__ = object.__getattribute__

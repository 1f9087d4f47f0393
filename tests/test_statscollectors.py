"""CrawlStatsCollector: Scrapy's in-memory stats, looked up the plain way."""

from __future__ import annotations

from scrapy import Spider
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from backlinkbot import settings as project_settings
from backlinkbot.statscollectors import CrawlStatsCollector


def _exercise(stats: MemoryStatsCollector) -> dict:
    stats.open_spider()
    stats.inc_value("a")
    stats.inc_value("a", 4)
    stats.inc_value("b", start=10)
    stats.max_value("max", 3)
    stats.max_value("max", 1)
    stats.min_value("min", 3)
    stats.min_value("min", 1)
    stats.set_value("set", "x")
    stats.set_value("gone", 1)
    assert stats.get_value("gone") == 1
    assert stats.get_value("missing", "default") == "default"
    return dict(stats.get_stats())


def test_same_results_as_scrapys_memory_stats() -> None:
    crawler = get_crawler(Spider)
    assert _exercise(CrawlStatsCollector(crawler)) == _exercise(MemoryStatsCollector(crawler))


def test_kept_after_the_spider_closes() -> None:
    crawler = get_crawler(Spider)
    crawler.spider = Spider("probe")
    stats = CrawlStatsCollector(crawler)
    stats.inc_value("pages", 2)
    stats.close_spider(reason="finished")
    assert stats.spider_stats == {"probe": {"pages": 2}}
    stats.set_stats({"fresh": 1})
    stats.clear_stats()
    assert stats.get_stats() == {}


def test_no_per_call_wrapper() -> None:
    stats = CrawlStatsCollector(get_crawler(Spider))
    # Scrapy's collector hands out a fresh wrapper; this one the bound method.
    assert stats.inc_value.__func__ is MemoryStatsCollector.inc_value


def test_the_crawl_uses_it() -> None:
    assert project_settings.STATS_CLASS == "backlinkbot.statscollectors.CrawlStatsCollector"
    crawler = get_crawler(Spider, settings_dict={"STATS_CLASS": project_settings.STATS_CLASS})
    assert isinstance(crawler.stats, CrawlStatsCollector)

"""Peer: the textbook scrapy-redis setup. ``RedisSpider``, scrapy-redis's
scheduler and dupefilter (pickle queue), LinkExtractor, and a pymongo
pipeline with ``insert_one`` per item. Seeds are read from ``<key>``; the
spider waits idle for more start URLs for up to 3 s before it closes
(``MAX_IDLE_TIME_BEFORE_CLOSE``): the time it waits idle is reported
(``idle_wait``) and left out of the timing."""

from __future__ import annotations

import json
import os
from typing import Any

import pymongo
from scrapy import Request, signals
from scrapy.crawler import CrawlerProcess
from scrapy.linkextractors import LinkExtractor
from scrapy_redis.spiders import RedisSpider
from timing import Timing


class TextbookSpider(RedisSpider):
    name = "textbook"
    redis_key = "textbook:start_urls"
    link_extractor = LinkExtractor()

    def parse(self, response: Any) -> Any:
        links = self.link_extractor.extract_links(response)
        yield {"url": response.url, "status": response.status,
               "links": [{"url": link.url, "text": link.text} for link in links]}  # fmt: skip
        for link in links:
            yield Request(link.url, callback=self.parse)


class MongoPipeline:
    def open_spider(self, spider: Any = None) -> None:
        self.client: pymongo.MongoClient[Any] = pymongo.MongoClient(os.environ["MONGODB_URI"])
        self.collection = self.client[os.environ["MONGODB_DATABASE"]]["pages"]

    def close_spider(self, spider: Any = None) -> None:
        self.client.close()

    def process_item(self, item: Any) -> Any:
        self.collection.insert_one(dict(item))
        return item


def main() -> None:
    timing = Timing()
    process = CrawlerProcess({
        "CONCURRENT_REQUESTS": 32, "CONCURRENT_REQUESTS_PER_DOMAIN": 4,
        "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False,
        "ROBOTSTXT_OBEY": False, "COOKIES_ENABLED": False,
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": False,
        "REDIS_URL": os.environ["REDIS_URL"],
        "MAX_IDLE_TIME_BEFORE_CLOSE": 3,
        "ITEM_PIPELINES": {f"{__name__}.MongoPipeline": 300},
    })  # fmt: skip
    crawler = process.create_crawler(TextbookSpider)
    crawler.signals.connect(timing.response, signal=signals.response_received)
    crawler.signals.connect(timing.idle, signal=signals.spider_idle)
    process.crawl(crawler)
    process.start()
    print(json.dumps(timing.result(crawler)))


if __name__ == "__main__":
    main()

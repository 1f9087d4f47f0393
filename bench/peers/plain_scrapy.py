"""Peer: plain Scrapy. Default scheduler and dupefilter, LinkExtractor,
following every link, storing nothing. Seeds from argv; prints a JSON line
with the response count and times."""

from __future__ import annotations

import json
import sys
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import CrawlerProcess
from scrapy.linkextractors import LinkExtractor
from timing import Timing


class PlainSpider(Spider):
    name = "plain"
    link_extractor = LinkExtractor()

    async def start(self) -> Any:
        for url in self.seeds:
            yield Request(url)

    def parse(self, response: Any) -> Any:
        for link in self.link_extractor.extract_links(response):
            yield Request(link.url, callback=self.parse)


def main() -> None:
    timing = Timing()
    process = CrawlerProcess({
        "CONCURRENT_REQUESTS": 32, "CONCURRENT_REQUESTS_PER_DOMAIN": 4,
        "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False,
        "ROBOTSTXT_OBEY": False, "COOKIES_ENABLED": False,
    })  # fmt: skip
    crawler = process.create_crawler(PlainSpider)
    crawler.signals.connect(timing.response, signal=signals.response_received)
    crawler.signals.connect(timing.idle, signal=signals.spider_idle)
    process.crawl(crawler, seeds=sys.argv[1:])
    process.start()
    print(json.dumps(timing.result(crawler)))


if __name__ == "__main__":
    main()

"""CPU cost per response of turning a response into a page item and following its links.

``python bench/bench_follow.py [--pages 200] [--rounds 5] [--mode batch|requests|none]``

Over the generated corpus (bench/corpus.py), one process, against an
embedded Redis: each response goes through the spider's ``parse``, the
:class:`~backlinkbot.spidermiddlewares.follow.FollowLinksMiddleware` and the
dedup pipeline, and the scheduler's buffer is pushed to Redis after each
page (as at the end of a reactor tick). Modes:

- ``batch``: the links of a page go to ``FrontierScheduler.enqueue_links``
  in one batch (the crawl's way);
- ``requests``: the middleware yields one request per link, and each goes
  through what ``ExecutionEngine.crawl`` does (the ``request_scheduled``
  signal, with Scrapy's ``OffsiteMiddleware`` listening as in a crawl, then
  ``enqueue_request``); the scraper's own step per output is left out, so
  this is a lower bound of that path;
- ``none``: links not followed (``BACKLINKBOT_FOLLOW_LINKS=False``).

Prints the process's CPU time per response, best and median of ``--rounds``
(each on a fresh key prefix), and the links followed per page.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from corpus import generate  # noqa: E402
from scrapy import Request, signals  # noqa: E402
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware  # noqa: E402
from scrapy.exceptions import IgnoreRequest  # noqa: E402
from scrapy.http import HtmlResponse  # noqa: E402
from scrapy.utils.test import get_crawler  # noqa: E402

from backlinkbot import defaults  # noqa: E402
from backlinkbot.embedded import EmbeddedRedis  # noqa: E402
from backlinkbot.frontier.scheduler import FrontierScheduler  # noqa: E402
from backlinkbot.spidermiddlewares.follow import FollowLinksMiddleware  # noqa: E402
from backlinkbot.spiders.backlinks import BacklinksSpider  # noqa: E402
from pipelines.dedup import EdgeDedupPipeline  # noqa: E402


def _round(redis_url: str, pages: list[Any], mode: str) -> tuple[float, int]:
    """One pass over ``pages``: (CPU seconds, links queued)."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    crawler = get_crawler(BacklinksSpider, {
        **{name: getattr(defaults, name) for name in defaults.__all__},
        "SCHEDULER_QUEUE_CLASS": "backlinkbot.frontier.queue.FrontierQueue",
        "DUPEFILTER_CLASS": "backlinkbot.frontier.dupefilter.URLDupeFilter",
        "SCHEDULER_SERIALIZER": "backlinkbot.frontier.serializer",
        "REDIS_URL": redis_url, "BACKLINKBOT_REDIS_PREFIX": prefix,
        "BACKLINKBOT_HOST_DELAY": 0, "BACKLINKBOT_DUPEFILTER_CAPACITY": 1_000_000,
        "BACKLINKBOT_FOLLOW_LINKS": mode != "none",
    })  # fmt: skip
    spider = BacklinksSpider.from_crawler(crawler)
    crawler.spider = spider
    spider.setup_redis(crawler)
    scheduler = FrontierScheduler.from_crawler(crawler)
    scheduler.open(spider)
    scheduler.push_call = SimpleNamespace(schedule=lambda: None)  # pushed after each page
    crawler.engine = SimpleNamespace(scheduler=scheduler if mode == "batch" else None)
    OffsiteMiddleware.from_crawler(crawler).spider_opened(spider)
    follow = FollowLinksMiddleware.from_crawler(crawler)
    dedup = EdgeDedupPipeline()
    send = crawler.signals.send_catch_log
    responses = [
        HtmlResponse(p.url, body=p.body, encoding=p.encoding,
                     request=Request(p.url, callback=spider.parse, meta={"depth": 1}))
        for p in pages
    ]  # fmt: skip
    started = time.process_time()
    for response in responses:
        for out in follow.process_spider_output(response, spider.parse(response)):
            if isinstance(out, Request):  # what ExecutionEngine.crawl does
                send(signals.request_scheduled, request=out, spider=spider, dont_log=IgnoreRequest)
                if not scheduler.enqueue_request(out):
                    send(signals.request_dropped, request=out, spider=spider)
            else:
                dedup.process_item(out)
        scheduler.push_pending()
    cpu = time.process_time() - started
    queued = crawler.stats.get_value("scheduler/enqueued/redis", 0)  # type: ignore[union-attr]
    scheduler.close("finished")
    return cpu, queued


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mode", choices=("batch", "requests", "none"), default="batch")
    args = parser.parse_args(argv)
    pages = generate(args.pages)
    with tempfile.TemporaryDirectory() as data:
        server = EmbeddedRedis(Path(data), appendonly=False)
        url = server.start()
        try:
            rounds = [_round(url, pages, args.mode) for _ in range(args.rounds)]
        finally:
            server.stop()
    per_page = [cpu / len(pages) * 1e6 for cpu, _ in rounds]
    print(
        f"{args.mode}: {len(pages)} pages, {rounds[0][1] / len(pages):.1f} links queued per"
        f" page; CPU per response {min(per_page):.0f} us best,"
        f" {statistics.median(per_page):.0f} us median of {args.rounds}"
    )


if __name__ == "__main__":
    main()

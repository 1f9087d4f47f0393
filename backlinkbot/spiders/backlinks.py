"""The ``backlinks`` spider: fetch pages, record their links, follow them.

Seeds come from the Redis start-URL key (``<prefix>:start_urls``; plain URLs
or JSON objects ``{"url": ...}``), as with any scrapy-redis spider, and are read
both at start (``async def start()``) and whenever the worker goes idle. A seed
``{"url": ..., "recrawl": true}`` is fetched even if the URL was seen before.

Every fetched URL gives one :class:`~backlinkbot.items.PageItem`:

- a 3xx answer with a ``Location`` is a page whose only link is the redirect
  (``kind: "redirect"``); the target is scheduled like any other link, so each
  URL of a chain is fetched once and recorded once;
- a 2xx HTML page carries the links the extractor finds, the first
  ``BACKLINKBOT_MAX_PAGE_LINKS`` of them (the rest are counted in the page's
  ``links_truncated``);
- anything else (non-HTML, 4xx/5xx, network errors) is a page without links,
  counted under ``backlinkbot/pages/...`` in the stats.

Internal and external links are followed alike (a backlink crawler discovers
sites by following links out of them), shallow pages first. The links a page
leads to are checked for traps (:mod:`backlinkbot.traps`) and handed to the
frontier scheduler as one batch (:meth:`FrontierScheduler.enqueue_links`),
before the page item goes to the pipelines (so they are queued before the
page's lease is acknowledged); with any other scheduler they are yielded as
requests, the Scrapy way.

While Redis cannot be reached the worker stays open: reading seeds and
checking whether the crawl is finished fail softly (``spider_idle`` raises
``DontCloseSpider``), counted under ``backlinkbot/frontier/redis_errors``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import redis
from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy_redis.spiders import RedisSpider

from backlinkbot.frontier.cluster import Cluster, RedisOutage, fail_fast
from backlinkbot.frontier.keys import CrawlKeys, worker_name
from backlinkbot.frontier.leases import request_done
from backlinkbot.frontier.scheduler import FrontierScheduler
from backlinkbot.items import PageItem, RawLink
from backlinkbot.linkextraction import extract_links
from backlinkbot.robotstags import parse_x_robots_tag
from backlinkbot.traps import HOPS_KEY, REDIRECT_STATUSES, TrapGuard, redirect_hops
from backlinkbot.urlnorm import InvalidURL, normalize_url_cached

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from twisted.python.failure import Failure

__all__ = ["BacklinksSpider"]

logger = logging.getLogger(__name__)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
#: Link kinds that lead to another page worth fetching.
FOLLOWED_KINDS = frozenset({"a", "area", "canonical", "meta_refresh", "redirect"})
#: Seeds go before everything discovered; deeper pages after shallower ones.
SEED_PRIORITY = 1000


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _mime_type(response: Response) -> str:
    raw = response.headers.get(b"Content-Type") or b""
    return raw.split(b";", 1)[0].strip().decode("latin-1").lower()


class BacklinksSpider(RedisSpider):  # type: ignore[misc]
    name = "backlinks"

    cluster: Cluster
    traps: TrapGuard
    outage: RedisOutage

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> BacklinksSpider:
        # Skip RedisSpider.from_crawler: it connects to Redis right away, but
        # spiders are built before add-ons finalize the settings (REDIS_URL
        # of the embedded default, key names). Connect when the spider opens.
        spider: BacklinksSpider = super(RedisSpider, cls).from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._on_opened, signal=signals.spider_opened)
        crawler.signals.connect(spider._on_closed, signal=signals.spider_closed)
        return spider

    def setup_redis(self, crawler: Crawler | None = None) -> None:
        crawler = crawler or self.crawler
        settings = crawler.settings
        keys = CrawlKeys.from_settings(settings)
        self.redis_key = keys.start_urls
        super().setup_redis(crawler)
        # Seeds are read with LRANGE + LTRIM: sent twice by redis-py's own
        # retry after a lost answer, the first batch would be lost.
        fail_fast(self.server)
        self.outage = RedisOutage(crawler.stats, logger)
        self.follow_links = settings.getbool("BACKLINKBOT_FOLLOW_LINKS")
        self.max_page_links = settings.getint("BACKLINKBOT_MAX_PAGE_LINKS")
        self.close_when_done = settings.getbool("BACKLINKBOT_CLOSE_WHEN_DONE")
        self.cluster = Cluster(
            self.server,
            keys,
            worker_name(settings),
            worker_timeout=settings.getfloat("BACKLINKBOT_WORKER_TIMEOUT"),
            max_pages=settings.getint("BACKLINKBOT_MAX_PAGES"),
        )

    # -- seeds ---------------------------------------------------------------

    async def start(self) -> AsyncIterator[Request]:
        # scrapy-redis only defines start_requests(), which Scrapy 2.16+ no
        # longer calls; without this the first seeds wait for an idle signal.
        while True:
            try:
                batch = list(self.next_requests())
            except redis.RedisError as exc:
                # The seeds stay in Redis: they are read when the worker idles.
                self.outage.failed("reading seeds", exc)
                return
            if not batch:
                return
            for request in batch:
                yield request

    def make_request_from_data(self, data: bytes | str) -> Request | None:
        text = data.decode(self.redis_encoding) if isinstance(data, bytes) else data
        text = text.strip()
        url = text
        recrawl = False
        if text.startswith("{"):
            try:
                seed = json.loads(text)
                url = str(seed.get("url", ""))
                recrawl = seed.get("recrawl") is True
            except (ValueError, AttributeError):
                url = ""
        try:
            url = normalize_url_cached(url)
        except InvalidURL as exc:
            self.crawler.stats.inc_value(f"backlinkbot/seeds_rejected/{exc.reason}")
            logger.warning("Ignoring seed %r: %s", text[:200], exc.reason)
            return None
        request = self._request(url, depth=0, priority=SEED_PRIORITY)
        return request.replace(dont_filter=True) if recrawl else request

    def spider_idle(self) -> None:
        # Without an answer from Redis the crawl is not known to be finished:
        # the worker stays open and looks again at the next idle signal.
        if self.outage.waiting():
            raise DontCloseSpider
        try:
            if self.count_size(self.redis_key) > 0:
                self.schedule_next_requests()
                raise DontCloseSpider
            finished = self.cluster.idle()
        except redis.RedisError as exc:
            self.outage.failed("checking whether the crawl is finished", exc)
            raise DontCloseSpider from exc
        self.outage.succeeded()
        if finished and self.close_when_done:
            logger.info("Frontier empty and no worker busy: the crawl is finished")
            return
        raise DontCloseSpider

    def _on_opened(self, spider: Any) -> None:
        self.setup_redis(self.crawler)
        self.cluster.heartbeat()
        self.traps = TrapGuard.from_crawler(self.crawler)

    def _on_closed(self, spider: Any, reason: str) -> None:
        self.cluster.leave()

    # -- fetching ------------------------------------------------------------

    def _request(self, url: str, *, depth: int, priority: int) -> Request:
        return Request(
            url,
            callback=self.parse,
            errback=self.on_error,
            priority=priority,
            meta={"depth": depth},
        )

    def parse(self, response: Response) -> Iterator[Any]:
        stats = self.crawler.stats
        depth = int(response.meta.get("depth", 0))
        page = PageItem(
            url=response.url,
            status=response.status,
            fetched_at=_utcnow(),
            content_type=_mime_type(response),
            base_url=response.url,
            ip=str(response.ip_address) if response.ip_address else None,
            depth=depth,
        )
        location = response.headers.get(b"Location")
        if response.status in REDIRECT_STATUSES and location:
            href = location.decode("utf-8", "replace")
            page.links = [RawLink(href=href, kind="redirect")]
            try:
                page.redirect_to = normalize_url_cached(href, response.url)
            except InvalidURL:
                stats.inc_value("backlinkbot/pages/bad_redirect")
            stats.inc_value("backlinkbot/pages/redirect")
        elif not 200 <= response.status < 300:
            stats.inc_value(f"backlinkbot/pages/status_{response.status}")
        elif not self._is_html(response):
            stats.inc_value("backlinkbot/pages/skipped_non_html")
        else:
            assert isinstance(response, TextResponse)
            extracted = extract_links(response.text, response.url, max_links=self.max_page_links)
            headers = response.headers.getlist(b"X-Robots-Tag")
            directives = parse_x_robots_tag(h.decode("latin-1") for h in headers)
            page.base_url = extracted.base_url
            page.nofollow = extracted.nofollow or directives.nofollow
            page.noindex = extracted.noindex or directives.noindex
            page.links = extracted.links
            if extracted.truncated:
                self._truncated(page, extracted.truncated)
            if directives.nofollow:
                for link in page.links:
                    link.nofollow = True
            stats.inc_value("backlinkbot/pages/html")
        stats.inc_value("backlinkbot/pages/fetched")
        # The links go to the frontier before the page goes down the item
        # pipeline: the page's lease is acknowledged once the page is stored
        # (or scraped, with BACKLINKBOT_LEASE_ACK=scraped, before the engine
        # resumes this generator), and only once its links are queued.
        if self.follow_links:
            yield from self._follow(page, response, depth + 1)
        yield page

    def _truncated(self, page: PageItem, left_out: int) -> None:
        """Record that the page had ``left_out`` links past the bound."""
        page.links_truncated = left_out
        self.crawler.stats.inc_value("backlinkbot/pages/links_truncated")
        self.crawler.stats.inc_value("backlinkbot/links_truncated", left_out)
        logger.info("%s has %d links more than the %d kept", page.url,
                    left_out, self.max_page_links)  # fmt: skip

    @staticmethod
    def _is_html(response: Response) -> bool:
        if not isinstance(response, TextResponse):
            return False
        mime = _mime_type(response)
        return mime in HTML_TYPES or (not mime and isinstance(response, HtmlResponse))

    def _follow(self, page: PageItem, response: Response, depth: int) -> Iterator[Request]:
        seen: set[str] = {page.url}
        base = page.base_url or page.url
        urls: list[str] = []
        for link in page.links:
            if link.kind not in FOLLOWED_KINDS:
                continue
            try:
                url = normalize_url_cached(link.href, base)
            except InvalidURL:
                continue
            if url not in seen:
                seen.add(url)
                urls.append(url)
        if not urls:
            return
        prototype = self._request(urls[0], depth=depth, priority=-depth)
        scheduler = self.crawler.engine.scheduler
        if not isinstance(scheduler, FrontierScheduler):
            # Another scheduler: plain requests, checked by TrapGuardMiddleware.
            for url in urls:
                yield prototype.replace(url=url)
            return
        hops = redirect_hops(response)
        if hops:
            prototype.meta[HOPS_KEY] = hops
        kept = self.traps.keep(urls, depth=depth, hops=hops)
        scheduler.enqueue_links(prototype, [urls[i] for i in kept])

    def on_error(self, failure: Failure) -> Iterator[PageItem]:
        request = failure.request  # type: ignore[attr-defined]
        stats = self.crawler.stats
        if failure.check(IgnoreRequest):  # type: ignore[no-untyped-call]
            # Forbidden by robots.txt or dropped by a policy middleware: never
            # fetched, so no page. The middleware counted it; the frontier
            # can let go of the request.
            self.crawler.signals.send_catch_log(request_done, request=request)
            return
        error = failure.type.__name__ if failure.type else "Error"
        stats.inc_value(f"backlinkbot/pages/error/{error}")
        stats.inc_value("backlinkbot/pages/errors")
        logger.debug("Fetching %s failed: %s", request.url, failure.getErrorMessage())
        yield PageItem(
            url=request.url,
            status=None,
            fetched_at=_utcnow(),
            error=error,
            depth=int(request.meta.get("depth", 0)),
        )

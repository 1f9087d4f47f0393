"""The ``backlinks`` spider: seeds from Redis, each response a page item.

Seeds are read from ``<prefix>:start_urls`` as with any scrapy-redis spider.
Every fetched URL gives one :class:`~backlinkbot.items.PageItem` whose links
are normalized once into edges; following them is the job of
:class:`~backlinkbot.spidermiddlewares.follow.FollowLinksMiddleware`.
docs/FRONTIER.md describes seeds, redirects and outages.
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

from backlinkbot.connection import CrawlKeys, RedisOutage, redis_client, worker_name
from backlinkbot.domains import registrable_domain
from backlinkbot.frontier.cluster import Cluster
from backlinkbot.frontier.leases import request_done
from backlinkbot.items import Edge, PageItem, RawLink
from backlinkbot.linkextraction import extract_links
from backlinkbot.robotstags import parse_x_robots_tag
from backlinkbot.traps import REDIRECT_STATUSES
from backlinkbot.urlnorm import InvalidURL, normalize_url_cached, url_host

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector
    from twisted.python.failure import Failure

__all__ = ["BacklinksSpider", "add_edges"]

logger = logging.getLogger(__name__)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
#: Seeds go before everything discovered; deeper pages after shallower ones.
SEED_PRIORITY = 1000


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _mime_type(response: Response) -> str:
    raw = response.headers.get(b"Content-Type") or b""
    return raw.split(b";", 1)[0].strip().decode("latin-1").lower()


def _is_html(response: Response) -> bool:
    if not isinstance(response, TextResponse):
        return False
    mime = _mime_type(response)
    return mime in HTML_TYPES or (not mime and isinstance(response, HtmlResponse))


def new_page(url: str, status: int | None, **fields: Any) -> PageItem:
    """A page item for ``url`` (normalized), with its host and domain."""
    host = url_host(url)
    return PageItem(url, status, _utcnow(), host=host, domain=registrable_domain(host), **fields)


def add_edges(page: PageItem, links: list[RawLink], base: str, stats: StatsCollector) -> None:
    """Normalize ``links`` (resolved against ``base``) into ``page.edges``,
    each once; the ones that fail are counted and left out."""
    for link in links:
        try:
            dst = normalize_url_cached(link.href, base)
        except InvalidURL as exc:
            page.links_rejected += 1
            stats.inc_value(f"backlinkbot/links_rejected/{exc.reason}")
            continue
        dst_host = url_host(dst)
        page.edges.append(Edge.of(
            link, src=page.url, dst=dst, src_host=page.host, dst_host=dst_host,
            src_domain=page.domain, dst_domain=registrable_domain(dst_host),
            nofollow=link.nofollow or page.nofollow,
        ))  # fmt: skip


class BacklinksSpider(RedisSpider):  # type: ignore[misc]
    name = "backlinks"

    cluster: Cluster
    outage: RedisOutage
    #: Set by scrapy-redis: the client's call that counts the waiting seeds.
    count_size: Any

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> BacklinksSpider:
        # Skip RedisSpider.from_crawler: it connects to Redis right away, but
        # spiders are built before add-ons finalize the settings (REDIS_URL
        # of the embedded default, key names). Connect when the spider opens.
        spider: BacklinksSpider = super(RedisSpider, cls).from_crawler(crawler, *args, **kwargs)
        spider.max_page_links = crawler.settings.getint("BACKLINKBOT_MAX_PAGE_LINKS")
        crawler.signals.connect(spider._on_opened, signal=signals.spider_opened)
        crawler.signals.connect(spider._on_closed, signal=signals.spider_closed)
        return spider

    def setup_redis(self, crawler: Crawler | None = None) -> None:
        crawler = crawler or self.crawler
        settings = crawler.settings
        keys = CrawlKeys.from_settings(settings)
        self.redis_key = keys.start_urls
        super().setup_redis(crawler)
        # scrapy-redis made its own client; the crawl's replaces it (it fails
        # fast: seeds are read with LRANGE + LTRIM, and sent twice after a
        # lost answer, the first batch would be lost). count_size is bound
        # to the client, so it is bound again.
        self.server = redis_client(settings)
        self.count_size = getattr(self.server, self.count_size.__name__)
        self.outage = RedisOutage(crawler.stats, logger)
        self.max_page_links = settings.getint("BACKLINKBOT_MAX_PAGE_LINKS")  # final now
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
        url, recrawl = text, False
        if text.startswith("{"):
            url, recrawl = self._seed_object(text)
        try:
            url = normalize_url_cached(url)
        except InvalidURL as exc:
            self.crawler.stats.inc_value(f"backlinkbot/seeds_rejected/{exc.reason}")
            logger.warning("Ignoring seed %r: %s", text[:200], exc.reason)
            return None
        return Request(
            url, callback=self.parse, errback=self.on_error, priority=SEED_PRIORITY,
            meta={"depth": 0}, dont_filter=recrawl,
        )  # fmt: skip

    @staticmethod
    def _seed_object(text: str) -> tuple[str, bool]:
        """``(url, recrawl)`` of a JSON seed; no URL when it does not parse."""
        try:
            seed = json.loads(text)
            return str(seed.get("url", "")), seed.get("recrawl") is True
        except (ValueError, AttributeError):
            return "", False

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

    def _on_closed(self, spider: Any, reason: str) -> None:
        self.cluster.leave()

    # -- responses -----------------------------------------------------------

    def parse(self, response: Response) -> Iterator[PageItem]:
        ip = response.ip_address
        page = new_page(
            response.url, response.status, content_type=_mime_type(response),
            ip=str(ip) if ip else None,
        )  # fmt: skip
        links, base = self._links(page, response)
        add_edges(page, links, base, self.crawler.stats)
        if response.status in REDIRECT_STATUSES and links:
            self._redirected(page)
        self.crawler.stats.inc_value("backlinkbot/pages/fetched")
        yield page

    def _links(self, page: PageItem, response: Response) -> tuple[list[RawLink], str]:
        """The links of ``response`` as found, and what they resolve
        against; counts what kind of page it is."""
        stats = self.crawler.stats
        location = response.headers.get(b"Location")
        if response.status in REDIRECT_STATUSES and location:
            # A redirect is a page whose only link is its target.
            stats.inc_value("backlinkbot/pages/redirect")
            return [RawLink(location.decode("utf-8", "replace"), "redirect")], response.url
        if not 200 <= response.status < 300:
            stats.inc_value(f"backlinkbot/pages/status_{response.status}")
        elif not _is_html(response):
            stats.inc_value("backlinkbot/pages/skipped_non_html")
        else:
            stats.inc_value("backlinkbot/pages/html")
            return self._html_links(page, response)
        return [], response.url

    def _html_links(self, page: PageItem, response: Response) -> tuple[list[RawLink], str]:
        """The links of an HTML page, at most ``BACKLINKBOT_MAX_PAGE_LINKS``;
        sets its page-level robots directives."""
        assert isinstance(response, TextResponse)
        extracted = extract_links(response.text, response.url, max_links=self.max_page_links)
        if extracted.truncated:
            self._truncated(page, extracted.truncated)
        headers = response.headers.getlist(b"X-Robots-Tag")
        directives = parse_x_robots_tag(h.decode("latin-1") for h in headers)
        page.nofollow = extracted.nofollow or directives.nofollow
        page.noindex = extracted.noindex or directives.noindex
        return extracted.links, extracted.base_url

    def _truncated(self, page: PageItem, left_out: int) -> None:
        """Record that the page had ``left_out`` links past the bound."""
        page.links_truncated = left_out
        self.crawler.stats.inc_value("backlinkbot/pages/links_truncated")
        self.crawler.stats.inc_value("backlinkbot/links_truncated", left_out)
        logger.info("%s has %d links more than the %d kept", page.url,
                    left_out, self.max_page_links)  # fmt: skip

    def _redirected(self, page: PageItem) -> None:
        if page.edges:
            page.redirect_to = page.edges[0].dst
        else:
            self.crawler.stats.inc_value("backlinkbot/pages/bad_redirect")

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
        yield new_page(request.url, None, error=error)

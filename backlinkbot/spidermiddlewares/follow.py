"""Following links: the one place discovered requests are checked for traps.

For each page item a callback yields, the distinct targets of its edges are
checked (:class:`~backlinkbot.traps.TrapGuard`) and handed to the scheduler
before the item goes on to the pipelines: as one batch when the scheduler
takes batches (``enqueue_links``, as the frontier's does), else as requests.
Requests a callback yields are checked too. docs/FRONTIER.md says why.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from scrapy import Request

from backlinkbot.items import PageItem
from backlinkbot.traps import HOPS_KEY, TrapGuard, redirect_hops

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = ["FOLLOWED_KINDS", "FollowLinksMiddleware", "targets"]

#: Link kinds that lead to another page worth fetching.
FOLLOWED_KINDS = frozenset({"a", "area", "canonical", "meta_refresh", "redirect"})

EnqueueLinks = Callable[[Request, list[str]], None]


def _depth(request_or_response: Request | Response) -> int:
    return int(request_or_response.meta.get("depth", 0))


def targets(page: PageItem) -> list[str]:
    """The URLs ``page`` leads to: its edges' targets, each once, in order,
    without the page itself."""
    urls = dict.fromkeys(e.dst for e in page.edges if e.kind in FOLLOWED_KINDS)
    urls.pop(page.url, None)
    return list(urls)


class FollowLinksMiddleware:
    def __init__(self, crawler: Crawler, guard: TrapGuard, *, follow: bool = True) -> None:
        self.crawler = crawler
        self.guard = guard
        #: ``BACKLINKBOT_FOLLOW_LINKS``: page items lead to requests.
        self.follow = follow

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FollowLinksMiddleware:
        guard = TrapGuard.from_crawler(crawler)
        return cls(crawler, guard, follow=crawler.settings.getbool("BACKLINKBOT_FOLLOW_LINKS"))

    # -- spider middleware interface (sync and async spider output) ----------

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        for obj in result:
            yield from self._output(response, obj)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        async for obj in result:
            for out in self._output(response, obj):
                yield out

    def _output(self, response: Response, obj: Any) -> Iterator[Any]:
        if isinstance(obj, Request):
            yield from self._checked(response, obj)
            return
        if self.follow and isinstance(obj, PageItem):
            # Before the page: its lease is acknowledged once it is stored,
            # and only once the links found on it are queued.
            yield from self._follow(response, obj)
        yield obj

    # -- following -----------------------------------------------------------

    def _checked(self, response: Response, request: Request) -> Iterator[Request]:
        """``request``, unless it leads into a trap."""
        hops = redirect_hops(response)
        if hops:
            request.meta[HOPS_KEY] = hops
        if self.guard.keep([request.url], depth=_depth(request), hops=hops):
            yield request

    def _follow(self, response: Response, page: PageItem) -> Iterator[Request]:
        """Hand the links of ``page`` to the scheduler, in one batch when it
        takes batches; else yield them as requests."""
        depth = _depth(response) + 1
        hops = redirect_hops(response)
        urls = self.guard.keep(targets(page), depth=depth, hops=hops)
        if not urls:
            return
        prototype = self._prototype(response, urls[0], depth, hops)
        enqueue = self._enqueue_links()
        if enqueue is not None:
            enqueue(prototype, urls)
            return
        yield prototype
        for url in urls[1:]:
            yield prototype.replace(url=url)

    @staticmethod
    def _prototype(response: Response, url: str, depth: int, hops: int) -> Request:
        """The request for a link of ``response``: the callbacks of the
        page's own request, shallower pages first."""
        meta: dict[str, Any] = {"depth": depth}
        if hops:
            meta[HOPS_KEY] = hops
        page = response.request
        assert page is not None  # a callback's response has its request
        return Request(
            url, callback=page.callback, errback=page.errback, priority=-depth, meta=meta
        )

    def _enqueue_links(self) -> EnqueueLinks | None:
        """The scheduler's batch enqueue, if it has one."""
        try:
            scheduler = self.crawler.engine.scheduler  # public since Scrapy 2.19
        except RuntimeError:  # no engine: a callback run outside a crawl
            return None
        enqueue: EnqueueLinks | None = getattr(scheduler, "enqueue_links", None)
        return enqueue

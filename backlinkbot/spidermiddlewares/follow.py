"""Following links: the one place discovered requests are checked for traps.

For each page item a callback yields, the distinct targets of its edges are
checked (:class:`~backlinkbot.traps.TrapGuard`) and handed to the scheduler
before the item goes on to the pipelines: as one batch when the scheduler
takes batches (``enqueue_links``, as the frontier's does), else as requests.
Requests a callback yields are checked too, and links out of the crawl's
scope (:mod:`backlinkbot.scope`) are left out. docs/FRONTIER.md says why.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from scrapy import Request

from backlinkbot.items import PageItem
from backlinkbot.scope import SCOPE_HOPS_KEY, CrawlScope
from backlinkbot.traps import HOPS_KEY, REDIRECT_STATUSES, TrapGuard, redirect_hops

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


def _scope_hops(request_or_response: Request | Response) -> int:
    return int(request_or_response.meta.get(SCOPE_HOPS_KEY, 0))


class FollowLinksMiddleware:
    def __init__(
        self, crawler: Crawler, guard: TrapGuard, *, follow: bool = True,
        scope: CrawlScope | None = None,
    ) -> None:  # fmt: skip
        self.crawler = crawler
        self.guard = guard
        #: ``BACKLINKBOT_FOLLOW_LINKS``: page items lead to requests.
        self.follow = follow
        self.scope = scope

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FollowLinksMiddleware:
        guard = TrapGuard.from_crawler(crawler)
        follow = crawler.settings.getbool("BACKLINKBOT_FOLLOW_LINKS")
        return cls(crawler, guard, follow=follow, scope=CrawlScope.from_crawler(crawler))

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
        if not self.guard.keep([request.url], depth=_depth(request), hops=hops):
            return
        if self.scope is not None:
            out = self.scope.hops_to(request.url, _scope_hops(response))
            if out is None:
                self.crawler.stats.inc_value("backlinkbot/scope/out_of_scope")
                return
            if out:
                request.meta[SCOPE_HOPS_KEY] = out
        yield request

    def _follow(self, response: Response, page: PageItem) -> Iterator[Request]:
        """Hand the links of ``page`` to the scheduler, in one batch when it
        takes batches; else yield them as requests."""
        depth = _depth(response) + 1
        hops = redirect_hops(response)
        urls = self.guard.keep(targets(page), depth=depth, hops=hops)
        for out, group in self._scoped(response, urls, hops).items():
            prototype = self._prototype(response, group[0], depth, hops, out)
            enqueue = self._enqueue_links()
            if enqueue is not None:
                enqueue(prototype, group)
                continue
            yield prototype
            for url in group[1:]:
                yield prototype.replace(url=url)

    def _scoped(self, response: Response, urls: list[str], hops: int) -> dict[int, list[str]]:
        """``urls`` within the crawl's scope, by hops out of it."""
        if self.scope is None:
            return {0: urls} if urls else {}
        # On a seed's redirect chain (each hop one deeper): a seed too.
        chain = response.status in REDIRECT_STATUSES and _depth(response) == hops - 1
        if chain:
            for url in urls:
                self.scope.adopt(url)
        return self.scope.split(urls, _scope_hops(response), redirect=chain)

    @staticmethod
    def _prototype(response: Response, url: str, depth: int, hops: int, out: int = 0) -> Request:
        """The request for a link of ``response``: the callbacks of the
        page's own request, shallower pages first; ``out`` links out of
        scope."""
        meta: dict[str, Any] = {"depth": depth}
        if hops:
            meta[HOPS_KEY] = hops
        if out:
            meta[SCOPE_HOPS_KEY] = out
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

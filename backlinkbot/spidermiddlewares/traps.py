"""Traps and budgets on the requests a spider yields (:mod:`backlinkbot.traps`).

The ``backlinks`` spider checks the links it follows itself, before they are
queued as a batch; this middleware applies the same checks, with the same
settings and counters, to the requests of any other spider run on the
frontier (the per-host budget is the frontier queue's). A redirect response
(3xx) passes its hop count plus one on to the requests it yields; any other
response starts a new chain.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from scrapy import Request

from backlinkbot.traps import HOPS_KEY, TrapGuard, redirect_hops, repeated_path

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = ["HOPS_KEY", "TrapGuardMiddleware", "repeated_path"]


class TrapGuardMiddleware:
    def __init__(self, guard: TrapGuard) -> None:
        self.guard = guard
        self.stats = guard.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TrapGuardMiddleware:
        return cls(TrapGuard.from_crawler(crawler))

    def _filter(self, response: Response | None, requests: list[Request]) -> Iterator[Request]:
        hops = redirect_hops(response) if response is not None else 0
        for request in requests:
            if hops:
                request.meta[HOPS_KEY] = hops
        kept = self.guard.keep_requests(requests)
        for i in kept:
            yield requests[i]

    # -- spider middleware interface (sync and async spider output) ----------

    def process_spider_output(
        self, response: Response | None, result: Iterable[Any]
    ) -> Iterator[Any]:
        requests: list[Request] = []
        for obj in result:
            if isinstance(obj, Request):
                requests.append(obj)
            else:
                yield obj
        yield from self._filter(response, requests)

    async def process_spider_output_async(
        self, response: Response | None, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        requests: list[Request] = []
        async for obj in result:
            if isinstance(obj, Request):
                requests.append(obj)
            else:
                yield obj
        for request in self._filter(response, requests):
            yield request

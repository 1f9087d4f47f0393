"""Every request that waits for a host's robots.txt is checked against it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler

from backlinkbot.downloadermiddlewares.robotstxt import ROBOTS_WAITED, RobotsTxtMiddleware

ROBOTS = b"User-agent: backlinkbot\nDisallow: /private/\n\nUser-agent: *\nDisallow: /\n"


class _SlowEngine:
    """Answers robots.txt after a delay, so that many requests wait for it."""

    async def download_async(self, request: Request) -> TextResponse:
        await asyncio.sleep(0.05)
        return TextResponse(request.url, body=ROBOTS)


@pytest.mark.parametrize("waiting", [1, 2, 10])
def test_all_waiting_requests_are_checked(waiting: int) -> None:
    crawler = get_crawler(
        settings_dict={"ROBOTSTXT_OBEY": True, "ROBOTSTXT_USER_AGENT": "backlinkbot"}
    )
    crawler.engine = _SlowEngine()  # type: ignore[assignment]
    mw = RobotsTxtMiddleware.from_crawler(crawler)

    async def check(url: str) -> Any:
        try:
            await mw.process_request(Request(url))
        except IgnoreRequest:
            return "forbidden"
        return "allowed"

    async def main() -> list[Any]:
        urls = [f"http://a.example/private/{i}" for i in range(waiting)]
        return await asyncio.gather(*(check(u) for u in [*urls, "http://a.example/ok"]))

    results = asyncio.run(main())
    assert results == ["forbidden"] * waiting + ["allowed"]


def test_requests_that_waited_for_robots_txt_are_marked() -> None:
    """Those that waited for the load (the one that started it and those
    that came while it ran) say so, for per-IP spacing; later ones do not."""
    crawler = get_crawler(settings_dict={
        "ROBOTSTXT_OBEY": True, "ROBOTSTXT_USER_AGENT": "backlinkbot",
        "BACKLINKBOT_ROBOTS_CACHE_SECONDS": 3600,
    })  # fmt: skip
    crawler.engine = _SlowEngine()  # type: ignore[assignment]
    mw = RobotsTxtMiddleware.from_crawler(crawler)
    first, during, later = (Request(f"http://a.example/{i}") for i in range(3))

    async def main() -> None:
        await asyncio.gather(mw.process_request(first), mw.process_request(during))
        await mw.process_request(later)

    asyncio.run(main())
    assert first.meta.get(ROBOTS_WAITED) and during.meta.get(ROBOTS_WAITED)
    assert ROBOTS_WAITED not in later.meta

"""The ``backlinks`` spider's callbacks on fake responses: one page item per
fetched URL, its links normalized once into edges."""

from __future__ import annotations

from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.utils.test import get_crawler
from twisted.internet.error import TimeoutError as TCPTimeoutError
from twisted.python.failure import Failure

from backlinkbot import defaults
from backlinkbot.frontier.leases import request_done
from backlinkbot.items import PageItem
from backlinkbot.spiders.backlinks import BacklinksSpider

URL = "http://www.example.co.uk/a/"


@pytest.fixture
def spider() -> BacklinksSpider:
    settings = {name: getattr(defaults, name) for name in defaults.__all__}
    return BacklinksSpider.from_crawler(get_crawler(BacklinksSpider, settings))


def request(spider: BacklinksSpider, url: str = URL) -> Request:
    return Request(url, callback=spider.parse, errback=spider.on_error, meta={"depth": 2})


def html(spider: BacklinksSpider, body: str, status: int = 200, **headers: str) -> HtmlResponse:
    return HtmlResponse(
        URL, status=status, body=body.encode(), encoding="utf-8",
        headers={"Content-Type": "text/html; charset=utf-8", **headers},
        request=request(spider),
    )  # fmt: skip


def parse(spider: BacklinksSpider, response: Response) -> PageItem:
    (page,) = list(spider.parse(response))
    assert isinstance(page, PageItem)
    return page


def stats(spider: BacklinksSpider) -> dict[str, Any]:
    return spider.crawler.stats.get_stats()  # type: ignore[union-attr]


def test_an_html_page_gives_its_links_as_normalized_edges(spider: BacklinksSpider) -> None:
    page = parse(spider, html(spider, (
        '<a href="../b?utm_source=x&z=1&a=2#frag">B</a>'
        '<a href="//Alice.GitHub.io:80/" rel="ugc">Alice</a>'
        '<a href="mailto:a@b.c">mail</a><a href="/b?z=1&a=2">B again</a>'
    )))  # fmt: skip
    assert (page.url, page.status, page.content_type) == (URL, 200, "text/html")
    assert (page.host, page.domain) == ("www.example.co.uk", "example.co.uk")
    # Every link that normalizes, in document order (merged later, by the
    # dedup pipeline); the mailto link is counted and left out.
    assert [(e.dst, e.anchor) for e in page.edges] == [
        ("http://www.example.co.uk/b?a=2&z=1", "B"),
        ("http://alice.github.io/", "Alice"),
        ("http://www.example.co.uk/b?a=2&z=1", "B again"),
    ]
    first, alice, _ = page.edges
    assert (first.src, first.src_host, first.src_domain) == (URL, page.host, page.domain)
    assert not first.external and alice.external and alice.ugc
    assert (alice.dst_host, alice.dst_domain) == ("alice.github.io", "alice.github.io")
    assert page.links_rejected == 1 and page.redirect_to is None
    assert not page.nofollow and not any(e.nofollow for e in page.edges)
    got = stats(spider)
    assert got["backlinkbot/links_rejected/scheme"] == 1
    assert got["backlinkbot/pages/html"] == got["backlinkbot/pages/fetched"] == 1


def test_links_resolve_against_the_base_href(spider: BacklinksSpider) -> None:
    page = parse(spider, html(spider, '<base href="http://cdn.example.org/dir/"><a href="x">x</a>'))
    assert [e.dst for e in page.edges] == ["http://cdn.example.org/dir/x"]


@pytest.mark.parametrize(
    ("meta", "headers", "nofollow", "noindex"),
    [
        ('<meta name="robots" content="nofollow">', {}, True, False),
        ('<meta name="backlinkbot" content="none">', {}, True, True),
        ("", {"X-Robots-Tag": "nofollow"}, True, False),
        ("", {"X-Robots-Tag": "backlinkbot: noindex, nofollow"}, True, True),
        ("", {"X-Robots-Tag": "otherbot: nofollow"}, False, False),
        ('<meta name="robots" content="noindex">', {}, False, True),
    ],
)
def test_page_level_robots_directives_apply_to_every_edge(
    spider: BacklinksSpider, meta: str, headers: dict[str, str], nofollow: bool, noindex: bool
) -> None:
    body = f'{meta}<link rel="canonical" href="/c"><a href="/a" rel="sponsored">a</a>'
    page = parse(spider, html(spider, body, **headers))
    assert (page.nofollow, page.noindex) == (nofollow, noindex)
    assert [e.kind for e in page.edges] == ["canonical", "a"]
    assert [e.nofollow for e in page.edges] == [nofollow, nofollow]
    assert page.edges[1].sponsored  # the link's own flags stay


@pytest.mark.parametrize(
    ("location", "target"),
    [
        ("/new?b=2&a=1", "http://www.example.co.uk/new?a=1&b=2"),
        ("http://B.example/", "http://b.example/"),
    ],
)
def test_a_redirect_is_a_page_whose_one_edge_is_its_target(
    spider: BacklinksSpider, location: str, target: str
) -> None:
    response = Response(URL, status=301, headers={"Location": location}, request=request(spider))
    page = parse(spider, response)
    assert page.redirect_to == target
    assert [(e.kind, e.dst) for e in page.edges] == [("redirect", target)]
    assert stats(spider)["backlinkbot/pages/redirect"] == 1


def test_a_redirect_to_a_bad_url_is_counted(spider: BacklinksSpider) -> None:
    response = Response(
        URL, status=302, headers={"Location": "http://[::1"}, request=request(spider)
    )
    page = parse(spider, response)
    assert page.redirect_to is None and not page.edges and page.links_rejected == 1
    assert stats(spider)["backlinkbot/pages/bad_redirect"] == 1


@pytest.mark.parametrize("status", [404, 410, 500, 503, 304])
def test_error_statuses_give_a_page_without_links(spider: BacklinksSpider, status: int) -> None:
    page = parse(spider, html(spider, '<a href="/a">a</a>', status=status))
    assert page.status == status and not page.edges and not page.links_rejected
    assert stats(spider)[f"backlinkbot/pages/status_{status}"] == 1


@pytest.mark.parametrize(
    "response",
    [
        lambda r: TextResponse(URL, body=b'<a href="/a">', headers={"Content-Type": "text/plain"},
                               encoding="utf-8", request=r),
        lambda r: Response(URL, body=b"%PDF-1.7", headers={"Content-Type": "application/pdf"},
                           request=r),
    ],
)  # fmt: skip
def test_non_html_responses_give_a_page_without_links(
    spider: BacklinksSpider, response: Any
) -> None:
    page = parse(spider, response(request(spider)))
    assert page.status == 200 and not page.edges
    assert stats(spider)["backlinkbot/pages/skipped_non_html"] == 1


def test_a_failed_fetch_is_a_page_with_its_error(spider: BacklinksSpider) -> None:
    failure = Failure(TCPTimeoutError())
    failure.request = request(spider)  # type: ignore[attr-defined]
    (page,) = list(spider.on_error(failure))
    assert (page.url, page.status, page.error) == (URL, None, "TimeoutError")
    assert (page.host, page.domain) == ("www.example.co.uk", "example.co.uk")
    got = stats(spider)
    assert got["backlinkbot/pages/error/TimeoutError"] == got["backlinkbot/pages/errors"] == 1


def test_a_request_ignored_before_its_fetch_gives_no_page(spider: BacklinksSpider) -> None:
    done: list[str] = []
    spider.crawler.signals.connect(
        lambda request, **kw: done.append(request.url), signal=request_done, weak=False
    )
    failure = Failure(IgnoreRequest("Forbidden by robots.txt"))
    failure.request = request(spider)  # type: ignore[attr-defined]
    assert list(spider.on_error(failure)) == []
    assert done == [URL]  # the frontier lets go of its lease

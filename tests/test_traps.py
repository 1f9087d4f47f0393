"""Traps and budgets on the spider's requests."""

from __future__ import annotations

from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from backlinkbot import defaults
from backlinkbot.spidermiddlewares.traps import HOPS_KEY, TrapGuardMiddleware, repeated_path


@pytest.mark.parametrize(
    ("path", "repeats", "trap"),
    [
        ("/a/a/a/", 3, True),
        ("/a/a/", 3, False),
        ("/x/a/b/a/b/a/b/y", 3, True),
        ("/a/b/c/a/b/c/a/b/c/", 3, True),
        ("/a/b/c/d/a/b/c/d/a/b/c/d/", 3, False),  # runs longer than 3 segments
        ("/2024/01/01/news", 3, False),
        ("/docs/guide/docs/guide", 3, False),
        ("/", 3, False),
        ("/a/a/a/a/a", 0, False),
    ],
)
def test_repeated_path(path: str, repeats: int, trap: bool) -> None:
    assert repeated_path(path, repeats) is trap


def _mw(**settings: Any) -> TrapGuardMiddleware:
    base = {name: getattr(defaults, name) for name in defaults.__all__}
    return TrapGuardMiddleware.from_crawler(get_crawler(settings_dict={**base, **settings}))


def _run(
    mw: TrapGuardMiddleware,
    requests: list[Request],
    status: int = 200,
    meta: dict[str, Any] | None = None,
) -> list[Any]:
    response = HtmlResponse(
        "http://a.example/", status=status, request=Request("http://a.example/", meta=meta or {})
    )
    return list(mw.process_spider_output(response, ["item", *requests]))


@pytest.mark.parametrize(
    ("settings", "url", "meta", "kind"),
    [
        ({"BACKLINKBOT_MAX_URL_LENGTH": 40}, "http://a.example/" + "x" * 30, {}, "url_too_long"),
        ({"BACKLINKBOT_MAX_DEPTH": 3}, "http://a.example/deep", {"depth": 4}, "too_deep"),
        ({"BACKLINKBOT_MAX_DEPTH": 3}, "http://a.example/ok", {"depth": 3}, None),
        ({}, "http://a.example/t/a/a/a/", {}, "repeated_path"),
        ({}, "http://a.example/fine/path", {}, None),
    ],
)
def test_single_request_checks(
    settings: dict[str, Any], url: str, meta: dict[str, Any], kind: str | None
) -> None:
    mw = _mw(**settings)
    out = _run(mw, [Request(url, meta=meta)])
    assert out[0] == "item"  # items always pass
    if kind is None:
        assert len(out) == 2
    else:
        assert len(out) == 1
        assert mw.stats.get_value(f"backlinkbot/traps/{kind}") == 1


def test_query_variations_are_bounded_per_path() -> None:
    mw = _mw(BACKLINKBOT_TRAP_QUERY_VARIANTS=3)
    requests = [Request(f"http://a.example/cal?d={i}") for i in range(6)]
    requests += [Request("http://a.example/cal?d=0"), Request("http://a.example/other?d=9")]
    out = _run(mw, requests)
    assert [r.url for r in out[1:]] == [
        "http://a.example/cal?d=0", "http://a.example/cal?d=1", "http://a.example/cal?d=2",
        "http://a.example/cal?d=0", "http://a.example/other?d=9",
    ]  # fmt: skip
    assert mw.stats.get_value("backlinkbot/traps/query_variants") == 3


@pytest.mark.parametrize(("hops", "kept"), [(0, True), (3, True), (4, False)])
def test_redirect_hops_are_counted_and_bounded(hops: int, kept: bool) -> None:
    mw = _mw(BACKLINKBOT_MAX_REDIRECTS=4)
    out = _run(
        mw, [Request("http://a.example/next")], status=302, meta={HOPS_KEY: hops} if hops else {}
    )
    if kept:
        assert out[1].meta[HOPS_KEY] == hops + 1
    else:
        assert len(out) == 1
        assert mw.stats.get_value("backlinkbot/traps/redirect_chain") == 1


def test_links_of_a_normal_page_start_a_new_chain() -> None:
    mw = _mw()
    out = _run(mw, [Request("http://a.example/x")], status=200, meta={HOPS_KEY: 4})
    assert HOPS_KEY not in out[1].meta

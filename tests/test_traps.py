"""Trap checks on the URLs a page leads to."""

from __future__ import annotations

from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from backlinkbot import defaults
from backlinkbot.traps import HOPS_KEY, TrapGuard, redirect_hops, repeated_path


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


def _guard(**settings: Any) -> TrapGuard:
    base = {name: getattr(defaults, name) for name in defaults.__all__}
    return TrapGuard.from_crawler(get_crawler(settings_dict={**base, **settings}))


@pytest.mark.parametrize(
    ("settings", "url", "depth", "kind"),
    [
        ({"BACKLINKBOT_MAX_URL_LENGTH": 40}, "http://a.example/" + "x" * 30, 0, "url_too_long"),
        ({"BACKLINKBOT_MAX_DEPTH": 3}, "http://a.example/deep", 4, "too_deep"),
        ({"BACKLINKBOT_MAX_DEPTH": 3}, "http://a.example/ok", 3, None),
        ({"DEPTH_LIMIT": 2}, "http://a.example/deep", 3, "too_deep"),
        ({}, "http://a.example/t/a/a/a/", 0, "repeated_path"),
        ({}, "http://a.example/fine/path", 0, None),
        ({"BACKLINKBOT_TRAP_PATH_REPEATS": 0}, "http://a.example/t/a/a/a/", 0, None),
    ],
)
def test_single_url_checks(
    settings: dict[str, Any], url: str, depth: int, kind: str | None
) -> None:
    guard = _guard(**settings)
    kept = guard.keep([url], depth=depth)
    assert kept == ([url] if kind is None else [])
    if kind is not None:
        assert guard.stats.get_value(f"backlinkbot/traps/{kind}") == 1


def test_query_variations_are_bounded_per_path() -> None:
    guard = _guard(BACKLINKBOT_TRAP_QUERY_VARIANTS=3)
    urls = [f"http://a.example/cal?d={i}" for i in range(6)]
    urls += ["http://a.example/cal?d=0", "http://a.example/other?d=9"]
    assert guard.keep(urls) == [
        "http://a.example/cal?d=0", "http://a.example/cal?d=1", "http://a.example/cal?d=2",
        "http://a.example/cal?d=0", "http://a.example/other?d=9",
    ]  # fmt: skip
    assert guard.stats.get_value("backlinkbot/traps/query_variants") == 3


@pytest.mark.parametrize(("hops", "kept"), [(0, True), (4, True), (5, False)])
def test_redirect_chains_are_bounded(hops: int, kept: bool) -> None:
    guard = _guard(BACKLINKBOT_MAX_REDIRECTS=4)
    assert guard.keep(["http://a.example/next"], hops=hops) == (
        ["http://a.example/next"] if kept else []
    )


@pytest.mark.parametrize(("status", "meta", "hops"), [(302, {HOPS_KEY: 3}, 4), (301, {}, 1),
                                                      (200, {HOPS_KEY: 4}, 0)])  # fmt: skip
def test_a_redirect_adds_a_hop_and_any_other_response_starts_a_chain(
    status: int, meta: dict[str, Any], hops: int
) -> None:
    response = HtmlResponse(
        "http://a.example/", status=status, request=Request("http://a.example/", meta=meta)
    )
    assert redirect_hops(response) == hops

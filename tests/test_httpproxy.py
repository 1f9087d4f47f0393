"""The proxy middleware decides as Scrapy's does, with ``no_proxy`` read once."""

from __future__ import annotations

import os
from unittest import mock

import pytest
from scrapy import Request
from scrapy.downloadermiddlewares.httpproxy import HttpProxyMiddleware as ScrapyHttpProxy

from backlinkbot.downloadermiddlewares.httpproxy import HttpProxyMiddleware

ENVIRONMENTS = [
    {},
    {"http_proxy": "http://proxy.internal:3128"},
    {"http_proxy": "http://user:pa%20ss@proxy.internal:3128", "https_proxy": "http://tls:8080"},
    {"http_proxy": "http://proxy.internal:3128", "no_proxy": "intranet.example, .corp.example"},
    {"http_proxy": "http://proxy.internal:3128", "NO_PROXY": "*"},
    {"http_proxy": "http://proxy.internal:3128", "no_proxy": "example.com:8080,LOCALHOST"},
    {"https_proxy": "http://proxy.internal:3128", "no_proxy": "Intranet.Example"},
]
URLS = [
    "http://example.com/",
    "http://example.com:8080/a",
    "https://example.com/",
    "http://intranet.example/x",
    "http://www.intranet.example/x",
    "https://INTRANET.example/x",
    "http://a.corp.example/",
    "http://corp.example/",
    "http://localhost/",
    "http://[::1]:8080/",
    "ftp://example.com/f",
]
METAS = [{}, {"proxy": None}, {"proxy": "http://other:1"}]


def _decide(middleware: object, url: str, meta: dict[str, object]) -> tuple[object, ...]:
    request = Request(url, meta=dict(meta))
    middleware.process_request(request)  # type: ignore[attr-defined]
    return (
        request.meta.get("proxy"),
        request.meta.get("_scheme_proxy"),
        request.meta.get("_auth_proxy"),
        request.headers.get(b"Proxy-Authorization"),
    )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_same_decisions_as_scrapy(environment: dict[str, str]) -> None:
    with mock.patch.dict(os.environ, environment, clear=True):
        ours, scrapys = HttpProxyMiddleware(), ScrapyHttpProxy()
        for url in URLS:
            for meta in METAS:
                expected = _decide(scrapys, url, meta)
                assert _decide(ours, url, meta) == expected, (url, meta)
                # Asked again, from the remembered answer.
                assert _decide(ours, url, meta) == expected, (url, meta)


def test_environment_is_read_once() -> None:
    with mock.patch.dict(os.environ, {"http_proxy": "http://proxy.internal:3128"}, clear=True):
        middleware = HttpProxyMiddleware()
        with mock.patch("urllib.request.getproxies_environment") as scan:
            for _ in range(3):
                assert _decide(middleware, "http://example.com/", {})[0] == (
                    "http://proxy.internal:3128"
                )
            scan.assert_not_called()
        os.environ["no_proxy"] = "example.com"  # set after start: not seen
        assert _decide(middleware, "http://example.com/", {})[0] == "http://proxy.internal:3128"
    assert middleware.bypass.cache_info().hits >= 2


def test_enabled_in_place_of_scrapys() -> None:
    from backlinkbot import settings

    middlewares = settings.DOWNLOADER_MIDDLEWARES
    assert middlewares["scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware"] is None
    assert middlewares["backlinkbot.downloadermiddlewares.httpproxy.HttpProxyMiddleware"] == 750

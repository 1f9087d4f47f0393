"""Forward proxies from the environment, with ``no_proxy`` read once.

Scrapy's ``HttpProxyMiddleware`` asks ``urllib.proxy_bypass`` about
``no_proxy`` for every request, which decodes the whole process environment
each time. This subclass reads ``no_proxy`` with the proxies when it starts
and remembers the answer per host name; it decides what Scrapy's decides.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING
from urllib.request import (  # type: ignore[attr-defined]  # not in typeshed
    getproxies_environment,
    proxy_bypass_environment,
)

from scrapy.downloadermiddlewares.httpproxy import (
    HttpProxyMiddleware as _ScrapyHttpProxyMiddleware,
)
from scrapy.utils.httpobj import urlparse_cached

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

__all__ = ["HttpProxyMiddleware"]

#: Host names whose ``no_proxy`` answer is remembered.
BYPASS_CACHE_HOSTS = 65536


class HttpProxyMiddleware(_ScrapyHttpProxyMiddleware):
    def __init__(self, auth_encoding: str | None = "latin-1") -> None:
        super().__init__(auth_encoding)
        environment = getproxies_environment()
        self.bypass = functools.lru_cache(maxsize=BYPASS_CACHE_HOSTS)(
            functools.partial(_bypass, environment=environment)
        )

    def process_request(  # type: ignore[override]  # no deprecated spider argument
        self, request: Request
    ) -> Request | Response | None:
        if "proxy" in request.meta or not self.proxies:
            return super().process_request(request)
        parsed = urlparse_cached(request)
        scheme = parsed.scheme
        proxied = scheme in self.proxies and (
            # 'no_proxy' applies to http(s) only, as in Scrapy.
            scheme not in ("http", "https")
            or bool(parsed.hostname and not self.bypass(parsed.hostname))
        )
        if proxied:
            creds, proxy_url = self.proxies[scheme]
            self._set_proxy_and_creds(request, proxy_url, creds, scheme)
        else:
            self._set_proxy_and_creds(request, None, None, None)
        return None


def _bypass(host: str, *, environment: dict[str, str]) -> bool:
    """Whether ``no_proxy`` (as read at start) exempts ``host``."""
    return bool(proxy_bypass_environment(host, environment))

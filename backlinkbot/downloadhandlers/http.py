"""Scrapy's HTTP(S) download handler, keeping more idle connections (for a
forward proxy), reusing its Twisted agents and plain-http endpoints, and
keeping the frontier's spacing for requests sent late
(:meth:`backlinkbot.frontier.spacing.Spacing.before_send`), just before a
request is handed to its agent and again once a new connection is open.

Every connection's address comes from the crawl's resolver
(:class:`~backlinkbot.safety.resolver.SafeResolver`), asked with the port the
connection is for, so that only the connection to a configured proxy is exempt
from the SSRF policy; a refused connection fails with
:class:`~backlinkbot.safety.resolver.RefusedAddressError`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _ScrapyAgent,
    _TunnelingAgent,
)
from scrapy.exceptions import CannotResolveHostError, ResponseDataLossError
from scrapy.utils._download_handlers import get_dataloss_msg, wrap_twisted_exceptions
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from scrapy.utils.deprecate import warn_on_deprecated_spider_attribute
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.url import add_http_if_no_scheme
from twisted.web.client import HTTPConnectionPool

from backlinkbot.frontier.spacing import Spacing, has_turn
from backlinkbot.safety.resolver import RefusedAddressError, SafeResolver

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    from scrapy.core.downloader.handlers.http11 import _TunnelingTCP4ClientEndpoint
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import IReactorTime, IStreamClientEndpoint
    from twisted.internet.protocol import Factory, Protocol
    from twisted.web._newclient import HTTP11ClientProtocol
    from twisted.web.client import URI, Agent

__all__ = ["PooledHTTPDownloadHandler"]

logger = logging.getLogger(__name__)

#: Distinct agents kept; beyond that (many proxies or timeouts) the cache
#: starts over. The same for each agent's plain-http endpoints (hosts).
MAX_AGENTS = 256
MAX_ENDPOINTS = 4096


def _agent_key(request: Request, timeout: float) -> tuple[Any, ...]:
    """Everything Scrapy's ``_ScrapyAgent._get_agent`` reads of a request."""
    proxy = request.meta.get("proxy")
    https = urlparse_cached(request).scheme == "https"
    tunnel_auth = request.headers.get(b"Proxy-Authorization") if proxy and https else None
    return (request.meta.get("bindaddress"), proxy, https, tunnel_auth, timeout)


class _ReusingAgent(_ScrapyAgent):
    """Scrapy's per-download agent, taking its Twisted agent from a cache
    (a Twisted agent holds only the inputs in its key and the shared pool)."""

    def __init__(self, *, agents: dict[tuple[Any, ...], Agent], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._agents = agents

    def _get_agent(self, request: Request, timeout: float) -> Agent:
        key = _agent_key(request, timeout)
        agent = self._agents.get(key)
        if agent is None:
            if len(self._agents) >= MAX_AGENTS:
                self._agents.clear()
            agent = self._agents[key] = super()._get_agent(request, timeout)
            resolver = _safe_resolver()
            if not isinstance(agent, _TunnelingAgent):
                _reuse_http_endpoints(agent)
            elif resolver is not None:
                _resolve_tunnel_proxy(agent, resolver)
        return agent


def _safe_resolver() -> SafeResolver | None:
    """The reactor's name resolver, when it is the crawl's SafeResolver."""
    from twisted.internet import reactor

    resolver = getattr(reactor, "nameResolver", None)
    return resolver if isinstance(resolver, SafeResolver) else None


def _connection_target(request: Request) -> tuple[str, int]:
    """The host and port a request's connection goes to: its proxy's, or
    its URL's."""
    proxy = request.meta.get("proxy")
    parsed = urlsplit(add_http_if_no_scheme(proxy)) if proxy else urlparse_cached(request)
    return parsed.hostname or "", parsed.port or (443 if parsed.scheme == "https" else 80)


def _resolve_tunnel_proxy(agent: _TunnelingAgent, resolver: SafeResolver) -> None:
    """Make ``agent``'s tunnels connect to the address ``resolver`` gives for
    the proxy's host and port."""
    build: Callable[[URI], _TunnelingTCP4ClientEndpoint] = agent._getEndpoint

    def endpoint(uri: URI) -> _TunnelingTCP4ClientEndpoint:
        tunnel = build(uri)
        connect = tunnel.connect

        def connect_to_address(factory: Factory) -> Deferred[Protocol]:
            def connect_to(address: str) -> Deferred[Protocol]:
                tunnel._host = address  # connectTCP does not look an address up
                return connect(factory)

            return resolver.address(tunnel._host, tunnel._port).addCallback(connect_to)

        tunnel.connect = connect_to_address  # type: ignore[method-assign,assignment]
        return tunnel

    agent._getEndpoint = endpoint  # type: ignore[method-assign]


def _reuse_http_endpoints(agent: Agent) -> None:
    """Make ``agent`` build one endpoint per plain-http scheme, host and port
    (the host name is not IDNA-encoded anew for every request)."""
    build: Callable[[URI], IStreamClientEndpoint] = agent._getEndpoint
    endpoints: dict[tuple[bytes, bytes, int], IStreamClientEndpoint] = {}

    def endpoint(uri: URI) -> IStreamClientEndpoint:
        if uri.scheme != b"http":
            return build(uri)  # TLS endpoints are built per request, as Scrapy does
        key = (uri.scheme, uri.host, uri.port)
        found = endpoints.get(key)
        if found is None:
            if len(endpoints) >= MAX_ENDPOINTS:
                endpoints.clear()
            found = endpoints[key] = build(uri)
        return found

    agent._getEndpoint = endpoint  # type: ignore[method-assign]


class _SpacingConnectionPool(HTTPConnectionPool):
    """Twisted's connection pool, looking at the spacing of the request a
    new connection is opened for once it is open (``sending``: the request
    the handler is handing to its agent, which asks the pool for a
    connection at once)."""

    def __init__(self, reactor: IReactorTime, spacing: Spacing) -> None:
        super().__init__(reactor, persistent=True)  # type: ignore[no-untyped-call]
        self.spacing = spacing
        self.sending: Request | None = None

    def _newConnection(
        self, key: Hashable, endpoint: IStreamClientEndpoint
    ) -> Deferred[HTTP11ClientProtocol]:
        # Also called later, when a kept connection turns out closed and
        # Twisted retries on a new one: no request is being handed out then.
        request, self.sending = self.sending, None
        opening = super()._newConnection(key, endpoint)
        if request is None or not has_turn(request):
            return opening

        async def spaced(connection: HTTP11ClientProtocol) -> HTTP11ClientProtocol:
            try:
                # Opening a connection can take a while on a loaded machine
                # or to a distant server: look at the spacing again.
                await self.spacing.before_send(request)
            except BaseException:
                # Cancelled (the download timed out while it waited): the
                # connection was never used and goes back to no pool.
                connection.abort()  # type: ignore[no-untyped-call]
                raise
            return connection

        return opening.addCallback(lambda connection: deferred_from_coro(spaced(connection)))


class PooledHTTPDownloadHandler(HTTP11DownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        from twisted.internet import reactor

        settings = crawler.settings
        self._spacing = Spacing.from_crawler(crawler)
        pool = _SpacingConnectionPool(reactor, self._spacing)
        pool._factory = self._pool._factory
        # Through a forward proxy every request goes to one server; crawling
        # directly, a host never has more than its own limit in flight.
        pool.maxPersistentPerHost = max(
            settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"),
            settings.getint("CONCURRENT_REQUESTS"),
        )
        self._pool: _SpacingConnectionPool = pool
        self._agents: dict[tuple[Any, ...], Agent] = {}

    async def download_request(self, request: Request) -> Response:
        # After every downloader middleware and Scrapy's download slot.
        await self._spacing.before_send(request)
        # As HTTP11DownloadHandler.download_request, with the reusing agent.
        spider = self._crawler.spider
        if hasattr(spider, "download_maxsize"):
            warn_on_deprecated_spider_attribute("download_maxsize", "DOWNLOAD_MAXSIZE")
        if hasattr(spider, "download_warnsize"):
            warn_on_deprecated_spider_attribute("download_warnsize", "DOWNLOAD_WARNSIZE")
        pool = self._pool
        agent = _ReusingAgent(
            agents=self._agents,
            contextFactory=self._contextFactory,
            bindAddress=self._bind_address,
            pool=pool,
            maxsize=getattr(spider, "download_maxsize", self._default_maxsize),
            warnsize=getattr(spider, "download_warnsize", self._default_warnsize),
            fail_on_dataloss=self._fail_on_dataloss,
            crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging,
        )
        try:
            with wrap_twisted_exceptions():
                # The agent asks the pool for a connection before it returns.
                pool.sending = request
                try:
                    sent = agent.download_request(request)
                finally:
                    pool.sending = None
                return await maybe_deferred_to_future(sent)
        except CannotResolveHostError as exc:
            # Twisted reports a name without an allowed address as a failed
            # lookup; the resolver remembers why it gave none.
            resolver = _safe_resolver()
            host, port = _connection_target(request)
            reason = resolver.refusal(host, port) if resolver is not None else None
            if reason is None:
                raise
            raise RefusedAddressError(host, reason) from exc
        except ResponseDataLossError:
            if not self._fail_on_dataloss_warned:
                logger.warning(get_dataloss_msg(request.url))
                self._fail_on_dataloss_warned = True
            raise

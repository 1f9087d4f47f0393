"""HTTP(S) downloads that keep their connections to a proxy and reuse their
Twisted agents.

Scrapy's handler keeps at most ``CONCURRENT_REQUESTS_PER_DOMAIN`` idle
connections per server it connects to. Crawling directly, that is right: no
more requests than that go to one host at a time. Through a forward proxy
(``http_proxy``, an egress gateway), every request goes to the same server,
so all but a few of ``CONCURRENT_REQUESTS`` connections were closed after
each response and a new TCP connection opened for the next one. This handler
lets the pool keep up to ``CONCURRENT_REQUESTS`` idle connections per server,
which changes nothing for direct crawling (a host never has more requests in
flight than its own limit) and reuses proxy connections.

Scrapy also builds a new Twisted agent (a direct, proxy or tunnelling one)
for every request, from the same few inputs: the proxy, whether the URL is
https, the proxy credentials of a tunnel, the bind address and the timeout.
An agent holds only those settings and the shared connection pool, so this
handler keeps the agents it built, keyed by exactly those inputs, and hands
the same one to every request that would have got an equal one. That was
about 2% of a worker's reactor thread.

Each Twisted agent in turn builds a new endpoint (the host name IDNA-encoded
anew) for every request, also when the pool has a connection for it. A
plain-http endpoint only holds where to connect and is made to connect many
times, so the reused agents keep theirs per scheme, host and port (the proxy
agent has one: the proxy's); another 1.5%. TLS and tunnelling endpoints are
built per request as before (a tunnel's endpoint holds the state of its one
connection).

Just before a request is handed to its agent (after every downloader
middleware and after Scrapy's per-domain download slot), the handler keeps
the frontier's host and address spacing for it if it is being sent late
(:class:`~backlinkbot.downloadhandlers.latesends.LateSendSpacing`); and
when the pool has no connection for it, it looks again once the new
connection is open, since opening one can take a while on a loaded machine
or a distant server. (A TLS handshake comes after that look.)

Every connection's address comes from the crawl's resolver
(:class:`~backlinkbot.safety.resolver.SafeResolver`), asked with the port
the connection is for, so that only the connection to a configured proxy is
exempt from the SSRF policy; a CONNECT tunnel asks for the proxy's address
that way too before it connects (Scrapy's tunnel would look the proxy up
without its port). A connection the resolver refused fails with
:class:`~backlinkbot.safety.resolver.RefusedAddressError`, not as a name
that does not resolve.
"""

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

from backlinkbot.downloadhandlers.latesends import LateSendSpacing
from backlinkbot.frontier.queue import TURN
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
    """Scrapy's per-download agent, taking its Twisted agent from a cache."""

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
    """Make ``agent`` build one endpoint per plain-http scheme, host and port."""
    build: Callable[[URI], IStreamClientEndpoint] = agent._getEndpoint
    endpoints: dict[tuple[bytes, bytes, int], IStreamClientEndpoint] = {}

    def endpoint(uri: URI) -> IStreamClientEndpoint:
        if uri.scheme != b"http":
            return build(uri)
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

    def __init__(self, reactor: IReactorTime, late_sends: LateSendSpacing) -> None:
        super().__init__(reactor, persistent=True)  # type: ignore[no-untyped-call]
        self.late_sends = late_sends
        self.sending: Request | None = None

    def _newConnection(
        self, key: Hashable, endpoint: IStreamClientEndpoint
    ) -> Deferred[HTTP11ClientProtocol]:
        # Also called later, when a kept connection turns out closed and
        # Twisted retries on a new one: no request is being handed out then.
        request, self.sending = self.sending, None
        opening = super()._newConnection(key, endpoint)
        if request is None or not request.meta.get(TURN):
            return opening

        async def spaced(connection: HTTP11ClientProtocol) -> HTTP11ClientProtocol:
            try:
                await self.late_sends.before_send(request)
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
        self._late_sends = LateSendSpacing.from_crawler(crawler)
        pool = _SpacingConnectionPool(reactor, self._late_sends)
        pool._factory = self._pool._factory
        pool.maxPersistentPerHost = max(
            settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"),
            settings.getint("CONCURRENT_REQUESTS"),
        )
        self._pool: _SpacingConnectionPool = pool
        self._agents: dict[tuple[Any, ...], Agent] = {}

    async def download_request(self, request: Request) -> Response:
        await self._late_sends.before_send(request)
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

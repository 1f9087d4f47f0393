"""The SSRF guard behind a proxy: only the connection to the configured proxy
(its host and its port) is exempt from the address check.

A real crawl with ``http_proxy`` set: https links (sent direct, as no
``https_proxy`` is set) and ``no_proxy`` hosts are connected to directly, and
names that resolve to the proxy's address, on other ports, must be refused
like any other loopback address; no byte may reach the local service
listening there. With ``https_proxy`` set too, https links go through a
CONNECT tunnel to the proxy, which is exempt as the proxy's own connection.
"""

from __future__ import annotations

import re
import socket
import socketserver
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from .crawling import crawl_web, environment
from .hostile_server import answer, serving

pytestmark = pytest.mark.e2e

SEED = "http://seed.example/"


class _Listener(socketserver.BaseRequestHandler):
    """A local service: remembers every connection and every byte sent to it."""

    connections: ClassVar[list[bytes]] = []

    def handle(self) -> None:
        self.request.settimeout(2)
        received = b""
        try:
            while chunk := self.request.recv(65536):
                received += chunk
        except OSError:
            pass
        type(self).connections.append(received)


class _Proxy(socketserver.BaseRequestHandler):
    """A forward proxy that serves the seed page itself and forwards nothing:
    a CONNECT is refused, any other URL is not found. Remembers the first line
    of each request."""

    lines: ClassVar[list[bytes]] = []
    page = b""

    def handle(self) -> None:
        self.request.settimeout(5)
        try:
            data = self.request.recv(65536)
        except OSError:
            return
        line = data.split(b"\r\n", 1)[0]
        type(self).lines.append(line)
        if line.startswith(b"CONNECT "):
            self.request.sendall(answer("403 Forbidden"))
        elif re.match(rb"GET http://seed\.example/ HTTP/1\.[01]$", line):
            self.request.sendall(answer("200 OK", type(self).page))
        else:
            self.request.sendall(answer("404 Not Found"))


class _Site:
    def __init__(self, proxy_url: str) -> None:
        self.seeds = [SEED]
        self.url = proxy_url


@pytest.mark.parametrize("https_proxy", [False, True], ids=["http_proxy-only", "both-proxies"])
def test_only_the_proxy_connection_is_exempt(
    https_proxy: bool, redis_url: str, mongo_uri: str, mongo_db: Any, redis_prefix: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    _Listener.connections = []
    _Proxy.lines = []
    with serving(_Listener) as service, serving(_Proxy) as proxy:
        port, proxy_port = service.server_address[1], proxy.server_address[1]
        direct = [
            f"https://evil.example:{port}/",  # https, with only http_proxy set
            f"http://nope.example:{port}/",  # a no_proxy host
            f"https://proxy.example:{port}/",  # the proxy's own name, another port
            f"https://alias.example:{proxy_port}/",  # the proxy's address and port, by another name
        ]
        proxied = f"http://evil.example:{port}/"  # plain http: the proxy's business
        literal = f"https://127.0.0.1:{port}/"
        _Proxy.page = "".join(f'<a href="{u}">x</a>' for u in [*direct, proxied, literal]).encode()
        names = ["proxy.example", "evil.example", "nope.example", "alias.example"]
        settings = {
            "BACKLINKBOT_DNS_OVERRIDES": ",".join(f"{name}=127.0.0.1" for name in names),
            "RETRY_ENABLED": "False",
            "BACKLINKBOT_HOST_DELAY": "0.05",
        }
        proxy_url = f"http://proxy.example:{proxy_port}"
        variables = {"no_proxy": "nope.example", "https_proxy": proxy_url if https_proxy else ""}
        with environment(**variables):
            site = _Site(proxy_url)
            summary = crawl_web(
                site, site,  # type: ignore[arg-type]
                redis_url=redis_url, mongo_uri=mongo_uri, database=mongo_db.name,
                prefix=redis_prefix, log_dir=tmp_path / "logs", workers=1, settings=settings,
            )  # fmt: skip
    assert summary.ok, summary.exit_codes
    assert _Listener.connections == []
    # The proxy got proxy requests only: no TLS handshake sent to its port direct.
    assert all(re.match(rb"(GET http://|CONNECT )", line) for line in _Proxy.lines), _Proxy.lines
    seed = mongo_db.pages.find_one({"_id": SEED})
    assert seed is not None and seed["status"] == 200, seed
    stats = summary.stats
    # Every link is an edge, fetched or not.
    assert mongo_db.links.count_documents({"src": SEED}) == len(direct) + 2
    assert stats.get("backlinkbot/ssrf/refused/loopback") == 1  # the literal
    tunnelled = direct[:1] + direct[2:] if https_proxy else []
    refused = [url for url in direct if url not in tunnelled]
    for url in refused:
        page = mongo_db.pages.find_one({"_id": url})
        assert page is not None and page["error"] == "RefusedAddressError", page
    # Each refused page and its robots.txt.
    assert stats.get("backlinkbot/ssrf/refused/dns_loopback") == 2 * len(refused), stats
    for url in tunnelled:
        assert f"CONNECT {url[8:-1]} HTTP/1.1".encode() in _Proxy.lines, _Proxy.lines
        page = mongo_db.pages.find_one({"_id": url})
        assert page is not None and page["error"] == "TunnelError", page


def test_the_listener_sees_a_connection() -> None:
    # The check above cannot pass for want of a working listener.
    _Listener.connections = []
    with serving(_Listener) as service:
        with socket.create_connection(service.server_address) as conn:
            conn.sendall(b"hello")
        for _ in range(50):
            if _Listener.connections:
                break
            time.sleep(0.05)
    assert _Listener.connections == [b"hello"]

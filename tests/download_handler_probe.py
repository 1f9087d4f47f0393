"""Run by tests/test_download_handler.py in its own process (a Twisted
reactor is installed once per process): downloads through
PooledHTTPDownloadHandler, directly and through two forward proxies, and
prints what came back and which agents served them, as JSON."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import CrawlerProcess
from twisted.web.client import URI


def _server(name: str) -> ThreadingHTTPServer:
    """An HTTP server that answers any request, origin-form or absolute-form
    (as a forward proxy gets it), with who answered and what was asked."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = json.dumps({
                "server": name, "target": self.path, "host": self.headers.get("Host"),
                "proxy_auth": self.headers.get("Proxy-Authorization"),
                "connection": self.client_address[1],
            }).encode()  # fmt: skip
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if "/close" in self.path:
                # The next request needs a new connection (from the same endpoint).
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    origin, proxy_a, proxy_b = _server("origin"), _server("proxy-a"), _server("proxy-b")
    port = origin.server_address[1]
    proxies = {
        "a": f"http://127.0.0.1:{proxy_a.server_address[1]}",
        "b": f"http://user:secret@127.0.0.1:{proxy_b.server_address[1]}",
    }
    plan: list[dict[str, Any]] = []
    for i in range(4):
        # Every other request closes its connection afterwards.
        part = f"close/{i}" if i % 2 else str(i)
        plan.append({"url": f"http://127.0.0.1:{port}/direct/{part}", "meta": {}})
        plan.append({"url": f"http://a.example/via-a/{part}", "meta": {"proxy": proxies["a"]}})
        plan.append({"url": f"http://b.example/via-b/{part}", "meta": {"proxy": proxies["b"]}})
    plan.append({"url": f"http://127.0.0.1:{port}/timeout", "meta": {"download_timeout": 7}})
    # A second round after the first, on the connections (or their
    # replacements) of the first.
    plan += [{**step, "url": step["url"] + "/again"} for step in plan]
    seen: list[dict[str, Any]] = []
    agents: dict[str, Any] = {}

    class Probe(Spider):
        name = "probe"

        async def start(self) -> Any:
            for step in plan:
                yield Request(step["url"], meta=dict(step["meta"]), dont_filter=True)

        def parse(self, response: Any) -> None:
            seen.append({"url": response.url, **json.loads(response.text)})

        def closed(self, reason: str) -> None:
            handler = self.crawler.engine.downloader.handlers._handlers["http"]
            for key, agent in handler._agents.items():
                proxy = getattr(agent, "_proxyURI", None)
                uri = proxy or URI.fromBytes(f"http://127.0.0.1:{port}/".encode())
                agents[repr(key)] = {
                    "type": type(agent).__name__,
                    "proxy": proxy.toBytes().decode() if proxy else None,
                    "timeout": agent._endpointFactory._connectTimeout,
                    "same_endpoint": agent._getEndpoint(uri) is agent._getEndpoint(uri),
                }

    process = CrawlerProcess({
        "DOWNLOAD_HANDLERS": {
            "http": "backlinkbot.downloadhandlers.http.PooledHTTPDownloadHandler",
        },
        "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False, "ROBOTSTXT_OBEY": False,
        "DOWNLOAD_TIMEOUT": 5, "CONCURRENT_REQUESTS": 4,
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware": 750,
        },
    })  # fmt: skip
    process.crawl(Probe)
    process.start()
    json.dump({"responses": seen, "agents": agents}, sys.stdout)


if __name__ == "__main__":
    main()

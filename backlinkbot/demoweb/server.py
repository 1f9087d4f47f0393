"""Serve every host of a :class:`SyntheticWeb` from one local HTTP server.

The server is both an HTTP proxy and an origin server: a request line in
absolute form (``GET http://host/path HTTP/1.1``, what a client sends to its
``http_proxy``) names the URL itself, an origin-form one (``GET /path``) is
completed with its ``Host`` header (RFC 9112, section 3.2). It speaks plain
HTTP only: ``CONNECT`` tunnels, which ``https://`` URLs would need, are
refused.

- a known URL: its :class:`~backlinkbot.demoweb.model.Resource`;
- an unknown URL on a known host: 404 ``text/html``;
- an unknown host: 502, as a proxy says it cannot reach the origin;
- a dead host: the connection is closed without an answer.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import IO, Any

from backlinkbot.demoweb.model import Resource, SyntheticWeb

__all__ = ["DemoWebServer", "serve"]

_NOT_FOUND = b"<!DOCTYPE html>\n<title>Not found</title>\n<p>No such page.</p>\n"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Tens of crawler connections may arrive at once.
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], web: SyntheticWeb, log: IO[str] | None,
        latency: float = 0.0,
    ) -> None:  # fmt: skip
        self.web = web
        self.latency = latency
        self.log = log
        self.log_lock = threading.Lock()
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut idle keep-alive connections so their threads end."""
        with self.connections_lock:
            for conn in self.connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "demoweb/1.0"
    # An idle keep-alive connection is closed after this many seconds.
    timeout = 60
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        # The request log (if any) replaces http.server's stderr lines.
        pass

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_CONNECT(self) -> None:
        self._send(502, {"Content-Type": "text/plain"}, b"CONNECT is not supported\n", body=True)
        self.close_connection = True

    def _answer(self, *, body: bool) -> None:
        arrived = time.time()
        target = self.path
        scheme, sep, rest = target.partition("://")
        if sep and "/" not in scheme:
            netloc, slash, path = rest.partition("/")
            path = slash + path
        else:
            scheme, netloc, path = "http", self.headers.get("Host", ""), target
        host = _clean_host(netloc)
        path = path or "/"
        web = self.server.web
        if self.server.latency:
            # Like a real server's think time: lets tests spread a crawl
            # over several workers.
            time.sleep(self.server.latency)
        if host in web.dead_hosts:
            self._log(arrived, host, path, None)
            # Like a host that accepted the connection and then went away.
            self.close_connection = True
            return
        if scheme.lower() != "http" or host not in web.hosts:
            self._send(502, {"Content-Type": "text/plain"}, b"unknown host\n", body=body)
            self._log(arrived, host, path, 502)
            return
        resource = web.resources.get(f"http://{host}{path}")
        if resource is None:
            resource = Resource(404, {"Content-Type": "text/html; charset=utf-8"}, _NOT_FOUND)
        self._send(resource.status, resource.headers, resource.body, body=body)
        self._log(arrived, host, path, resource.status)

    def _send(self, status: int, headers: dict[str, str], payload: bytes, *, body: bool) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if body:
            self.wfile.write(payload)

    def _log(self, arrived: float, host: str, path: str, status: int | None) -> None:
        """One line per answered (or dropped) request, with the time it
        arrived: the spacing between requests is what a politeness check
        looks at, not when this server got round to answering."""
        log = self.server.log
        if log is None:
            return
        line = json.dumps(
            {
                "time": arrived,
                "host": host,
                "path": path,
                "method": self.command,
                "status": status,
                "user_agent": self.headers.get("User-Agent", ""),
            }
        )
        with self.server.log_lock:
            # A request still in flight when the server stops finds it closed.
            if not log.closed:
                log.write(line + "\n")
                log.flush()


def _clean_host(netloc: str) -> str:
    """The host of ``netloc`` as the web keys it: lower case, no ``:80``, no dot."""
    host = netloc.rpartition("@")[2].lower()
    if host.endswith(":80"):
        host = host[:-3]
    return host.rstrip(".")


class DemoWebServer:
    """The server in a background thread; also a context manager.

    >>> from backlinkbot.demoweb import generate_web
    >>> with DemoWebServer(generate_web()) as server:
    ...     server.url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(
        self,
        web: SyntheticWeb,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        request_log: str | None = None,
        latency: float = 0.0,
    ) -> None:
        self.web = web
        self.latency = latency
        self.host = host
        self.port = port
        self.request_log = request_log
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._log: IO[str] | None = None

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the running server."""
        if self._server is None:
            raise RuntimeError("the server is not running")
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> DemoWebServer:
        """Bind and serve in a daemon thread; returns ``self``."""
        if self._server is not None:
            raise RuntimeError("the server is already running")
        log = None
        if self.request_log is not None:
            log = open(self.request_log, "a", encoding="utf-8")  # noqa: SIM115
        try:
            self._server = _Server((self.host, self.port), self.web, log, self.latency)
        except BaseException:
            if log is not None:
                log.close()  # the port was taken: no log left open behind us
            raise
        self._log = log
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="demoweb", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections and close the log."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join()
        if self._log is not None:
            with server.log_lock:
                self._log.close()
            self._log = None

    def __enter__(self) -> DemoWebServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    web: SyntheticWeb,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    request_log: str | None = None,
    on_listen: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve ``web`` until ``stop`` is set (forever without one).

    ``on_listen`` is called with the server's URL once it accepts connections.
    """
    stop = stop or threading.Event()
    with DemoWebServer(web, host=host, port=port, request_log=request_log) as server:
        if on_listen is not None:
            on_listen(server.url)
        stop.wait()

"""A hostile web server on 127.0.0.1 for the safety tests.

Each path misbehaves in one way (see ``CASES``); ``/`` links to all of them
and to addresses the SSRF guard must refuse. Runs in a thread of the test
process; the crawl's workers connect to it directly (no proxy), so the test
allow-lists 127.0.0.1.
"""

from __future__ import annotations

import gzip
import re
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

__all__ = ["CASES", "FORBIDDEN_LINKS", "HostileServer", "answer", "serving"]

#: Links to addresses that must never be fetched (the guard's reasons).
FORBIDDEN_LINKS = {
    "http://10.1.2.3/": "private",
    # 127.0.0.1 itself is allow-listed for the test: other loopback addresses
    "http://2130706434/": "loopback",
    "http://0x7f.2/admin": "loopback",
    "http://0177.0.0.3/x": "loopback",
    "http://[::1]/": "loopback",
    "http://[::ffff:127.0.0.4]/": "loopback",
    "http://169.254.169.254/latest/meta-data/": "link_local",
    "http://224.0.0.1/": "multicast",
    "http://0.0.0.0/": "unspecified",
    "http://localhost/": "local_name",
}

CASES = (
    "/never-ends", "/slowloris", "/huge", "/huge-chunked", "/bomb", "/wrong-type",
    "/binary-html", "/bad-encoding", "/loop-a", "/chain/0", "/garbage", "/trap/",
    "/calendar?day=0", "/empty", "/redirect-inside",
)  # fmt: skip

_BOMB = gzip.compress(b"\0" * (20 * 1024 * 1024), compresslevel=9)
_STOP = threading.Event()


def _head(status: str, content_type: str = "text/html", extra: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n{extra}".encode("latin-1")


def _page(body: bytes, content_type: str = "text/html; charset=utf-8", extra: str = "") -> bytes:
    head = _head(
        "200 OK", content_type, f"{extra}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head + body


def _redirect(location: str) -> bytes:
    return _head(
        "302 Found", extra=f"Location: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        conn: socket.socket = self.request
        conn.settimeout(30)
        try:
            data = conn.recv(65536)
            match = re.match(rb"GET (\S+) HTTP", data)
            path = match.group(1).decode("latin-1") if match else "/"
            self.serve(conn, path)
        except OSError:
            pass

    def drip(self, conn: socket.socket, head: bytes, chunk: bytes, pause: float) -> None:
        conn.sendall(head)
        while not _STOP.is_set():
            conn.sendall(chunk)
            time.sleep(pause)

    def serve(self, conn: socket.socket, path: str) -> None:
        if path == "/":
            links = [*CASES, *FORBIDDEN_LINKS]
            body = "".join(f'<a href="{u}">{u}</a>\n' for u in links).encode()
            conn.sendall(_page(b"<html><body>" + body + b"</body></html>"))
        elif path == "/robots.txt":
            conn.sendall(
                _head("404 Not Found", extra="Content-Length: 0\r\nConnection: close\r\n\r\n")
            )
        elif path == "/never-ends":  # a body that never ends (no length, never closed)
            self.drip(conn, _head("200 OK", extra="\r\n"), b"<p>more</p>\n", 0.05)
        elif path == "/slowloris":  # the status line, one byte a second
            for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n":
                if _STOP.is_set():
                    break
                conn.sendall(bytes([byte]))
                time.sleep(1.0)
        elif path == "/huge":  # announces a terabyte
            self.drip(
                conn,
                _head("200 OK", extra="Content-Length: 1000000000000\r\n\r\n"),
                b"x" * 65536,
                0,
            )
        elif path == "/huge-chunked":  # no length, endless fast body
            self.drip(conn, _head("200 OK", extra="Connection: close\r\n\r\n"), b"y" * 65536, 0)
        elif path == "/bomb":
            conn.sendall(_page(_BOMB, extra="Content-Encoding: gzip\r\n"))
        elif path == "/wrong-type":  # HTML served as an image
            conn.sendall(_page(b'<html><a href="/empty">x</a></html>', content_type="image/png"))
        elif path == "/binary-html":  # binary garbage served as HTML
            conn.sendall(
                _page(
                    bytes(range(256)) * 64 + b'<a href="/empty">\xff\xfe</a>',
                    content_type="text/html",
                )
            )
        elif path == "/bad-encoding":  # declared UTF-8, is not
            conn.sendall(_page(b'<html><a href="/empty">caf\xe9 \xff\xfe \xc3</a></html>'))
        elif path == "/redirect-inside":  # a public page redirecting to the intranet
            conn.sendall(_redirect("http://10.9.9.9/admin"))
        elif path == "/loop-a":
            conn.sendall(_redirect("/loop-b"))
        elif path == "/loop-b":
            conn.sendall(_redirect("/loop-a"))
        elif path.startswith("/chain/"):
            conn.sendall(_redirect(f"/chain/{int(path.rsplit('/', 1)[1]) + 1}"))
        elif path == "/garbage":  # not HTTP at all
            conn.sendall(b"\x00\x01SSH-2.0-OpenSSH\r\n\xde\xad\xbe\xef" * 100)
        elif path.startswith("/trap/"):  # relative links that nest forever
            conn.sendall(_page(b'<a href="a/">deeper</a>'))
        elif path.startswith("/calendar"):
            day = int(path.rsplit("=", 1)[1])
            conn.sendall(_page(f'<a href="/calendar?day={day + 1}">next</a>'.encode()))
        else:
            conn.sendall(_page(b"<html>nothing here</html>"))


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def serving(handler: type[socketserver.BaseRequestHandler]) -> Iterator[socketserver.TCPServer]:
    """Serve ``handler`` on a free port of 127.0.0.1, in threads of this process."""
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def answer(status: str, body: bytes = b"") -> bytes:
    """A whole HTTP answer with an HTML ``body``; the connection then closes."""
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


class HostileServer:
    """``with HostileServer() as server:`` serves on ``server.root``."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self.port = self._server.server_address[1]
        self.root = f"http://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> HostileServer:
        _STOP.clear()
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _STOP.set()
        self._server.shutdown()
        self._server.server_close()

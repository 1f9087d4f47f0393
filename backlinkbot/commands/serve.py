"""``backlinkbot serve``: the backlink explorer, a web report and a JSON API.

Serves :func:`backlinkbot.explorer.create_app` on uvicorn over the graph in
``MONGODB_URI`` (the embedded server when unset), on 127.0.0.1 and a free
port unless told otherwise, and prints the address first. Another address
needs an API token (``BACKLINKBOT_API_TOKEN`` or ``_FILE``) or an explicit
``--no-auth``; a configured token is checked on every request.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import socket
import sys
from collections.abc import Callable

from backlinkbot.safety.secrets import read_secret_file
from backlinkbot.services import open_database, running_services

help = "serve the backlink explorer: a web report and a JSON API over the graph"

logger = logging.getLogger(__name__)

#: Time limit of every query the explorer sends (maxTimeMS).
MAX_TIME_MS = 10_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1)")  # fmt: skip
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--no-auth", action="store_true",
                        help="serve another address without an API token")  # fmt: skip
    parser.add_argument("--max-time-ms", type=int, default=MAX_TIME_MS,
                        help=f"time limit of each query (default {MAX_TIME_MS})")  # fmt: skip


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: a free one), bound before the address is
    printed, so what is printed is what answers."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(
    *,
    host: str,
    port: int,
    token: str | None,
    max_time_ms: int = MAX_TIME_MS,
    on_listen: Callable[[str], None] | None = None,
) -> None:
    """Serve the graph of ``MONGODB_URI`` until interrupted."""
    import uvicorn

    from backlinkbot.explorer import create_app
    from backlinkbot.storage.queries import Graph
    from backlinkbot.storage.schema import ensure_indexes

    db = open_database()
    try:
        ensure_indexes(db)
    except Exception as exc:  # a read-only user: the queries still answer
        logger.warning("could not create the indexes (%s); queries may be slow", exc)
    app = create_app(Graph(db, max_time_ms=max_time_ms), token=token)
    sock = bind(host, port)
    url = address(sock)
    (on_listen or (lambda u: print(f"backlinkbot explorer listening on {u}", flush=True)))(url)
    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        db.client.close()


def api_token() -> str | None:
    """``BACKLINKBOT_API_TOKEN_FILE`` (wins) or ``BACKLINKBOT_API_TOKEN``."""
    from backlinkbot.explorer.auth import token_from_env

    return token_from_env()


def run(args: argparse.Namespace) -> int:
    try:
        token = None if args.no_auth else api_token()
    except RuntimeError as exc:
        print(f"backlinkbot serve: {exc}", file=sys.stderr)
        return 2
    if token is None and not args.no_auth and not is_loopback(args.host):
        print(f"backlinkbot serve: listening on {args.host} needs an API token "
              "(BACKLINKBOT_API_TOKEN or BACKLINKBOT_API_TOKEN_FILE) or --no-auth",
              file=sys.stderr)  # fmt: skip
        return 2
    if os.environ.get("MONGODB_URI_FILE"):
        os.environ["MONGODB_URI"] = read_secret_file(os.environ["MONGODB_URI_FILE"])
    with running_services():
        try:
            serve(host=args.host, port=args.port, token=token, max_time_ms=args.max_time_ms)
        except OSError as exc:
            print(f"backlinkbot serve: cannot listen on {args.host}:{args.port}: {exc}",
                  file=sys.stderr)  # fmt: skip
            return 2
    return 0

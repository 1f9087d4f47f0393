"""Command line: serve a synthetic web, or print its ground truth.

``python -m backlinkbot.demoweb serve --profile test --seed 1 [--port 0] [--log FILE]``
prints one line, ``listening on http://127.0.0.1:PORT``, and serves until
SIGTERM or SIGINT. ``python -m backlinkbot.demoweb truth --profile test --seed 1``
prints the ground truth as JSON.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from backlinkbot.demoweb.generator import PROFILES, generate_web
from backlinkbot.demoweb.server import serve

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backlinkbot.demoweb", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("serve", "serve the web"), ("truth", "print the ground truth as JSON")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--profile", choices=sorted(PROFILES), default="test")
        sub.add_argument("--seed", type=int, default=1)
        if name == "serve":
            sub.add_argument("--host", default="127.0.0.1")
            sub.add_argument("--port", type=int, default=0)
            sub.add_argument("--log", metavar="FILE", help="append a JSON line per request")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    web = generate_web(profile=args.profile, seed=args.seed)
    if args.command == "truth":
        json.dump(web.truth(), sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    def _announce(url: str) -> None:
        print(f"listening on {url}", flush=True)

    serve(web, args.host, args.port, request_log=args.log, on_listen=_announce, stop=stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``backlinkbot`` command.

Each subcommand is a module in :mod:`backlinkbot.commands` exposing ``help``,
``add_arguments(parser)`` and ``run(args) -> int``.

Exit status: 0 done; 1 not done (a server did not answer, a crawl stopped
with work left, a worker failed); 2 a usage mistake, said in one line;
130 / 143 stopped by SIGINT / SIGTERM.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import NoReturn

import pymongo.errors
import redis

from backlinkbot import __version__
from backlinkbot.commands.options import UsageError
from backlinkbot.configuration import SettingValueError, unknown_setting_warnings
from backlinkbot.embedded.servers import ServerError
from backlinkbot.safety.secrets import mask_secrets
from backlinkbot.services import ServiceUnreachable

__all__ = ["COMMANDS", "main"]

COMMANDS = (
    "demo",
    "crawl",
    "seed",
    "backlinks",
    "serve",
    "recrawl",
    "rank",
    "status",
    "reset",
    "services",
)


class OneLineParser(argparse.ArgumentParser):
    """Usage mistakes in one line (and where to read more), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="backlinkbot",
        description="A distributed crawler that maps who links to whom on the web.",
    )
    parser.add_argument("--version", action="version", version=f"backlinkbot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"backlinkbot.commands.{name}")
        command = sub.add_parser(name, help=module.help, description=module.help)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def _fail(prog: str, message: str, code: int) -> int:
    print(f"{prog}: {mask_secrets(message)}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        # Some defaults come from the environment, checked here.
        parser = build_parser()
    except SettingValueError as exc:
        return _fail("backlinkbot", str(exc), 2)
    args = parser.parse_args(argv)
    prog = f"backlinkbot {args.command}"
    for message in unknown_setting_warnings(os.environ, "in the environment"):
        print(f"{prog}: warning: {message}", file=sys.stderr)
    try:
        return int(args.run(args))
    except (UsageError, SettingValueError) as exc:
        return _fail(prog, str(exc), 2)
    except (ServiceUnreachable, ServerError) as exc:
        return _fail(prog, str(exc), 1)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        return _fail(prog, f"lost the connection to Redis: {exc}", 1)
    except pymongo.errors.ConnectionFailure as exc:
        reason = str(exc).split(", Timeout:", 1)[0]
        return _fail(prog, f"lost the connection to MongoDB: {reason}", 1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: not an error.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())

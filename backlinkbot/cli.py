"""The ``backlinkbot`` command.

Each subcommand is a module in :mod:`backlinkbot.commands` exposing ``help``,
``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from backlinkbot import __version__

__all__ = ["COMMANDS", "main"]

COMMANDS = ("demo", "crawl", "seed", "backlinks", "serve", "recrawl", "rank", "status", "reset")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: not an error.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())

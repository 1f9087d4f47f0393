"""``backlinkbot reset``: forget the frontier (queue, seen URLs, counters)."""

from __future__ import annotations

import argparse

from backlinkbot.commands.options import UsageError, ask
from backlinkbot.runner import reset_frontier
from backlinkbot.services import crawl_keys, open_redis, running_services

help = "clear the shared frontier in Redis (the MongoDB graph is kept)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", action="store_true", help="do not ask")


def run(args: argparse.Namespace) -> int:
    if not args.yes:
        answer = ask(f"Clear the frontier of crawl {crawl_keys().prefix!r}?")
        if answer is None:
            raise UsageError("not on a terminal to ask: --yes clears the frontier")
        if not answer:
            print("nothing done")
            return 1
    with running_services(announce=False, need_redis=True, need_mongodb=False):
        reset_frontier(open_redis(), crawl_keys())
    print("frontier cleared")
    return 0

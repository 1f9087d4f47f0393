"""``backlinkbot crawl``: crawl from seeds until the frontier is empty."""

from __future__ import annotations

import argparse
import sys

from backlinkbot.commands import seeding
from backlinkbot.runner import CrawlOptions, format_summary, reset_frontier, run_crawl
from backlinkbot.scope import store_policy
from backlinkbot.seeds import queue_seeds
from backlinkbot.services import crawl_keys, data_dir, open_redis, running_services

help = "crawl from seed URLs into the backlink graph, until the frontier is empty"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("urls", nargs="*", metavar="URL", help="seed URLs or domains")
    parser.add_argument(
        "--seeds", action="append", default=[], metavar="FILE",
        help="seeds, one a line: URLs, domains, rank,domain CSV, JSON lines; - is stdin "
        "(repeatable)",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--max-pages", type=int, default=0, help="stop after N pages (all workers)")
    parser.add_argument("--max-depth", type=int, default=0, help="follow links N hops from seeds")
    parser.add_argument(
        "--resume", action="store_true",
        help="continue the crawl in the frontier instead of starting a new one",
    )  # fmt: skip
    parser.add_argument(
        "-s", "--set", action="append", default=[], metavar="NAME=VALUE",
        help="a Scrapy setting for every worker (repeatable)",
    )  # fmt: skip
    seeding.add_scope_arguments(parser)


def parse_settings(pairs: list[str]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"backlinkbot crawl: -s expects NAME=VALUE, got {pair!r}")
        settings[name] = value
    return settings


def run(args: argparse.Namespace) -> int:
    read = seeding.seeds_from(args.urls, args.seeds, command="crawl")
    seeding.report_invalid(read.invalid)
    seeds = read.seeds
    if not (seeds or read.invalid) and not args.resume:
        print("backlinkbot crawl: give seed URLs, --seeds FILE, or --resume", file=sys.stderr)
        return 2
    options = CrawlOptions(
        workers=max(1, args.workers),
        max_pages=args.max_pages,
        max_depth=args.max_depth,
        settings=parse_settings(args.set),
        log_dir=data_dir() / "logs",
    )
    policy = seeding.policy_from(args, options.settings)
    with running_services():
        server = open_redis()
        keys = crawl_keys()
        if not args.resume:
            reset_frontier(server, keys)
        if not args.resume or seeding.scope_given(args):
            store_policy(server, keys, policy)
        queued = queue_seeds(server, keys, seeds).queued
        if not queued and not args.resume:
            return 2
        print(f"crawling from {queued} seed(s) with {options.workers} worker(s); "
              f"worker logs in {options.log_dir}", file=sys.stderr)  # fmt: skip
        summary = run_crawl(server, keys, options)
        print(format_summary(summary))
    return summary.exit_status

"""``backlinkbot crawl``: crawl from seeds until the frontier is empty."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from backlinkbot.runner import CrawlOptions, format_summary, push_seeds, reset_frontier, run_crawl
from backlinkbot.services import crawl_keys, data_dir, open_redis, running_services

help = "crawl from seed URLs into the backlink graph, until the frontier is empty"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("urls", nargs="*", metavar="URL", help="seed URLs")
    parser.add_argument("--seeds", type=Path, help="file with one seed URL per line")
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


def read_seeds(args: argparse.Namespace) -> list[str]:
    seeds = list(args.urls)
    if args.seeds:
        for line in args.seeds.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                seeds.append(line)
    return seeds


def parse_settings(pairs: list[str]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"backlinkbot crawl: -s expects NAME=VALUE, got {pair!r}")
        settings[name] = value
    return settings


def run(args: argparse.Namespace) -> int:
    seeds = read_seeds(args)
    if not seeds and not args.resume:
        print("backlinkbot crawl: give seed URLs, --seeds FILE, or --resume", file=sys.stderr)
        return 2
    options = CrawlOptions(
        workers=max(1, args.workers),
        max_pages=args.max_pages,
        max_depth=args.max_depth,
        settings=parse_settings(args.set),
        log_dir=data_dir() / "logs",
    )
    with running_services():
        server = open_redis()
        keys = crawl_keys()
        if not args.resume:
            reset_frontier(server, keys)
        queued, rejected = push_seeds(server, keys, seeds)
        for url in rejected:
            print(f"ignoring seed {url!r}: not an http(s) URL", file=sys.stderr)
        if not queued and not args.resume:
            return 2
        print(f"crawling from {queued} seed(s) with {options.workers} worker(s); "
              f"worker logs in {options.log_dir}", file=sys.stderr)  # fmt: skip
        summary = run_crawl(server, keys, options)
        print(format_summary(summary))
    return summary.exit_status

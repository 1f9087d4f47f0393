"""``backlinkbot crawl``: crawl from seeds until the frontier is empty.

Everything the user gave is checked before anything changes: the seeds,
the options, the settings' names, that Redis and MongoDB answer. Only then
is the frontier touched: a new crawl replaces a finished one, but one that
still holds work is continued (``--resume``) or discarded (``--fresh``)
only when asked for, or confirmed on the terminal.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from scrapy.settings import Settings

from backlinkbot.commands import seeding
from backlinkbot.commands.logdirs import new_log_dir
from backlinkbot.commands.options import UsageError, ask, at_least
from backlinkbot.commands.progress import slow_step
from backlinkbot.commands.seeds import LOCAL_WEB_DOC, ssrf_refusals
from backlinkbot.configuration import unknown_setting_warnings
from backlinkbot.connection import CrawlKeys
from backlinkbot.runner import (
    CrawlOptions,
    WorkLeft,
    cluster_stats,
    format_summary,
    reset_frontier,
    run_crawl,
    work_left,
)
from backlinkbot.scope import store_policy
from backlinkbot.seeds import Seed, queue_seeds
from backlinkbot.services import (
    crawl_keys,
    data_dir,
    open_database,
    open_redis,
    project_settings,
    running_services,
)
from backlinkbot.storage.schema import ensure_indexes

help = "crawl from seed URLs into the backlink graph, until the frontier is empty"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "urls", nargs="*", metavar="SEED",
        help="seed URLs, or domain names (example.com is taken as its home page)",
    )  # fmt: skip
    parser.add_argument(
        "--seeds", action="append", default=[], metavar="FILE",
        help="seeds, one a line: URLs, domains, rank,domain CSV, JSON lines; - is stdin "
        "(repeatable; docs/SCOPE.md)",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=at_least(1), default=2, help="worker processes (default 2)"
    )
    parser.add_argument(
        "--max-pages", type=at_least(0, zero_means="no limit"), default=0,
        help="stop after N pages, all workers together (default 0: no limit)",
    )  # fmt: skip
    parser.add_argument(
        "--max-depth", type=at_least(0, zero_means="no limit"), default=0,
        help="follow links at most N hops from the seeds (default 0: no limit)",
    )  # fmt: skip
    start = parser.add_mutually_exclusive_group()
    start.add_argument(
        "--resume", action="store_true",
        help="continue the crawl in the frontier (queued and leased requests, seen URLs)",
    )  # fmt: skip
    start.add_argument(
        "--fresh", action="store_true",
        help="start a new crawl even if the frontier still holds work (it is discarded)",
    )  # fmt: skip
    parser.add_argument(
        "-s", "--set", action="append", default=[], metavar="NAME=VALUE",
        help="a Scrapy setting for every worker (repeatable; wins over the environment)",
    )  # fmt: skip
    seeding.add_scope_arguments(parser)


def parse_settings(pairs: list[str]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"-s expects NAME=VALUE, got {pair!r}")
        settings[name.strip()] = value
    return settings


def _describe(work: WorkLeft) -> str:
    counts = {"queued requests": work.queued, "leased requests": work.leased, "seeds": work.seeds}
    return ", ".join(f"{count} {what}" for what, count in counts.items() if count)


def _start_fresh(args: argparse.Namespace, server: Any, keys: CrawlKeys) -> bool:
    """Whether to reset the frontier; raises UsageError when it holds work
    and nothing says what to do with it."""
    if args.resume:
        return False
    if args.fresh:
        return True
    work = work_left(server, keys, page_budget=0)
    if work.finished:
        return True
    question = (
        f"The frontier of crawl {keys.prefix!r} still holds {_describe(work)}. "
        "Discard them and start a new crawl?"
    )
    answer = ask(question)
    if answer is None:
        raise UsageError(
            f"the frontier still holds {_describe(work)} from an earlier crawl: "
            "--resume continues it, --fresh discards it"
        )
    if not answer:
        raise UsageError("nothing done: --resume continues the earlier crawl")
    return True


def _resuming(server: Any, keys: CrawlKeys, settings: Settings) -> dict[str, int]:
    """The counters of the crawl's earlier runs, which this run's progress
    and summary leave out; says when leases of stopped workers must expire
    before their requests are fetched again."""
    leased = work_left(server, keys, page_budget=0).leased
    if leased:
        print(
            f"{leased} requests are leased to workers of an earlier run: they are fetched "
            f"again once their leases expire (BACKLINKBOT_LEASE_TIMEOUT, "
            f"{settings.getfloat('BACKLINKBOT_LEASE_TIMEOUT'):g} s)",
            file=sys.stderr,
        )
    return cluster_stats(server, keys)


def _worker_settings(args: argparse.Namespace) -> tuple[dict[str, str], Settings]:
    given = parse_settings(args.set)
    for message in unknown_setting_warnings(given, "given with -s"):
        print(f"backlinkbot crawl: warning: {message}", file=sys.stderr)
    settings = project_settings()
    settings.setdict(given, priority="cmdline")
    return given, settings


def _seeds(args: argparse.Namespace, settings: Settings) -> list[Seed]:
    if not (args.urls or args.seeds) and not args.resume:
        raise UsageError("give seed URLs, --seeds FILE, or --resume")
    read = seeding.seeds_from(args.urls, args.seeds, command="crawl")
    seeding.report_invalid(read.invalid)
    if (args.urls or args.seeds) and not read.seeds:
        raise UsageError("no usable seed (see above)")
    urls = [seed.url for seed in read.seeds]
    refused = ssrf_refusals(urls, settings)
    for url, reason in refused:
        print(
            f"seed {url} will not be fetched: the SSRF guard refuses {reason} addresses "
            f"(BACKLINKBOT_SSRF_ALLOW; how to crawl a local test web: {LOCAL_WEB_DOC})",
            file=sys.stderr,
        )
    if urls and len(refused) == len(urls) and not args.resume:
        raise UsageError("every seed would be refused: nothing to crawl")
    return read.seeds


def _prepare_store() -> None:
    """Build MongoDB's indexes before the workers start (each would
    otherwise wait for them), saying so when that takes a while."""
    db = open_database()
    try:
        with slow_step("building the graph store's indexes"):
            ensure_indexes(db)
    finally:
        db.client.close()


def run(args: argparse.Namespace) -> int:
    given, settings = _worker_settings(args)
    seeds = _seeds(args, settings)
    policy = seeding.policy_from(args, given)
    with running_services(need_redis=True):
        server = open_redis()
        keys = crawl_keys()
        fresh = _start_fresh(args, server, keys)
        _prepare_store()
        log_dir = new_log_dir(data_dir() / "logs", keep=settings.getint("BACKLINKBOT_LOG_KEEP"))
        options = CrawlOptions(
            workers=args.workers,
            max_pages=args.max_pages,
            max_depth=args.max_depth,
            settings=given,
            log_dir=log_dir,
        )
        if fresh:
            reset_frontier(server, keys)
        else:
            options.baseline = _resuming(server, keys, settings)
        if fresh or seeding.scope_given(args):
            store_policy(server, keys, policy)
        queued = queue_seeds(server, keys, seeds).queued
        what = f"{queued} seed(s)"
        if not fresh:
            what = "the frontier" + (f" and {queued} new seed(s)" if queued else "")
        print(f"crawling from {what} with {options.workers} worker(s); "
              f"worker logs in {options.log_dir}", file=sys.stderr)  # fmt: skip
        summary = run_crawl(server, keys, options)
        print(format_summary(summary))
    if summary.exit_codes and all(code != 0 for code in summary.exit_codes):
        print(f"backlinkbot crawl: every worker failed (exit codes {summary.exit_codes}); "
              f"see {log_dir}", file=sys.stderr)  # fmt: skip
    return summary.exit_status

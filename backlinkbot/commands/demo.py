"""``backlinkbot demo``: crawl a bundled synthetic web and show a report.

Everything runs on this machine: the embedded Redis and MongoDB-wire servers
(unless ``REDIS_URL`` / ``MONGODB_URI`` are set), a local web server that
plays a small web of sites linking to each other (generated, with known
links; the workers reach it as their HTTP proxy), and two workers sharing one
frontier. At the end it prints the backlink report of the web's most linked
site.
"""

from __future__ import annotations

import argparse
import os
import sys

from rich.console import Console

from backlinkbot.commands.backlinks import print_tables, report
from backlinkbot.commands.logdirs import new_log_dir
from backlinkbot.commands.options import at_least
from backlinkbot.ranking import rank_database
from backlinkbot.runner import CrawlOptions, format_summary, push_seeds, reset_frontier, run_crawl
from backlinkbot.services import (
    crawl_keys,
    data_dir,
    open_database,
    open_redis,
    project_settings,
    running_services,
)
from backlinkbot.storage.queries import parse_target

help = "crawl a bundled demo web with two workers and print a backlink report"

DEMO_DATABASE = "backlinkbot_demo"
DEMO_PREFIX = "backlinkbot-demo"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers", type=at_least(1), default=2, help="worker processes (default 2)"
    )
    parser.add_argument("--seed", type=int, default=1, help="which demo web to generate")
    parser.add_argument("--serve", action="store_true",
                        help="then serve the demo graph in the explorer")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from backlinkbot.demoweb import generate_web
    from backlinkbot.demoweb.server import DemoWebServer

    web = generate_web(profile="demo", seed=args.seed)
    os.environ["MONGODB_DATABASE"] = DEMO_DATABASE
    os.environ["BACKLINKBOT_REDIS_PREFIX"] = DEMO_PREFIX
    console = Console()
    with DemoWebServer(web) as server, running_services(need_redis=True):
        print(f"demo web: {len(web.hosts)} sites, {len(web.resources)} URLs, served at "
              f"{server.url} (the workers' HTTP proxy)", file=sys.stderr)  # fmt: skip
        os.environ["http_proxy"] = server.url
        os.environ.pop("no_proxy", None)
        db = open_database()
        db.client.drop_database(DEMO_DATABASE)
        redis = open_redis()
        keys = crawl_keys()
        reset_frontier(redis, keys)
        push_seeds(redis, keys, web.seeds)
        options = CrawlOptions(
            workers=args.workers,
            settings={"BACKLINKBOT_EMBEDDED": "False"},
            log_dir=new_log_dir(
                data_dir() / "demo-logs",
                keep=project_settings().getint("BACKLINKBOT_LOG_KEEP"),
            ),
            progress_interval=1.0,
        )
        summary = run_crawl(redis, keys, options)
        print(format_summary(summary))
        if not summary.ok:
            print(f"a worker failed; see {options.log_dir}", file=sys.stderr)
            return 1
        ranked = rank_database(db)
        print(
            f"ranked {ranked.written.get('domain', 0)} domains and "
            f"{ranked.written.get('host', 0)} hosts from {ranked.scanned} links"
        )
        target = parse_target(web.demo_target or web.seeds[0], kind="domain").value
        query = argparse.Namespace(target=target, by=None, limit=15, sort="rating")
        print()
        print_tables(report(db, query), console, limit=query.limit)
        print(f"\nThe demo graph stays in database {DEMO_DATABASE!r}; query it again with:")
        print(f"  MONGODB_DATABASE={DEMO_DATABASE} backlinkbot backlinks {target} --sort rating")
        page = f"report?target={target}"
        if not getattr(args, "serve", False):
            print("and open it in the explorer (a web report and a JSON API) with:")
            print(f"  MONGODB_DATABASE={DEMO_DATABASE} backlinkbot serve")
            print(f"at the address it prints, followed by /{page}")
            print("(or run `backlinkbot demo --serve`, which serves it right away)")
            return 0
        from backlinkbot.commands.serve import serve

        db.client.close()
        print("\nServing the demo graph in the explorer; Ctrl-C stops it.")
        serve(host="127.0.0.1", port=0, token=None,
              on_listen=lambda url: print(f"  open {url}{page}", flush=True))  # fmt: skip
    return 0

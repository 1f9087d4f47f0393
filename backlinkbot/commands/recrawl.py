"""``backlinkbot recrawl``: queue the pages due for another fetch.

Selects pages whose last fetch is older than ``--older-than`` (and pages
whose lost links wait for a confirming fetch), oldest and most-linked first
(:mod:`backlinkbot.storage.recrawl`), and pushes them to the crawl's Redis
start-URL list for the workers. Safe to run while a crawl runs, from cron, or
on several machines: a Redis lock lets one scheduler queue at a time.
``--every`` repeats the round, for a continuous crawl.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import timedelta

from backlinkbot.commands.options import at_least, duration
from backlinkbot.commands.progress import Progress
from backlinkbot.services import (
    crawl_keys,
    open_database,
    open_redis,
    project_settings,
    running_services,
)
from backlinkbot.storage.recrawl import RecrawlPolicy, queue_due, select_due

help = "queue the pages whose last fetch is older than the recrawl policy allows"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Defaults from the environment, as the workers read them.
    settings = project_settings()
    older = settings.getfloat("BACKLINKBOT_RECRAWL_AFTER")
    confirm = settings.getfloat("BACKLINKBOT_LOST_CONFIRM_SECONDS")
    batch = settings.getint("BACKLINKBOT_RECRAWL_BATCH")
    every = settings.getfloat("BACKLINKBOT_RECRAWL_INTERVAL")
    parser.add_argument(
        "--older-than",
        type=duration,
        default=timedelta(seconds=older),
        help="recrawl pages last fetched longer ago than this "
        "(default: BACKLINKBOT_RECRAWL_AFTER, 7d)",
    )
    parser.add_argument(
        "--confirm-after",
        type=duration,
        default=timedelta(seconds=confirm),
        help="refetch pages with unconfirmed lost links this long after the first miss "
        "(default: BACKLINKBOT_LOST_CONFIRM_SECONDS, 1h; match the workers' value)",
    )
    parser.add_argument(
        "--limit",
        type=at_least(1),
        default=batch,
        help="pages queued per round (default: BACKLINKBOT_RECRAWL_BATCH, 10000)",
    )
    parser.add_argument(
        "--every",
        type=duration,
        default=timedelta(seconds=every),
        help="repeat a round this often until interrupted "
        "(default: BACKLINKBOT_RECRAWL_INTERVAL; 0 is one round)",
    )
    parser.add_argument("--dry-run", action="store_true", help="list due pages, queue nothing")
    parser.add_argument("--json", action="store_true", help="print one JSON object per round")


def _round(args: argparse.Namespace, policy: RecrawlPolicy) -> int:
    db = open_database()
    progress = Progress(enabled=not args.json)
    if args.dry_run:
        try:
            due = select_due(db, policy, progress=progress)
        finally:
            db.client.close()
        if args.json:
            print(json.dumps({"due": [
                {"reason": p.reason, "backlinks": p.inlinks,
                 "fetched_at": p.fetched_at.isoformat(), "url": p.url} for p in due
            ]}))  # fmt: skip
            return 0
        print("reason\tbacklinks\tlast fetched (UTC)\turl")
        for page in due:
            print(f"{page.reason}\t{page.inlinks}\t{page.fetched_at:%Y-%m-%dT%H:%M:%S}\t{page.url}")
        print(f"{len(due)} page(s) due; nothing queued (--dry-run)", file=sys.stderr)
        return 0
    client = open_redis()
    try:
        queued = queue_due(db, client, crawl_keys(), policy, progress=progress)
    finally:
        client.close()
        db.client.close()
    if queued is None:
        print("backlinkbot recrawl: another scheduler is queuing; nothing done", file=sys.stderr)
        return 0
    confirm = sum(1 for d in queued if d.reason == "confirm")
    if args.json:
        print(json.dumps({"queued": len(queued), "confirm": confirm,
                          "stale": len(queued) - confirm}))  # fmt: skip
    else:
        print(f"queued {len(queued)} pages ({confirm} to confirm lost links, "
              f"{len(queued) - confirm} stale)")  # fmt: skip
    return 0


def run(args: argparse.Namespace) -> int:
    policy = RecrawlPolicy(
        max_age=args.older_than, confirm_after=args.confirm_after, batch=args.limit
    )
    with running_services(announce=not args.json, need_redis=True):
        while True:
            status = _round(args, policy)
            if status or not args.every or args.dry_run:
                return status
            time.sleep(args.every.total_seconds())

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
import os
import re
import sys
import time
from datetime import timedelta

from backlinkbot.defaults import (
    BACKLINKBOT_LOST_CONFIRM_SECONDS,
    BACKLINKBOT_RECRAWL_AFTER,
    BACKLINKBOT_RECRAWL_BATCH,
    BACKLINKBOT_RECRAWL_INTERVAL,
)
from backlinkbot.services import crawl_keys, open_database, open_redis, running_services
from backlinkbot.storage.recrawl import RecrawlPolicy, queue_due, select_due

help = "queue the pages whose last fetch is older than the recrawl policy allows"

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _setting(name: str, default: float) -> float:
    """A default from the environment (the same name as the setting), else
    from :mod:`backlinkbot.defaults`."""
    text = os.environ.get(name)
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise SystemExit(f"backlinkbot recrawl: {name} must be a number, got {text!r}") from None


def duration(text: str) -> timedelta:
    """``90``, ``90s``, ``15m``, ``12h``, ``7d``, ``2w``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected a duration such as 7d or 12h, got {text!r}")
    return timedelta(seconds=float(match[1]) * _UNITS[match[2] or "s"])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    older = _setting("BACKLINKBOT_RECRAWL_AFTER", BACKLINKBOT_RECRAWL_AFTER)
    confirm = _setting("BACKLINKBOT_LOST_CONFIRM_SECONDS", BACKLINKBOT_LOST_CONFIRM_SECONDS)
    batch = int(_setting("BACKLINKBOT_RECRAWL_BATCH", BACKLINKBOT_RECRAWL_BATCH))
    every = _setting("BACKLINKBOT_RECRAWL_INTERVAL", BACKLINKBOT_RECRAWL_INTERVAL)
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
        type=int,
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
    if args.dry_run:
        try:
            due = select_due(db, policy)
        finally:
            db.client.close()
        for page in due:
            print(f"{page.reason}\t{page.inlinks}\t{page.fetched_at:%Y-%m-%dT%H:%M:%S}\t{page.url}")
        return 0
    client = open_redis()
    try:
        queued = queue_due(db, client, crawl_keys(), policy)
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
    if args.limit < 1:
        print("backlinkbot recrawl: --limit must be at least 1", file=sys.stderr)
        return 2
    policy = RecrawlPolicy(
        max_age=args.older_than, confirm_after=args.confirm_after, batch=args.limit
    )
    with running_services(announce=not args.json):
        while True:
            status = _round(args, policy)
            if status or not args.every or args.dry_run:
                return status
            time.sleep(args.every.total_seconds())

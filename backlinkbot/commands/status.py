"""``backlinkbot status``: the crawl cluster at a glance, from Redis."""

from __future__ import annotations

import argparse
import time

from rich.console import Console
from rich.table import Table

from backlinkbot.services import crawl_keys, open_redis, running_services

help = "show the shared frontier and the workers of the current crawl"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def run(args: argparse.Namespace) -> int:
    with running_services(announce=False):
        server = open_redis()
        keys = crawl_keys()
        with server.pipeline(transaction=False) as pipe:
            pipe.zcard(keys.requests)
            pipe.llen(keys.start_urls)
            pipe.scard(keys.dupefilter)
            pipe.hgetall(keys.stats)
            pipe.hgetall(keys.heartbeat)
            pipe.hgetall(keys.busy)
            queued, seeds, seen, stats, beats, busy = pipe.execute()
    stats = {_text(k): int(v) for k, v in stats.items()}
    console = Console()
    overview = Table(title=f"crawl {keys.prefix}")
    overview.add_column("what")
    overview.add_column("count", justify="right")
    for label, value in (
        ("queued requests", queued),
        ("seeds waiting", seeds),
        ("URLs seen", seen),
        ("pages fetched", stats.get("backlinkbot/pages/fetched", 0)),
        ("fetch errors", stats.get("backlinkbot/pages/errors", 0)),
        ("links stored", stats.get("backlinkbot/sink/links_inserted", 0)),
    ):
        overview.add_row(label, str(value))
    console.print(overview)
    workers = Table(title="workers")
    for column in ("worker", "state", "last heartbeat"):
        workers.add_column(column)
    now = time.time()
    for worker, beat in sorted((_text(k), float(v)) for k, v in beats.items()):
        state = "busy" if worker.encode() in busy or worker in busy else "idle"
        workers.add_row(worker, state, f"{now - beat:.0f} s ago")
    console.print(workers)
    return 0

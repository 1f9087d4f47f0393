"""``backlinkbot status``: the crawl cluster at a glance, from Redis.

Queued, leased and done requests, errors, hosts waiting out their delay, and
pages/s overall and per worker (measured over ``--interval`` seconds, or
between refreshes with ``--watch``). ``--pause`` makes every worker stop
taking requests (what it holds is finished); ``--unpause`` lets them go on.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import time
from dataclasses import dataclass
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from backlinkbot.commands.options import number_at_least
from backlinkbot.connection import CrawlKeys
from backlinkbot.scope import ScopePolicy
from backlinkbot.services import crawl_keys, open_redis, project_settings, running_services

help = "show the shared frontier and the workers of the current crawl"

PAGES = "backlinkbot/pages/fetched"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--watch", action="store_true", help="refresh every 2 s until Ctrl-C")
    parser.add_argument(
        "--interval", type=number_at_least(0), default=1.0,
        help="seconds over which pages/s is measured (default 1)",
    )  # fmt: skip
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--pause", action="store_true", help="workers take no new requests")
    group.add_argument("--unpause", action="store_true", help="workers go on crawling")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass
class Snapshot:
    at: float
    queued: int
    leased: int
    expired: int
    seeds: int
    backoff: int
    hosts: int
    paused: bool
    stats: dict[str, int]
    per_worker: dict[str, int]
    beats: dict[str, float]
    busy: set[str]
    #: The crawl's scope (backlinkbot.scope), described.
    scope: str = "all"


def snapshot(server: Any, keys: CrawlKeys) -> Snapshot:
    """The frontier's state in one pipelined round trip."""
    with server.pipeline(transaction=False) as pipe:
        pipe.time()
        pipe.get(keys.queued)
        pipe.zcard(keys.leased)
        pipe.llen(keys.start_urls)
        pipe.zcard(keys.hosts)
        pipe.exists(keys.paused)
        pipe.hgetall(keys.stats)
        pipe.hgetall(keys.worker_stats)
        pipe.hgetall(keys.heartbeat)
        pipe.hgetall(keys.busy)
        now_pair, queued, leased, seeds, hosts, paused, stats, wstats, beats, busy = pipe.execute()
        now = now_pair[0] + now_pair[1] / 1e6
        pipe.zcount(keys.leased, "-inf", now)
        pipe.zcount(keys.hosts, f"({now}", "+inf")
        pipe.get(keys.scope)
        expired, backoff, scope = pipe.execute()
    per_worker = {}
    for key, value in wstats.items():
        worker, _, counter = _text(key).partition("|")
        if counter == PAGES:
            per_worker[worker] = int(value)
    return Snapshot(
        at=now, queued=int(queued or 0), leased=int(leased), expired=int(expired),
        seeds=int(seeds), backoff=int(backoff), hosts=int(hosts), paused=bool(paused),
        stats={_text(k): int(v) for k, v in stats.items()}, per_worker=per_worker,
        beats={_text(k): float(v) for k, v in beats.items()}, busy={_text(k) for k in busy},
        scope=ScopePolicy.from_json(scope).describe() if scope else "all",
    )  # fmt: skip


def render(
    keys: CrawlKeys, now: Snapshot, before: Snapshot | None, *, worker_timeout: float = 60.0
) -> Group:
    span = (now.at - before.at) if before is not None else 0.0

    def rate(current: int, previous: int) -> str:
        return f"{(current - previous) / span:.1f}" if span > 0 else "-"

    s = now.stats
    overview = Table(title=f"crawl {keys.prefix}" + (" (paused)" if now.paused else ""))
    overview.add_column("what")
    overview.add_column("count", justify="right")
    for label, value in (
        ("queued requests", now.queued),
        ("leased (in progress)", now.leased),
        ("  of which expired (requeued by workers)", now.expired),
        ("done (pages stored or dropped)", s.get("backlinkbot/frontier/leases_acked", 0)),
        ("seeds waiting", now.seeds),
        ("hosts with work", now.hosts),
        ("hosts in backoff", now.backoff),
        ("pages fetched", s.get(PAGES, 0)),
        ("fetch errors", s.get("backlinkbot/pages/errors", 0)),
        ("links stored", s.get("backlinkbot/sink/links_inserted", 0)),
        ("scope", now.scope),
        ("pages/s", rate(s.get(PAGES, 0), before.stats.get(PAGES, 0) if before else 0)),
    ):
        overview.add_row(label, str(value))
    workers = Table(title="workers")
    for column in ("worker", "state", "last heartbeat", "pages", "pages/s"):
        workers.add_column(column, justify="right" if column.startswith("pages") else "left")
    for worker, beat in sorted(now.beats.items()):
        pages = now.per_worker.get(worker, 0)
        earlier = before.per_worker.get(worker, 0) if before else 0
        if now.at - beat > worker_timeout:
            # No heartbeat for BACKLINKBOT_WORKER_TIMEOUT: it stopped or died;
            # what it held returns to the queue when its leases expire.
            state = "gone"
        else:
            state = "busy" if worker in now.busy else "idle"
        ago = f"{now.at - beat:.0f} s ago"
        workers.add_row(worker, state, ago, str(pages), rate(pages, earlier))
    return Group(overview, workers)


def run(args: argparse.Namespace) -> int:
    with running_services(announce=False, need_redis=True, need_mongodb=False):
        server = open_redis()
        keys = crawl_keys()
        if args.pause:
            server.set(keys.paused, 1)
        elif args.unpause:
            server.delete(keys.paused)
        timeout = project_settings().getfloat("BACKLINKBOT_WORKER_TIMEOUT")
        console = Console()
        first = snapshot(server, keys)
        if not args.watch:
            if args.interval > 0:
                time.sleep(args.interval)
            console.print(render(keys, snapshot(server, keys), first, worker_timeout=timeout))
            return 0
        before = first
        view = functools.partial(render, keys, worker_timeout=timeout)
        # Ctrl-C is how a watch ends: not an error, whenever it comes.
        live = Live(view(first, None), console=console, auto_refresh=False)
        with contextlib.suppress(KeyboardInterrupt), live:
            while True:
                time.sleep(2.0)
                now = snapshot(server, keys)
                live.update(view(now, before), refresh=True)
                before = now
    return 0

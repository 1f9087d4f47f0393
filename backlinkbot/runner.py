"""Run a crawl on this machine: seed the frontier, start workers, watch them.

Each worker is an ordinary ``scrapy crawl backlinks`` process; they share the
frontier in Redis exactly as workers on other machines would. While they run,
progress is read from the cluster stats in Redis (one ``HGETALL`` and one
``ZCARD`` per tick) and printed; at the end a summary.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import redis

from backlinkbot.frontier.keys import CrawlKeys
from backlinkbot.urlnorm import InvalidURL, normalize_url

__all__ = [
    "CrawlOptions",
    "CrawlSummary",
    "cluster_stats",
    "push_seeds",
    "reset_frontier",
    "run_crawl",
]


@dataclass
class CrawlOptions:
    workers: int = 2
    max_pages: int = 0
    max_depth: int = 0
    settings: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None
    progress_interval: float = 2.0
    #: Seeds to queue once every worker is up (instead of before they start).
    seeds_after_start: list[str] = field(default_factory=list)


@dataclass
class CrawlSummary:
    seconds: float
    stats: dict[str, int]
    exit_codes: list[int]

    @property
    def pages(self) -> int:
        return self.stats.get("backlinkbot/pages/fetched", 0)

    @property
    def ok(self) -> bool:
        return all(code == 0 for code in self.exit_codes)


def reset_frontier(server: redis.Redis, keys: CrawlKeys) -> None:
    """Forget the previous crawl's queue, seen URLs, leases and counters."""
    server.delete(*keys.all())
    for pattern in keys.patterns():
        batch = list(server.scan_iter(pattern, count=1000))
        for start in range(0, len(batch), 1000):
            server.delete(*batch[start : start + 1000])


def push_seeds(server: redis.Redis, keys: CrawlKeys, urls: list[str]) -> tuple[int, list[str]]:
    """Normalize and queue seeds in one round trip; returns (queued, rejected)."""
    good: list[str] = []
    bad: list[str] = []
    for url in urls:
        try:
            good.append(normalize_url(url))
        except InvalidURL:
            bad.append(url)
    if good:
        server.rpush(keys.start_urls, *good)
    return len(good), bad


def cluster_stats(server: redis.Redis, keys: CrawlKeys) -> dict[str, int]:
    """The crawl's cluster-wide counters (one ``HGETALL``)."""
    raw: dict[Any, Any] = server.hgetall(keys.stats)
    return {(k.decode() if isinstance(k, bytes) else str(k)): int(v) for k, v in raw.items()}


def _worker_command(options: CrawlOptions, index: int) -> list[str]:
    command = [sys.executable, "-m", "scrapy", "crawl", "backlinks"]
    settings = dict(options.settings)
    if options.max_pages:
        settings["BACKLINKBOT_MAX_PAGES"] = str(options.max_pages)
    if options.max_depth:
        settings["DEPTH_LIMIT"] = str(options.max_depth)
    if options.log_dir is not None:
        settings["LOG_FILE"] = str(options.log_dir / f"worker-{index}.log")
    for name, value in settings.items():
        command += ["-s", f"{name}={value}"]
    return command


def _wait_for_workers(
    server: redis.Redis, keys: CrawlKeys, workers: list[subprocess.Popen[bytes]],
    *, timeout: float = 60.0,
) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout
    while int(server.hlen(keys.heartbeat)) < len(workers):
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            return
        time.sleep(0.1)


def progress_line(stats: dict[str, int], queued: int, rate: float) -> str:
    return (
        f"pages {stats.get('backlinkbot/pages/fetched', 0)}"
        f" | queued {queued}"
        f" | links stored {stats.get('backlinkbot/sink/links_inserted', 0)}"
        f" | errors {stats.get('backlinkbot/pages/errors', 0)}"
        f" | {rate:.1f} pages/s"
    )


def run_crawl(
    server: redis.Redis, keys: CrawlKeys, options: CrawlOptions, *, out: IO[str] = sys.stderr
) -> CrawlSummary:
    """Start the workers and wait for them, printing progress to ``out``."""
    env = dict(os.environ)
    env.setdefault("SCRAPY_SETTINGS_MODULE", "backlinkbot.settings")
    if options.log_dir is not None:
        options.log_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    workers = [
        subprocess.Popen(_worker_command(options, i), env=env, stdin=subprocess.DEVNULL)
        for i in range(options.workers)
    ]
    last_pages, last_time = 0, started
    try:
        if options.seeds_after_start:
            _wait_for_workers(server, keys, workers)
            push_seeds(server, keys, options.seeds_after_start)
        while alive := [w for w in workers if w.poll() is None]:
            # Wake when the first live worker exits (its exit is seen within
            # 50 ms) or when progress is due: the crawl's end is not left
            # waiting for the next tick.
            due = last_time + options.progress_interval
            with contextlib.suppress(subprocess.TimeoutExpired):
                alive[0].wait(timeout=max(0.0, due - time.monotonic()))
            now = time.monotonic()
            if now < due:
                continue
            stats = cluster_stats(server, keys)
            pages = stats.get("backlinkbot/pages/fetched", 0)
            rate = (pages - last_pages) / (now - last_time)
            last_pages, last_time = pages, now
            queued = int(server.get(keys.queued) or 0)
            print(progress_line(stats, queued, rate), file=out, flush=True)
    except KeyboardInterrupt:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGINT)
        for worker in workers:
            worker.wait()
        raise
    codes = [w.wait() for w in workers]
    return CrawlSummary(time.monotonic() - started, cluster_stats(server, keys), codes)


def format_summary(summary: CrawlSummary) -> str:
    s = summary.stats
    rate = summary.pages / summary.seconds if summary.seconds else 0.0
    rejected = sum(v for k, v in s.items() if k.startswith("backlinkbot/links_rejected/"))
    lines = [
        f"crawl finished in {summary.seconds:.1f} s ({rate:.1f} pages/s)",
        f"  pages fetched     {summary.pages}",
        f"    html            {s.get('backlinkbot/pages/html', 0)}",
        f"    redirects       {s.get('backlinkbot/pages/redirect', 0)}",
        f"    non-html        {s.get('backlinkbot/pages/skipped_non_html', 0)}",
        f"    fetch errors    {s.get('backlinkbot/pages/errors', 0)}",
        f"  robots.txt denied {s.get('robotstxt/forbidden', 0)}",
        f"  links stored      {s.get('backlinkbot/sink/links_inserted', 0)}",
        f"  links rejected    {rejected}",
        f"  sink failures     {s.get('backlinkbot/sink/pages_rejected', 0)} pages",
        f"  workers           {len(summary.exit_codes)} (exit codes {summary.exit_codes})",
    ]
    return "\n".join(lines)

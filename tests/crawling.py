"""Helpers for end-to-end tests: run a real crawl against the demo web."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import redis

from backlinkbot.connection import CrawlKeys
from backlinkbot.demoweb import DemoWebServer, SyntheticWeb
from backlinkbot.runner import CrawlOptions, CrawlSummary, reset_frontier, run_crawl
from backlinkbot.storage.schema import EDGE_FIELDS

#: Settings that make test crawls quick; the semantics are the defaults'.
FAST = {
    "BACKLINKBOT_SINK_FLUSH_SECONDS": "0.3",
    "BACKLINKBOT_STATS_INTERVAL": "0.5",
    "BACKLINKBOT_IDLE_POLL_INTERVAL": "0.3",
    # A small Bloom filter: test crawls see a few hundred URLs.
    "BACKLINKBOT_DUPEFILTER_CAPACITY": "100000",
    "DOWNLOAD_TIMEOUT": "10",
    "DNS_TIMEOUT": "3",
    "RETRY_TIMES": "1",
    "LOG_LEVEL": "DEBUG",
}


@contextmanager
def environment(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def command_env(**values: str) -> dict[str, str]:
    """This process's environment without the servers' variables (a
    command run with it uses the embedded default), plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "MONGODB_"))}
    env.update(values)
    return env


def backlinkbot(
    *args: str, env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run the command as a user would, without a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "backlinkbot", *args], env=env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def crawl_env(
    *, redis_url: str, mongo_uri: str, database: str, prefix: str, proxy: str | None = None
) -> dict[str, str]:
    """The variables that point a worker or a command at one test crawl."""
    env = {
        "SCRAPY_SETTINGS_MODULE": "backlinkbot.settings",
        "REDIS_URL": redis_url,
        "MONGODB_URI": mongo_uri,
        "MONGODB_DATABASE": database,
        "BACKLINKBOT_REDIS_PREFIX": prefix,
    }
    if proxy:
        env["http_proxy"] = proxy
    return env


def crawl_web(
    web: SyntheticWeb,
    server: DemoWebServer,
    *,
    redis_url: str,
    mongo_uri: str,
    database: str,
    prefix: str,
    log_dir: Path,
    workers: int = 2,
    fresh: bool = True,
    settings: dict[str, str] | None = None,
    proxy: bool = True,
    progress: IO[str] | None = None,
) -> CrawlSummary:
    """Crawl ``web`` with ``workers`` workers, through ``server`` as their
    proxy, or (``proxy=False``) connecting to the hosts' own addresses, which
    the workers then resolve (``BACKLINKBOT_DNS_OVERRIDES``) with no proxy
    from the environment either."""
    client = redis.Redis.from_url(redis_url)
    keys = CrawlKeys(prefix)
    if fresh:
        reset_frontier(client, keys)
    options = CrawlOptions(
        workers=workers,
        seeds_after_start=list(web.seeds),
        settings={**FAST, **(settings or {})},
        log_dir=log_dir,
        progress_interval=60.0 if progress is None else 0.5,
    )
    variables = crawl_env(
        redis_url=redis_url, mongo_uri=mongo_uri, database=database, prefix=prefix,
        proxy=server.url if proxy else None,
    )  # fmt: skip
    if not proxy:
        variables.update(http_proxy="", HTTP_PROXY="", no_proxy="*")
    with environment(**variables), open(os.devnull, "w") as quiet:
        summary = run_crawl(client, keys, options, out=progress or quiet)
    client.close()
    return summary


def edge_key(doc: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(doc.get(f) for f in EDGE_FIELDS)


def stored_edges(db: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (d["src"], d["dst"]): {f: d.get(f) for f in EDGE_FIELDS}
        for d in db.links.find({"lost_at": None})
    }


def diff_edges(
    expected: list[dict[str, Any]], stored: dict[tuple[str, str], dict[str, Any]]
) -> list[str]:
    """Human-readable differences between ground truth and the graph."""
    want = {(e["src"], e["dst"]): {f: e.get(f) for f in EDGE_FIELDS} for e in expected}
    problems = []
    for key in sorted(want.keys() - stored.keys()):
        problems.append(f"missing {key[0]} -> {key[1]}: {want[key]}")
    for key in sorted(stored.keys() - want.keys()):
        problems.append(f"extra   {key[0]} -> {key[1]}: {stored[key]}")
    for key in sorted(want.keys() & stored.keys()):
        for f in EDGE_FIELDS:
            if want[key][f] != stored[key][f]:
                problems.append(
                    f"differs {key[0]} -> {key[1]} {f}: want {want[key][f]!r}, "
                    f"got {stored[key][f]!r}"
                )
    return problems


def worker_pages(redis_url: str, prefix: str) -> dict[str, int]:
    """Pages fetched by each worker, from the cluster stats."""
    client = redis.Redis.from_url(redis_url)
    raw = client.hgetall(CrawlKeys(prefix).worker_stats)
    client.close()
    pages = {}
    for key, value in raw.items():
        worker, _, counter = key.decode().partition("|")
        if counter == "backlinkbot/pages/fetched":
            pages[worker] = int(value)
    return pages

"""Worker memory over a long crawl: RSS after 10,000 and after 100,000 pages.

One backlinkbot worker crawls a static web of HOSTS x PAGES distinct URLs
(``bench/staticweb.py``; 20-50 KB pages, 25 internal and 5 external links
each) served by nginx, with the embedded Redis and MongoDB-wire servers. The
worker's resident set size (``VmRSS``) is sampled every half second together
with the cluster's page count; the RSS at each 10,000 pages and the ratio of
the last to the first are printed. The sink keeps at most ``--sink-pages``
pages in memory while MongoDB lags (``BACKLINKBOT_SINK_MEMORY_PAGES``; the
rest wait on disk), so the figure is the worker's own, not the backlog of a
slow database.

    python bench/bench_memory.py --hosts 1000 --pages 100
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from staticweb import Nginx, generate  # noqa: E402

from backlinkbot.connection import CrawlKeys  # noqa: E402
from backlinkbot.embedded import EmbeddedMongo, EmbeddedRedis  # noqa: E402
from backlinkbot.runner import CrawlOptions, cluster_stats, reset_frontier, run_crawl  # noqa: E402

STEP = 10_000


def _worker_rss_mib() -> float | None:
    """RSS of the running ``scrapy crawl backlinks`` process, in MiB."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"crawl" not in cmdline or b"backlinks" not in cmdline:
                continue
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            continue
    return None


def _sample(client: redis.Redis, keys: CrawlKeys, out: list[tuple[int, float]],
            done: threading.Event) -> None:  # fmt: skip
    while not done.wait(0.5):
        rss = _worker_rss_mib()
        if rss is not None:
            pages = cluster_stats(client, keys).get("backlinkbot/pages/fetched", 0)
            out.append((pages, rss))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--pages", type=int, default=100, help="pages per host")
    parser.add_argument("--distinct", type=int, default=100,
                        help="hosts with files of their own (the others link to them)")  # fmt: skip
    parser.add_argument("--sink-pages", type=int, default=500,
                        help="BACKLINKBOT_SINK_MEMORY_PAGES of the worker")  # fmt: skip
    args = parser.parse_args()
    print(f"web: {args.hosts} hosts x {args.pages} pages", flush=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        tmp.chmod(0o755)
        seeds = generate(tmp / "web", hosts=args.hosts, pages_per_host=args.pages,
                         distinct=args.distinct)  # fmt: skip
        redis_server = EmbeddedRedis(tmp / "redis", appendonly=False)
        mongo_server = EmbeddedMongo(tmp / "mongo")
        redis_url, mongo_uri = redis_server.start(), mongo_server.start()
        client = redis.Redis.from_url(redis_url)
        samples: list[tuple[int, float]] = []
        try:
            with Nginx(tmp / "web", tmp / "nginx") as nginx:
                keys = CrawlKeys("memory")
                reset_frontier(client, keys)
                client.rpush(keys.start_urls, *seeds)
                os.environ.update({"http_proxy": nginx.url, "REDIS_URL": redis_url,
                                   "MONGODB_URI": mongo_uri, "MONGODB_DATABASE": "memory",
                                   "BACKLINKBOT_REDIS_PREFIX": keys.prefix})  # fmt: skip
                options = CrawlOptions(
                    workers=1, log_dir=tmp / "logs", progress_interval=1.0,
                    settings={"BACKLINKBOT_HOST_DELAY": "0", "LOG_LEVEL": "WARNING",
                              # What the sink holds while MongoDB lags (the
                              # embedded stand-in does, late in a long crawl):
                              # a bounded buffer, the rest spilled to disk.
                              "BACKLINKBOT_SINK_MEMORY_PAGES": str(args.sink_pages)},
                )  # fmt: skip
                done = threading.Event()
                sampler = threading.Thread(target=_sample, args=(client, keys, samples, done))
                sampler.start()
                started = time.monotonic()
                with open(os.devnull, "w") as quiet:
                    summary = run_crawl(client, keys, options, out=quiet)
                done.set()
                sampler.join()
        finally:
            client.close()
            redis_server.stop()
            mongo_server.stop()
    print(f"crawled {summary.pages} pages in {time.monotonic() - started:.0f} s", flush=True)
    marks: list[tuple[int, float]] = []
    for mark in range(STEP, summary.pages + 1, STEP):
        after = [(p, r) for p, r in samples if p >= mark]
        if after:
            pages, rss = after[0]
            marks.append((mark, rss))
            print(f"RSS after {mark:7,d} pages: {rss:7.1f} MiB  (sampled at {pages:,})")
    if len(marks) >= 2:
        (first, rss0), (last, rss1) = marks[0], marks[-1]
        print(f"RSS after {last:,} / after {first:,} pages: {rss1 / rss0:.3f}"
              f" (peak {max(r for _, r in samples):.1f} MiB)")  # fmt: skip


if __name__ == "__main__":
    main()

"""Graceful stop: SIGTERM (what Kubernetes, systemd, docker stop and scrapyd's
cancel send) lets a worker finish, flush its sink and exit 0; every page it
fetched is in MongoDB."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from backlinkbot.connection import CrawlKeys
from backlinkbot.demoweb import DemoWebServer, generate_web
from backlinkbot.runner import cluster_stats, push_seeds, reset_frontier

from .crawling import FAST, crawl_env

pytestmark = pytest.mark.e2e

#: Seconds a worker may take between SIGTERM and its exit.
STOP_BOUND = 30.0


def test_sigterm_stops_a_worker_cleanly_mid_crawl(
    redis_url: str, mongo_uri: str, mongo_db: Any, redis_prefix: str,
    redis_client: redis.Redis, tmp_path: Path,
) -> None:  # fmt: skip
    web = generate_web(profile="test", seed=11)
    keys = CrawlKeys(redis_prefix)
    reset_frontier(redis_client, keys)
    push_seeds(redis_client, keys, list(web.seeds))
    log = tmp_path / "worker.log"
    # Slow pages, so that SIGTERM arrives with requests in flight.
    with DemoWebServer(web, latency=0.25) as demo:
        env = {**os.environ, **crawl_env(
            redis_url=redis_url, mongo_uri=mongo_uri, database=mongo_db.name,
            prefix=redis_prefix, proxy=demo.url,
        )}  # fmt: skip
        command = [sys.executable, "-m", "scrapy", "crawl", "backlinks"]
        settings = {**FAST, "LOG_LEVEL": "INFO", "LOG_FILE": str(log),
                    "BACKLINKBOT_SINK_FLUSH_SECONDS": "30"}  # fmt: skip
        for name, value in settings.items():
            command += ["-s", f"{name}={value}"]
        worker = subprocess.Popen(command, env=env, cwd=tmp_path, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while cluster_stats(redis_client, keys).get("backlinkbot/pages/fetched", 0) < 5:
                assert worker.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.1)
            # Nothing stored yet: the sink only writes every 30 s, or at close.
            stored_before = mongo_db.pages.count_documents({})
            worker.send_signal(signal.SIGTERM)
            stopped = time.monotonic()
            code = worker.wait(timeout=STOP_BOUND)
            took = time.monotonic() - stopped
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()

    text = log.read_text()
    assert code == 0, text[-3000:]
    assert took < STOP_BOUND
    assert "'finish_reason': 'shutdown'" in text, text[-3000:]
    stats = cluster_stats(redis_client, keys)
    scraped = stats.get("item_scraped_count", 0)
    assert stored_before < scraped
    # Stopped mid-crawl, and every page it scraped is stored.
    assert 0 < scraped < len(web.expected_pages)
    assert mongo_db.pages.count_documents({}) == scraped
    assert stats.get("backlinkbot/sink/pages_written", 0) == scraped

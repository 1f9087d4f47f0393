"""Prometheus metrics: off by default, and a worker that crawls serves its
counters and the frontier's gauges on its metrics port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from backlinkbot.connection import CrawlKeys
from backlinkbot.demoweb import DemoWebServer, SyntheticWeb, generate_web
from backlinkbot.extensions.metrics import COUNTERS, PrometheusMetrics
from backlinkbot.runner import push_seeds, reset_frontier

from .crawling import FAST, crawl_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_metrics_are_off_unless_a_port_is_given() -> None:
    crawler = get_crawler(settings_dict={"BACKLINKBOT_METRICS_PORT": 0})
    with pytest.raises(NotConfigured):
        PrometheusMetrics.from_crawler(crawler)


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted((k, v) for k, v in sample.labels.items()
                                   if k not in ("worker", "crawl")))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }  # fmt: skip


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), -1.0)


@pytest.fixture
def web() -> SyntheticWeb:
    return generate_web(profile="test", seed=5)


@pytest.fixture
def demo(web: SyntheticWeb) -> Iterator[DemoWebServer]:
    with DemoWebServer(web, latency=0.02) as running:
        yield running


@pytest.mark.e2e
def test_a_crawling_worker_serves_its_metrics(
    web: SyntheticWeb, demo: DemoWebServer, redis_url: str, mongo_uri: str, mongo_db: Any,
    redis_prefix: str, redis_client: redis.Redis, tmp_path: Path,
) -> None:  # fmt: skip
    pytest.importorskip("prometheus_client", reason="prometheus-client is not installed")
    keys = CrawlKeys(redis_prefix)
    reset_frontier(redis_client, keys)
    push_seeds(redis_client, keys, list(web.seeds))
    port = free_port()
    env = {**os.environ, **crawl_env(
        redis_url=redis_url, mongo_uri=mongo_uri, database=mongo_db.name,
        prefix=redis_prefix, proxy=demo.url,
    )}  # fmt: skip
    env.update(BACKLINKBOT_METRICS_PORT=str(port), BACKLINKBOT_METRICS_ADDRESS="127.0.0.1")
    command = [sys.executable, "-m", "scrapy", "crawl", "backlinks"]
    # Kept alive once the frontier is empty, so it can be scraped after the crawl.
    settings = {**FAST, "LOG_LEVEL": "INFO", "BACKLINKBOT_CLOSE_WHEN_DONE": "False",
                "LOG_FILE": str(tmp_path / "worker.log")}  # fmt: skip
    for name, setting in settings.items():
        command += ["-s", f"{name}={setting}"]
    worker = subprocess.Popen(command, env=env, cwd=tmp_path, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/metrics"
    answered = sum(1 for p in web.expected_pages.values() if p["status"] is not None)
    try:
        during: dict[Any, float] = {}
        deadline = time.monotonic() + 60
        while True:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
            try:
                samples = scrape(url)
            except OSError:
                time.sleep(0.2)
                continue
            if not during and value(samples, "backlinkbot_pages_fetched_total") > 0:
                during = samples
            if (
                value(samples, "backlinkbot_pages_fetched_total") >= answered
                and value(samples, "backlinkbot_frontier_queued") == 0
            ):
                break
            time.sleep(0.3)
        time.sleep(1.0)  # let the sink write its last batch
        after = scrape(url)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)

    assert during, "no scrape saw the crawl in progress"
    assert value(during, "backlinkbot_frontier_up") == 1
    assert value(during, "backlinkbot_frontier_workers") >= 1
    assert value(after, "backlinkbot_pages_fetched_total") == answered
    assert value(after, "backlinkbot_page_errors_total") == len(web.expected_pages) - answered
    statuses = {want["status"] for want in web.expected_pages.values() if want["status"]}
    for status in statuses:
        assert value(after, "backlinkbot_responses_total", status=str(status)) >= 1, status
    assert value(after, "backlinkbot_links_stored_total") > 0
    assert value(after, "backlinkbot_sink_pages_written_total") == mongo_db.pages.count_documents(
        {}
    )
    assert value(after, "backlinkbot_pages_per_second") >= 0
    assert value(after, "backlinkbot_sink_backlog_pages", where="buffer") == 0
    assert value(after, "backlinkbot_frontier_seeds") == 0
    assert value(after, "backlinkbot_scrapy_stat", stat="backlinkbot/metrics/port") == port
    for metric in COUNTERS:
        assert value(after, f"{metric}_total") >= 0, metric

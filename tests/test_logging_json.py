"""Structured logs: with BACKLINKBOT_LOG_JSON on, every log line of a worker is
a JSON object carrying the worker id and the crawl id."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from backlinkbot.connection import CrawlKeys
from backlinkbot.demoweb import DemoWebServer, generate_web
from backlinkbot.extensions.jsonlogs import JsonLogs
from backlinkbot.logformat import JsonFormatter
from backlinkbot.runner import push_seeds, reset_frontier

from .crawling import FAST, crawl_env

#: Loggers of Scrapy's start-up lines (version banner, add-ons, reactor),
#: written before extensions exist.
BANNER = ("[scrapy.utils.log] ", "[scrapy.addons] ", "[scrapy.crawler] DEBUG: Using ",
          "[asyncio] DEBUG: Using selector")  # fmt: skip


def test_formatter_writes_one_json_object_per_record() -> None:
    formatter = JsonFormatter(worker="w1", crawl="c1")
    try:
        raise ValueError("boom")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "backlinkbot.x", logging.ERROR, __file__, 1, 'two\nlines %s "%s"', ("é", "q"), exc_info
    )
    line = formatter.format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == 'two\nlines é "q"'
    assert (parsed["level"], parsed["logger"]) == ("ERROR", "backlinkbot.x")
    assert (parsed["worker"], parsed["crawl"]) == ("w1", "c1")
    assert parsed["exception"].endswith("ValueError: boom")
    assert parsed["time"].endswith("+00:00")


def test_json_logs_are_off_by_default() -> None:
    with pytest.raises(NotConfigured):
        JsonLogs.from_crawler(get_crawler(settings_dict={"BACKLINKBOT_LOG_JSON": False}))


def json_lines(log: Path) -> list[dict[str, Any]]:
    """The log's records, after Scrapy's plain start-up banner."""
    lines = log.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith('{"'))
    banner = [line for line in lines[:first] if line[:1].isdigit()]
    assert all(any(mark in line for mark in BANNER) for line in banner), banner
    return [json.loads(line) for line in lines[first:]]


@pytest.mark.e2e
def test_a_crawl_with_json_logs_writes_json_lines(
    redis_url: str, mongo_uri: str, mongo_db: Any, redis_prefix: str,
    redis_client: redis.Redis, tmp_path: Path,
) -> None:  # fmt: skip
    web = generate_web(profile="test", seed=1)
    keys = CrawlKeys(redis_prefix)
    reset_frontier(redis_client, keys)
    push_seeds(redis_client, keys, list(web.seeds))
    log = tmp_path / "worker.log"
    with DemoWebServer(web, latency=0.02) as demo:
        env = {**os.environ, **crawl_env(
            redis_url=redis_url, mongo_uri=mongo_uri, database=mongo_db.name,
            prefix=redis_prefix, proxy=demo.url,
        ), "BACKLINKBOT_LOG_JSON": "true"}  # fmt: skip
        command = [sys.executable, "-m", "scrapy", "crawl", "backlinks"]
        settings = {**FAST, "LOG_FILE": str(log), "BACKLINKBOT_WORKER_ID": "json-1"}
        for name, value in settings.items():
            command += ["-s", f"{name}={value}"]
        worker = subprocess.Popen(command, env=env, cwd=tmp_path, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while int(redis_client.hget(keys.stats, "backlinkbot/pages/fetched") or 0) < 20:
                if worker.poll() is not None:  # finished the whole web: fine too
                    break
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.2)
        finally:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
            code = worker.wait(timeout=60)
    assert code == 0
    records = json_lines(log)
    assert len(records) > 20
    assert {r["crawl"] for r in records} == {redis_prefix}
    assert {r["worker"] for r in records} == {"json-1"}
    assert {r["level"] for r in records} >= {"DEBUG", "INFO"}
    messages = [(r["logger"], r["message"]) for r in records]
    assert ("scrapy.core.engine", "Spider opened") in messages
    assert any(m.startswith("Spider closed") for _, m in messages)
    assert any(m.startswith("Crawled (200) <GET ") for _, m in messages)

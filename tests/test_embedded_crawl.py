"""A crawl on the embedded default while other commands use the same local
service: `status` and `recrawl` during the crawl neither break it nor start
servers of their own, and the crawl ends with exactly the expected graph."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest
import redis

from backlinkbot.connection import CrawlKeys
from backlinkbot.demoweb import DemoWebServer, SyntheticWeb, generate_web
from backlinkbot.embedded import LocalService

from .crawling import FAST, backlinkbot, command_env, diff_edges, stored_edges

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def web() -> SyntheticWeb:
    return generate_web(profile="test", seed=1)


@pytest.fixture(scope="module")
def server(web: SyntheticWeb) -> Iterator[DemoWebServer]:
    # Think time per response: the crawl lasts while the other commands run.
    with DemoWebServer(web, latency=0.3) as running:
        yield running


def test_status_and_recrawl_during_an_embedded_crawl(
    web: SyntheticWeb, server: DemoWebServer, local_data_dir: Path
) -> None:
    database = f"embedded_{uuid.uuid4().hex[:8]}"
    env = command_env(
        BACKLINKBOT_DATA_DIR=str(local_data_dir), MONGODB_DATABASE=database,
        http_proxy=server.url,
    )  # fmt: skip
    settings = [arg for name, value in FAST.items() for arg in ("-s", f"{name}={value}")]
    crawl = subprocess.Popen(
        [sys.executable, "-m", "backlinkbot", "crawl", *web.seeds, "--workers", "2",
         "-s", "CONCURRENT_REQUESTS=2", *settings],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        service = LocalService(local_data_dir)
        deadline = time.monotonic() + 60
        while (state := service.state()) is None:
            assert time.monotonic() < deadline and crawl.poll() is None
            time.sleep(0.1)
        client = redis.Redis.from_url(state.redis.url)
        stats = CrawlKeys("backlinkbot").stats
        while int(client.hget(stats, "backlinkbot/pages/fetched") or 0) < 10:
            assert time.monotonic() < deadline and crawl.poll() is None
            time.sleep(0.1)

        status = backlinkbot("status", "--interval", "0.2", env=env)
        assert status.returncode == 0, status.stderr
        assert "pages fetched" in status.stdout and "busy" in status.stdout
        recrawl = backlinkbot("recrawl", "--older-than", "0s", env=env)
        assert recrawl.returncode == 0, recrawl.stderr
        assert recrawl.stdout.startswith("queued "), recrawl.stdout
        assert "already running" in recrawl.stderr
        assert crawl.poll() is None, "the crawl ended before the other commands ran"

        out, err = crawl.communicate(timeout=240)
    finally:
        if crawl.poll() is None:
            crawl.kill()
        crawl.communicate()
    assert crawl.returncode == 0, err[-3000:]
    assert out.splitlines()[-1] == "crawl finished: the frontier is empty", out
    assert service.state() == state  # the same servers throughout
    assert Path(state.redis.url.removeprefix("unix://")).exists()
    assert (local_data_dir / "services.log").read_text().count("serving Redis") == 1

    mongo: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(state.mongodb.url)
    try:
        db = mongo[database]
        problems = diff_edges(web.expected_edges, stored_edges(db))
        assert not problems, "\n".join(problems[:20])
        assert {d["_id"] for d in db.pages.find({}, {"_id": 1})} == set(web.expected_pages)
    finally:
        mongo.close()
        client.close()

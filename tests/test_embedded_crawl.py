"""A crawl on the embedded default while other commands use the same local
service: `status` and `recrawl` during the crawl neither break it nor start
servers of their own, and the crawl ends with exactly the expected graph.
A ^C at the terminal stops a crawl cleanly (its workers give their leases
back and exit, the local service's servers stay up), and --resume finishes
it, its summary counting its own pages only."""

from __future__ import annotations

import re
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
from .terminal import Terminal

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


def _workers_of(data_dir: Path) -> list[int]:
    """The pids of crawl workers writing their logs under ``data_dir``."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"backlinks" in argv and any(str(data_dir).encode() in arg for arg in argv):
            pids.append(int(proc.name))
    return pids


def _pages_fetched(report: str) -> int:
    return int(re.findall(r"^  pages fetched +(\d+)$", report, re.M)[-1])


def test_ctrl_c_at_the_terminal_stops_the_crawl_cleanly_and_resume_finishes_it(
    web: SyntheticWeb, server: DemoWebServer, local_data_dir: Path
) -> None:
    database = f"embedded_{uuid.uuid4().hex[:8]}"
    env = command_env(
        BACKLINKBOT_DATA_DIR=str(local_data_dir), MONGODB_DATABASE=database,
        http_proxy=server.url,
    )  # fmt: skip
    settings = [arg for name, value in FAST.items() for arg in ("-s", f"{name}={value}")]
    settings += ["-s", "CONCURRENT_REQUESTS=2"]
    terminal = Terminal(["crawl", *web.seeds, "--workers", "2", *settings], env, columns=120)
    try:
        terminal.expect("crawling from", timeout=90)
        service = LocalService(local_data_dir)
        state = service.state()
        assert state is not None
        client = redis.Redis.from_url(state.redis.url)
        stats = CrawlKeys("backlinkbot").stats
        deadline = time.monotonic() + 60
        while int(client.hget(stats, "backlinkbot/pages/fetched") or 0) < 10:
            assert time.monotonic() < deadline, terminal.text[-3000:]
            terminal.drain(0.2)
        terminal.interrupt()
        code = terminal.wait(timeout=120)
    finally:
        if terminal.status is None:
            terminal.wait(timeout=1)
    assert code == 130, terminal.plain[-3000:]
    last = terminal.plain.strip().splitlines()[-1]
    assert last.startswith("crawl stopped by SIGINT with work left: "), last
    assert " 0 leased," in last, last  # every lease went back to the queue
    assert not _workers_of(local_data_dir)
    assert client.ping(), "the ^C reached the embedded Redis"
    first = _pages_fetched(terminal.plain)

    again = backlinkbot("crawl", "--resume", *settings, env=env, timeout=240)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.splitlines()[-1] == "crawl finished: the frontier is empty"
    # Each summary counts its own run's pages: together, the crawl's.
    total = int(client.hget(stats, "backlinkbot/pages/fetched") or 0)
    assert first + _pages_fetched(again.stdout) == total, again.stdout
    client.close()
    mongo: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(state.mongodb.url)
    try:
        db = mongo[database]
        problems = diff_edges(web.expected_edges, stored_edges(db))
        assert not problems, "\n".join(problems[:20])
    finally:
        mongo.close()

"""scrapyd: ``scrapyd-deploy`` packs the project as an egg and uploads it to two
real scrapyd servers; the ``backlinks`` spider, scheduled on both through
scrapyd's HTTP API, crawls one synthetic web through one Redis frontier into
one MongoDB graph."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from backlinkbot.connection import CrawlKeys
from backlinkbot.demoweb import DemoWebServer, generate_web
from backlinkbot.runner import push_seeds, reset_frontier

from .crawling import FAST, diff_edges, stored_edges, worker_pages

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BIN = Path(sys.executable).parent
if not (BIN / "scrapyd").exists() or not (BIN / "scrapyd-deploy").exists():
    pytest.skip("scrapyd and scrapyd-client are not installed", allow_module_level=True)

#: What a scrapyd-deploy needs from the checkout.
PROJECT_FILES = ("backlinkbot", "pipelines", "pyproject.toml", "README.md", "setup.py",
                 "scrapy.cfg")  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def api(base: str, endpoint: str, data: list[tuple[str, str]] | None = None) -> Any:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with urllib.request.urlopen(f"{base}/{endpoint}", data=body, timeout=10) as response:
        return json.loads(response.read())


@contextmanager
def scrapyd_server(home: Path, env: dict[str, str]) -> Iterator[str]:
    """A scrapyd on a free local port, with its own config and directories."""
    home.mkdir(parents=True)
    port = free_port()
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        f"bind_address = 127.0.0.1\nhttp_port = {port}\n"
        "eggs_dir = eggs\nlogs_dir = logs\ndbs_dir = dbs\nitems_dir =\n"
        "poll_interval = 0.2\nmax_proc = 2\n"
    )
    with open(home / "scrapyd.out", "wb") as out:
        process = subprocess.Popen(
            [str(BIN / "scrapyd")], cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if api(base, "daemonstatus.json")["status"] == "ok":
                    break
            except OSError:
                pass
            assert process.poll() is None, (home / "scrapyd.out").read_text()
            assert time.monotonic() < deadline, "scrapyd did not start"
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def copy_project(root: Path, dest: Path) -> Path:
    """The checkout's packaging inputs only, so building leaves the tree clean."""
    dest.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in PROJECT_FILES:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy(src, dest / name)
    return dest


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = Path(__file__).resolve().parent.parent
    return copy_project(root, tmp_path_factory.mktemp("scrapyd") / "project")


@pytest.fixture(scope="module")
def egg(project: Path) -> Path:
    """The egg scrapyd-deploy builds from the checkout."""
    egg = project.parent / "backlinkbot.egg"
    subprocess.run(
        [str(BIN / "scrapyd-deploy"), "--build-egg", str(egg)],
        cwd=project, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return egg


def test_egg_holds_both_packages_and_the_settings_entry_point(egg: Path) -> None:
    with zipfile.ZipFile(egg) as archive:
        names = archive.namelist()
        entry_points = archive.read("EGG-INFO/entry_points.txt").decode()
    assert "backlinkbot/spiders/backlinks.py" in names
    assert "backlinkbot/settings.py" in names
    assert "pipelines/mongo.py" in names
    assert not [n for n in names if n.startswith("tests/")]
    assert "[scrapy]\nsettings = backlinkbot.settings" in entry_points


def test_two_scrapyd_nodes_crawl_one_web_together(
    project: Path, egg: Path, tmp_path: Path, redis_url: str, mongo_uri: str, mongo_db: Any,
    redis_prefix: str, redis_client: redis.Redis,
) -> None:  # fmt: skip
    web = generate_web(profile="test", seed=3)
    with ExitStack() as stack:
        # A little think time per response spreads the crawl over both nodes.
        demo = stack.enter_context(DemoWebServer(web, latency=0.05))
        # scrapyd starts each job with its own environment: Scrapy's
        # HttpProxyMiddleware reads the proxy from there.
        env = {**os.environ, "http_proxy": demo.url}
        for name in ("REDIS_URL", "MONGODB_URI", "MONGODB_DATABASE", "BACKLINKBOT_REDIS_PREFIX"):
            env.pop(name, None)
        nodes = [
            stack.enter_context(scrapyd_server(tmp_path / f"scrapyd-{i}", env)) for i in (1, 2)
        ]
        deploy_env = {**os.environ, "SCRAPYD_NODE1_URL": nodes[0], "SCRAPYD_NODE2_URL": nodes[1]}
        for target in ("node1", "node2"):
            done = subprocess.run(
                # The targets of scrapy.cfg; the egg built above (building it
                # again per target gives the same egg).
                [str(BIN / "scrapyd-deploy"), target, "--version", "1", "--egg", str(egg)],
                cwd=project, env=deploy_env, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout)["status"] == "ok", done.stdout
        for base in nodes:
            assert api(base, "listspiders.json?project=backlinkbot")["spiders"] == ["backlinks"]

        keys = CrawlKeys(redis_prefix)
        reset_frontier(redis_client, keys)

        settings = {
            **FAST,
            "LOG_LEVEL": "INFO",
            "REDIS_URL": redis_url,
            "MONGODB_URI": mongo_uri,
            "MONGODB_DATABASE": mongo_db.name,
            "BACKLINKBOT_REDIS_PREFIX": redis_prefix,
            # Few requests in flight per node, so that the first node to poll
            # cannot hold the whole frontier before the other one polls.
            "CONCURRENT_REQUESTS": "2",
        }
        jobs = {}
        for index, base in enumerate(nodes, 1):
            data = [("project", "backlinkbot"), ("spider", "backlinks")]
            data += [("setting", f"{k}={v}") for k, v in settings.items()]
            data += [("setting", f"BACKLINKBOT_WORKER_ID=node{index}")]
            answer = api(base, "schedule.json", data)
            assert answer["status"] == "ok", answer
            jobs[base] = answer["jobid"]

        # Jobs wait for seeds (nothing handed out yet); seed once both run,
        # as an operator would, so that both nodes share the crawl.
        started = time.monotonic()
        while int(redis_client.hlen(keys.heartbeat)) < len(nodes):
            assert time.monotonic() - started < 60, "the jobs did not start"
            time.sleep(0.2)
        queued, rejected = push_seeds(redis_client, keys, list(web.seeds))
        assert queued and not rejected

        deadline = time.monotonic() + 120
        finished: dict[str, dict[str, Any]] = {}
        while len(finished) < len(nodes):
            assert time.monotonic() < deadline, f"jobs still running: {jobs}"
            time.sleep(0.5)
            for base, job in jobs.items():
                listing = api(base, "listjobs.json?project=backlinkbot")
                for entry in listing["finished"]:
                    if entry["id"] == job:
                        finished[base] = entry

    logs = {base: tmp_path / f"scrapyd-{i}" / "logs" / "backlinkbot" / "backlinks"
            for i, base in enumerate(nodes, 1)}  # fmt: skip
    for base in finished:
        log = (logs[base] / f"{jobs[base]}.log").read_text()
        assert "'finish_reason': 'finished'" in log, log[-3000:]
    problems = diff_edges(web.expected_edges, stored_edges(mongo_db))
    assert not problems, "\n".join(problems[:40])
    assert mongo_db.pages.count_documents({}) == len(web.expected_pages)
    per_worker = worker_pages(redis_url, redis_prefix)
    assert set(per_worker) == {"node1", "node2"} and all(per_worker.values()), per_worker

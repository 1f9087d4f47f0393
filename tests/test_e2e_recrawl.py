"""End to end: `backlinkbot recrawl` queues every page again, the workers
refetch them although the frontier has seen them, and the graph keeps its
history: same edges, same first_seen, nothing lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backlinkbot.demoweb import DemoWebServer, SyntheticWeb, generate_web

from .crawling import crawl_env, crawl_web, diff_edges, stored_edges

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def web() -> SyntheticWeb:
    return generate_web(profile="test", seed=3)


@pytest.fixture(scope="module")
def server(web: SyntheticWeb) -> Iterator[DemoWebServer]:
    with DemoWebServer(web, latency=0.01) as running:
        yield running


def test_recrawl_refetches_every_page_and_keeps_history(
    web: SyntheticWeb, server: DemoWebServer, redis_url: str, mongo_uri: str,
    mongo_db: Any, redis_prefix: str, tmp_path: Path,
) -> None:  # fmt: skip
    run = dict(
        redis_url=redis_url, mongo_uri=mongo_uri, database=mongo_db.name,
        prefix=redis_prefix, log_dir=tmp_path / "logs",
    )  # fmt: skip
    assert crawl_web(web, server, **run).ok
    first_pages = {d["_id"]: d["fetched_at"] for d in mongo_db.pages.find()}
    first_links = {d["_id"]: d for d in mongo_db.links.find()}

    env = {**os.environ, **crawl_env(
        redis_url=redis_url, mongo_uri=mongo_uri, database=mongo_db.name, prefix=redis_prefix,
    )}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "backlinkbot", "recrawl", "--older-than", "0s", "--json"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["queued"] == len(first_pages)

    # Same frontier (its seen-URL filter knows every page): only the
    # recrawl flag gets them fetched again.
    summary = crawl_web(web, server, fresh=False, **run)
    assert summary.ok
    refetched = {d["_id"]: d["fetched_at"] for d in mongo_db.pages.find()}
    assert refetched.keys() == first_pages.keys()
    assert all(refetched[url] > first_pages[url] for url in first_pages)

    assert not diff_edges(web.expected_edges, stored_edges(mongo_db))
    again = {d["_id"]: d for d in mongo_db.links.find()}
    assert again.keys() == first_links.keys()
    for _id, doc in again.items():
        assert doc["first_seen"] == first_links[_id]["first_seen"]
        assert doc.get("lost_at") is None and doc.get("unconfirmed_since") is None

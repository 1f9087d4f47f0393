"""End to end: two workers crawl the synthetic web through real Redis and a
MongoDB-wire server, and the stored graph equals the ground truth exactly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backlinkbot.demoweb import DemoWebServer, SyntheticWeb, generate_web

from .crawling import crawl_web, diff_edges, stored_edges, worker_pages

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def web() -> SyntheticWeb:
    return generate_web(profile="test", seed=1)


@pytest.fixture(scope="module")
def server(web: SyntheticWeb) -> Iterator[DemoWebServer]:
    # A little think time per response spreads the crawl over both workers.
    with DemoWebServer(web, latency=0.03) as running:
        yield running


def show(problems: list[str], log_dir: Path) -> str:
    head = "\n".join(problems[:40])
    return f"{len(problems)} differences (worker logs in {log_dir}):\n{head}"


def test_two_workers_build_exactly_the_expected_graph(
    web: SyntheticWeb, server: DemoWebServer, redis_url: str, mongo_uri: str,
    mongo_db: Any, redis_prefix: str, tmp_path: Path,
) -> None:  # fmt: skip
    run = dict(
        redis_url=redis_url, mongo_uri=mongo_uri, database=mongo_db.name,
        prefix=redis_prefix, log_dir=tmp_path / "logs",
        # Few requests in flight per worker: neither can drain the frontier
        # alone before the other polls it.
        settings={"CONCURRENT_REQUESTS": "4"},
    )  # fmt: skip
    summary = crawl_web(web, server, **run)
    assert summary.ok, summary.exit_codes

    # Every external edge, every attribute, nothing extra.
    problems = diff_edges(web.expected_edges, stored_edges(mongo_db))
    assert not problems, show(problems, tmp_path / "logs")

    # Every fetched URL is a page, with the status the server gave.
    pages = {d["_id"]: d for d in mongo_db.pages.find()}
    assert set(pages) == set(web.expected_pages)
    for url, want in web.expected_pages.items():
        assert (pages[url]["status"], pages[url]["content_type"]) == (
            want["status"], want["content_type"]
        ), url  # fmt: skip
    stats = summary.stats
    answered = sum(1 for p in web.expected_pages.values() if p["status"] is not None)
    assert stats["backlinkbot/pages/fetched"] == answered
    assert stats["backlinkbot/pages/errors"] == len(web.expected_pages) - answered
    # Both workers took part.
    per_worker = worker_pages(redis_url, redis_prefix)
    assert len(per_worker) == 2 and all(per_worker.values()), per_worker
    assert stats.get("robotstxt/forbidden", 0) >= 1
    assert stats.get("backlinkbot/pages/skipped_non_html", 0) >= 1

    # Rerunning the same crawl adds no duplicates and keeps first_seen.
    first = {d["_id"]: d for d in mongo_db.links.find()}
    summary = crawl_web(web, server, **run)
    assert summary.ok
    again = {d["_id"]: d for d in mongo_db.links.find()}
    assert again.keys() == first.keys()
    assert mongo_db.links.count_documents({}) == len(web.expected_edges)
    for _id, doc in again.items():
        assert doc["first_seen"] == first[_id]["first_seen"]
        assert doc["last_seen"] >= first[_id]["last_seen"]
        assert "lost_at" not in doc
    assert mongo_db.pages.count_documents({}) == len(web.expected_pages)

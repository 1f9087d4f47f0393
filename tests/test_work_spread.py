"""Work spreads over the workers of a politeness-bound crawl: each of N
workers fetches at least 1/(2N) of the pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backlinkbot.demoweb import DemoWebServer, SyntheticWeb, generate_web

from .crawling import crawl_web, diff_edges, stored_edges, worker_pages

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def web() -> SyntheticWeb:
    return generate_web(profile="test", seed=5)


@pytest.mark.parametrize("workers", [2, 3])
def test_each_worker_fetches_its_share(
    workers: int, web: SyntheticWeb, redis_url: str, mongo_uri: str, mongo_db: Any,
    redis_prefix: str, tmp_path: Path,
) -> None:  # fmt: skip
    with DemoWebServer(web, latency=0.02) as server:
        summary = crawl_web(
            web, server, redis_url=redis_url, mongo_uri=mongo_uri, database=mongo_db.name,
            prefix=redis_prefix, log_dir=tmp_path / "logs", workers=workers,
            # Politeness-bound: each host waits its delay between two fetches.
            settings={"BACKLINKBOT_HOST_DELAY": "0.4"},
        )  # fmt: skip
    assert summary.ok, summary.exit_codes
    assert not diff_edges(web.expected_edges, stored_edges(mongo_db))
    per_worker = worker_pages(redis_url, redis_prefix)
    total = sum(per_worker.values())
    assert total == summary.pages
    assert len(per_worker) == workers, per_worker
    shares = sorted(pages / total for pages in per_worker.values())
    print(f"{workers} workers: {sorted(per_worker.values())} of {total} pages")
    assert shares[0] >= 1 / (2 * workers), per_worker

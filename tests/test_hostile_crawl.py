"""A real crawl against a hostile server ends in bounded time, and every
misbehaviour is bounded and counted."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from .crawling import crawl_web
from .hostile_server import FORBIDDEN_LINKS, HostileServer

pytestmark = pytest.mark.e2e

LIMITS = {
    "BACKLINKBOT_SSRF_ALLOW": "127.0.0.1/32",
    "DOWNLOAD_TIMEOUT": "2",
    "DOWNLOAD_MAXSIZE": str(1024 * 1024),
    "RETRY_ENABLED": "False",
    "BACKLINKBOT_MAX_REDIRECTS": "4",
    "BACKLINKBOT_TRAP_QUERY_VARIANTS": "5",
}


class _Seeds:
    def __init__(self, root: str) -> None:
        self.seeds = [root]
        self.url = ""  # no proxy: the workers connect to 127.0.0.1 directly


def test_crawl_of_a_hostile_server_is_bounded_and_counted(
    redis_url: str, mongo_uri: str, mongo_db: Any, redis_prefix: str, tmp_path: Path
) -> None:
    with HostileServer() as server:
        started = time.monotonic()
        summary = crawl_web(
            _Seeds(server.root), _Seeds(server.root),  # type: ignore[arg-type]
            redis_url=redis_url, mongo_uri=mongo_uri, database=mongo_db.name,
            prefix=redis_prefix, log_dir=tmp_path / "logs", workers=1, settings=LIMITS,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert summary.ok, summary.exit_codes
    assert elapsed < 45, elapsed
    stats = summary.stats
    counted = {k: v for k, v in stats.items() if "/error/" in k or "traps" in k or "ssrf" in k}

    want = {
        # bounded in time
        "backlinkbot/pages/error/DownloadTimeoutError": 2,  # never-ends, slowloris
        # bounded in bytes
        "backlinkbot/pages/error/DownloadCancelledError": 2,  # huge, huge-chunked
        "backlinkbot/pages/error/DecompressionBomb": 1,
        "backlinkbot/hostile/decompression_bomb": 1,
        # bounded in hops and trap depth
        "backlinkbot/traps/redirect_chain": 1,
        "backlinkbot/traps/repeated_path": 1,
        "backlinkbot/traps/query_variants": 1,
    }
    for key, value in want.items():
        assert stats.get(key, 0) == value, (key, sorted(counted.items()))
    # non-HTTP garbage is a failed page
    garbage = mongo_db.pages.find_one({"_id": f"{server.root}garbage"})
    assert garbage is not None and garbage["error"] == "DownloadFailedError", garbage
    assert stats["backlinkbot/pages/errors"] == 6, sorted(counted.items())
    # never fetched, but the links are edges
    for reason in set(FORBIDDEN_LINKS.values()):
        assert stats.get(f"backlinkbot/ssrf/refused/{reason}", 0) >= 1, (reason, counted)
    refused = sum(v for k, v in stats.items() if k.startswith("backlinkbot/ssrf/refused/"))
    assert refused == len(FORBIDDEN_LINKS) + 1  # + the redirect to 10.9.9.9
    inside = mongo_db.pages.find_one({"_id": f"{server.root}redirect-inside"})
    assert inside is not None and inside["redirect_to"] == "http://10.9.9.9/admin", inside
    assert mongo_db.links.count_documents({"src": server.root, "dst_host": "10.1.2.3"}) == 1
    # wrong types and broken encodings are pages, not crashes
    for path, content_type in [
        ("wrong-type", "image/png"),
        ("binary-html", "text/html"),
        ("bad-encoding", "text/html"),
    ]:
        page = mongo_db.pages.find_one({"_id": f"{server.root}{path}"})
        assert (
            page is not None and page["status"] == 200 and page["content_type"] == content_type
        ), page
    # a redirect loop ends at the dupefilter; a chain after the hop limit
    redirects = {d["_id"].removeprefix(server.root) for d in mongo_db.pages.find({"status": 302})}
    assert redirects == {"loop-a", "loop-b", "redirect-inside", *(f"chain/{i}" for i in range(5))}
    assert not stats.get("log_count/CRITICAL"), counted
    assert not stats.get("spider_exceptions", 0), counted

"""A page with more links than ``BACKLINKBOT_MAX_PAGE_LINKS``: a real crawl
keeps and follows the first ones, counts the rest, and marks the page."""

from __future__ import annotations

import re
import socketserver
from pathlib import Path
from typing import Any

import pytest

from .crawling import crawl_web
from .hostile_server import answer, serving

pytestmark = pytest.mark.e2e

SEED = "http://big.example/"
LINKS = 120
KEPT = 50


def _links() -> list[str]:
    return [f"http://s{i % 3}.example/{i}" for i in range(LINKS)]


class _Proxy(socketserver.BaseRequestHandler):
    """Serves the big page as a forward proxy would; every other URL is an
    empty page."""

    def handle(self) -> None:
        self.request.settimeout(5)
        try:
            line = self.request.recv(65536).split(b"\r\n", 1)[0]
        except OSError:
            return
        if re.match(rb"GET http://big\.example/ HTTP", line):
            body = "".join(f'<a href="{url}">{i}</a>' for i, url in enumerate(_links()))
            self.request.sendall(answer("200 OK", body.encode()))
        else:
            self.request.sendall(answer("200 OK", b"<html></html>"))


class _Site:
    def __init__(self, proxy_url: str) -> None:
        self.seeds = [SEED]
        self.url = proxy_url


def test_a_page_keeps_its_first_links_and_counts_the_rest(
    redis_url: str, mongo_uri: str, mongo_db: Any, redis_prefix: str, tmp_path: Path
) -> None:
    with serving(_Proxy) as proxy:
        site = _Site(f"http://127.0.0.1:{proxy.server_address[1]}")
        summary = crawl_web(
            site, site,  # type: ignore[arg-type]
            redis_url=redis_url, mongo_uri=mongo_uri, database=mongo_db.name,
            prefix=redis_prefix, log_dir=tmp_path / "logs", workers=1,
            settings={"BACKLINKBOT_MAX_PAGE_LINKS": str(KEPT), "BACKLINKBOT_HOST_DELAY": "0.01"},
        )  # fmt: skip
    assert summary.ok, summary.exit_codes
    page = mongo_db.pages.find_one({"_id": SEED})
    assert page is not None
    assert (page["links_out"], page["links_truncated"]) == (KEPT, LINKS - KEPT), page
    stored = {doc["dst"] for doc in mongo_db.links.find({"src": SEED})}
    assert stored == set(_links()[:KEPT])
    # Only the kept links were followed.
    fetched = {doc["_id"] for doc in mongo_db.pages.find({"_id": {"$ne": SEED}})}
    assert fetched == set(_links()[:KEPT])
    assert all(doc["links_truncated"] == 0 for doc in mongo_db.pages.find({"_id": {"$ne": SEED}}))
    stats = summary.stats
    assert stats["backlinkbot/pages/links_truncated"] == 1
    assert stats["backlinkbot/links_truncated"] == LINKS - KEPT
    assert stats["backlinkbot/pages/fetched"] == 1 + KEPT

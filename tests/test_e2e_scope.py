"""End to end: a crawl scoped to its seeds' domains fetches no page outside
them, yet stores every external link their pages have."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backlinkbot.demoweb import DemoWebServer, SyntheticWeb, generate_web

from .crawling import crawl_web, diff_edges, stored_edges

pytestmark = pytest.mark.e2e


def reach_within(web: SyntheticWeb, domains: set[str]) -> set[str]:
    """The URLs a crawl from the seeds fetches following links only into
    ``domains``, from the ground truth's edges (every kind is followed)."""
    edges = web.expected_edges + web.internal_edges
    out: dict[str, list[str]] = {}
    for e in edges:
        out.setdefault(e["src"], []).append(e["dst"])
    reached, todo = set(web.seeds), list(web.seeds)
    while todo:
        for dst in out.get(todo.pop(), []):
            inside = web.domains.get(dst.split("/")[2]) in domains
            if inside and dst in web.expected_pages and dst not in reached:
                reached.add(dst)
                todo.append(dst)
    return reached


def test_seed_domains_crawl(
    redis_url: str, mongo_uri: str, mongo_db: Any, redis_prefix: str, tmp_path: Path
) -> None:
    web = generate_web(profile="test", seed=1)
    domains = {web.domains[s.split("/")[2]] for s in web.seeds}
    with DemoWebServer(web) as server:
        summary = crawl_web(
            web, server, redis_url=redis_url, mongo_uri=mongo_uri, database=mongo_db.name,
            prefix=redis_prefix, log_dir=tmp_path / "logs",
            settings={"BACKLINKBOT_SCOPE": "domains"},
        )  # fmt: skip
    assert summary.ok, summary.exit_codes
    pages = {d["_id"]: d for d in mongo_db.pages.find()}
    assert {d["domain"] for d in pages.values()} <= domains
    want = reach_within(web, domains)
    assert set(pages) == want
    sources = [e for e in web.expected_edges if e["src"] in want]
    assert any(e["dst_domain"] not in domains for e in sources)  # links out are there
    problems = diff_edges(sources, stored_edges(mongo_db))
    assert not problems, "\n".join(problems[:40])

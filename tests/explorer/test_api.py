"""The explorer's API on a crawled demo web: every endpoint's numbers equal
those computed from the web's ground truth, the CLI's reports give the same
answers, and bad parameters are 400s."""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections import Counter, defaultdict
from typing import Any, ClassVar

import pymongo
import pytest

from backlinkbot.commands import backlinks as command
from backlinkbot.storage.queries import anchor_text

from .conftest import EVIL, Explorer

pytestmark = pytest.mark.e2e


def truth_edges(explorer: Explorer, field: str, value: str) -> list[dict[str, Any]]:
    return [e for e in explorer.web.expected_edges if e[field] == value]


def top_domain(explorer: Explorer) -> str:
    counts = Counter(e["dst_domain"] for e in explorer.web.expected_edges)
    return counts.most_common(1)[0][0]


def all_rows(explorer: Explorer, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every row of a listing, page by page through its cursors."""
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = explorer.get(path, **params, **({"cursor": cursor} if cursor else {}))
        rows += page["rows"]
        cursor = page["next"]
        if not cursor:
            return rows


def test_overview_equals_ground_truth(explorer: Explorer) -> None:
    domain = top_domain(explorer)
    edges = truth_edges(explorer, "dst_domain", domain)
    got = explorer.get("/api/v1/overview", target=domain)
    assert got["by"] == "domain"
    assert got["backlinks"] == len(edges)
    assert got["backlinks_nofollow"] == sum(e["nofollow"] for e in edges)
    assert got["backlinks_dofollow"] == len(edges) - got["backlinks_nofollow"]
    assert got["referring_domains"] == len({e["src_domain"] for e in edges})
    assert got["referring_hosts"] == len({e["src_host"] for e in edges})
    assert got["new_7d"] == got["new_30d"] == len(edges)  # crawled just now
    assert got["lost_7d"] == got["lost_30d"] == 0
    ranked = explorer.db.domains.find_one({"_id": domain})
    assert got["rating"] == ranked["rating"]
    higher = sum(1 for d in explorer.db.domains.find({"pagerank": {"$gt": ranked["pagerank"]}}))
    assert got["pagerank_position"] == higher + 1


@pytest.mark.parametrize("kind", ["host", "url"])
def test_overview_of_a_host_or_url_is_counted_from_its_links(explorer: Explorer, kind: str) -> None:
    field = {"host": "dst_host", "url": "dst"}[kind]
    value = Counter(e[field] for e in explorer.web.expected_edges).most_common(1)[0][0]
    edges = truth_edges(explorer, field, value)
    got = explorer.get("/api/v1/overview", target=value, by=kind)
    assert (got["by"], got["backlinks"]) == (kind, len(edges))
    assert got["referring_domains"] == len({e["src_domain"] for e in edges})


def test_backlinks_page_through_every_link(explorer: Explorer) -> None:
    domain = top_domain(explorer)
    rows = all_rows(explorer, "/api/v1/backlinks", target=domain, limit=7)
    want = {(e["src"], e["dst"]): e for e in truth_edges(explorer, "dst_domain", domain)}
    assert len(rows) == len(want)
    assert {(r["src"], r["dst"]) for r in rows} == set(want)
    for row in rows:
        edge = want[row["src"], row["dst"]]
        assert {k: row[k] for k in edge} == edge
    times = [r["first_seen"] for r in rows]
    assert times == sorted(times, reverse=True)
    dofollow = all_rows(explorer, "/api/v1/backlinks", target=domain, dofollow="true", limit=500)
    assert len(dofollow) == sum(1 for e in want.values() if not e["nofollow"])
    for kind in {e["kind"] for e in want.values()}:
        got = explorer.get("/api/v1/backlinks", target=domain, kind=kind, limit=500)["rows"]
        assert len(got) == sum(1 for e in want.values() if e["kind"] == kind)


def test_one_link_per_domain(explorer: Explorer) -> None:
    domain = top_domain(explorer)
    rows = all_rows(explorer, "/api/v1/backlinks", target=domain, one_per_domain="true", limit=3)
    domains = [r["src_domain"] for r in rows]
    assert domains == sorted({e["src_domain"] for e in truth_edges(explorer, "dst_domain",
                                                                    domain)})  # fmt: skip


def test_referring_domains_and_anchors(explorer: Explorer) -> None:
    domain = top_domain(explorer)
    edges = truth_edges(explorer, "dst_domain", domain)
    rows = all_rows(explorer, "/api/v1/referring-domains", target=domain, limit=4)
    links = Counter(e["src_domain"] for e in edges)
    follow = Counter(e["src_domain"] for e in edges if not e["nofollow"])
    assert {r["domain"]: (r["links"], r["dofollow"]) for r in rows} == {
        d: (n, follow[d]) for d, n in links.items()
    }
    assert [r["links"] for r in rows] == sorted((r["links"] for r in rows), reverse=True)
    anchors = all_rows(explorer, "/api/v1/anchors", target=domain, limit=5)
    texts = Counter(anchor_text(e) for e in edges)
    domains = defaultdict(set)
    for e in edges:
        domains[anchor_text(e)].add(e["src_domain"])
    assert {r["anchor"]: (r["links"], r["referring_domains"]) for r in anchors} == {
        a: (n, len(domains[a])) for a, n in texts.items()
    }


def test_top_pages_broken_backlinks_and_outgoing_domains(explorer: Explorer) -> None:
    web = explorer.web
    domain = top_domain(explorer)
    edges = truth_edges(explorer, "dst_domain", domain)
    pages = all_rows(explorer, "/api/v1/top-pages", target=domain, limit=3)
    assert {r["url"]: r["links"] for r in pages} == Counter(e["dst"] for e in edges)
    for row in pages:
        assert row["status"] == web.expected_pages.get(row["url"], {}).get("status")
    broken = {u for u, p in web.expected_pages.items() if p["status"] is None or p["status"] >= 400}
    for target in sorted({e["dst_domain"] for e in web.expected_edges}):
        want = sorted((e["src"], e["dst"]) for e in web.expected_edges
                      if e["dst_domain"] == target and e["dst"] in broken)  # fmt: skip
        rows = all_rows(explorer, "/api/v1/broken-backlinks", target=target, limit=2)
        assert sorted((r["src"], r["dst"]) for r in rows) == want, target
        for row in rows:
            assert row["status"] == web.expected_pages[row["dst"]]["status"]
    assert any(e["dst"] in broken for e in web.expected_edges)  # the test sees some
    for source in sorted({e["src_domain"] for e in web.expected_edges}):
        want_out = Counter(e["dst_domain"] for e in web.expected_edges if e["src_domain"] == source)
        rows = all_rows(explorer, "/api/v1/outgoing-domains", target=source, limit=50)
        assert {r["domain"]: r["links"] for r in rows} == want_out, source


def test_history_ends_with_todays_counts(explorer: Explorer) -> None:
    domain = top_domain(explorer)
    edges = truth_edges(explorer, "dst_domain", domain)
    got = explorer.get("/api/v1/history", target=domain, days=30)
    assert len(got["rows"]) == 30
    last = got["rows"][-1]
    assert last["backlinks"] == len(edges)
    assert last["referring_domains"] == len({e["src_domain"] for e in edges})
    assert sum(r["new"] for r in got["rows"]) == len(edges)
    assert all(r["lost"] == 0 for r in got["rows"])


def test_intersect_equals_set_operations(explorer: Explorer) -> None:
    web = explorer.web
    referrers: dict[str, set[str]] = defaultdict(set)
    for e in web.expected_edges:
        referrers[e["dst_domain"]].add(e["src_domain"])
    a, b, c = [d for d, _ in Counter(e["dst_domain"] for e in web.expected_edges).most_common(3)]
    both = explorer.get("/api/v1/intersect", target=[a, b], limit=500)
    assert {r["domain"] for r in both["rows"]} == referrers[a] & referrers[b]
    minus = all_rows(explorer, "/api/v1/intersect", target=[a, b], exclude=c, limit=1)
    assert {r["domain"] for r in minus} == (referrers[a] & referrers[b]) - referrers[c]


def cli_json(explorer: Explorer, *argv: str) -> Any:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    out = io.StringIO()
    command.output(explorer.db, parser.parse_args([*argv, "--json", "--limit", "0"]), out)
    return json.loads(out.getvalue())


def test_cli_and_api_give_the_same_answers(explorer: Explorer) -> None:
    domain = top_domain(explorer)
    api_links = all_rows(explorer, "/api/v1/backlinks", target=domain, limit=500)
    cli = cli_json(explorer, domain)
    assert [(r["src"], r["dst"]) for r in cli["backlinks"]] == [
        (r["src"], r["dst"]) for r in api_links
    ]
    api_domains = all_rows(explorer, "/api/v1/referring-domains", target=domain, limit=500)
    assert [(r["domain"], r["links"]) for r in cli["referring_domains"]] == [
        (r["domain"], r["links"]) for r in api_domains
    ]
    anchors = cli_json(explorer, domain, "--anchors")["rows"]
    assert anchors == all_rows(explorer, "/api/v1/anchors", target=domain, limit=500)


def test_csv_export_holds_every_row(explorer: Explorer) -> None:
    domain = top_domain(explorer)
    response = explorer.client.get("/api/v1/backlinks", params={"target": domain, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == len(truth_edges(explorer, "dst_domain", domain))
    assert list(rows[0]) == list(command.LINK_COLUMNS)
    evil = explorer.client.get("/api/v1/anchors", params={"target": EVIL, "format": "csv"})
    assert evil.status_code == 200 and "<script>" in evil.text


@pytest.mark.parametrize(
    "query",
    [
        "target[$ne]=x",
        "target=acme.com&target[$ne]=x",
        'target={"$where": "sleep(1000)"}',
        "target=acme.com&limit=501",
        "target=acme.com&limit=0",
        "target=acme.com&status=$where",
        "target=acme.com&cursor=bogus",
        "target=acme.com&since=yesterday",
        "target=acme.com&one_per_domain=true&status=lost",
        "target=",
        "",
    ],
)
def test_bad_parameters_are_400(explorer: Explorer, query: str) -> None:
    response = explorer.client.get(f"/api/v1/backlinks?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["error"]


def test_a_cursor_of_another_listing_is_refused(explorer: Explorer) -> None:
    cursor = explorer.get("/api/v1/backlinks", target=top_domain(explorer), limit=1)["next"]
    response = explorer.client.get("/api/v1/backlinks", params={"target": EVIL, "cursor": cursor})
    assert response.status_code == 400


def test_every_query_has_a_time_limit(explorer: Explorer, mongo_uri: str) -> None:
    from pymongo import monitoring

    from backlinkbot.explorer import tables
    from backlinkbot.storage.queries import Graph, parse_target

    class Listener(monitoring.CommandListener):
        commands: ClassVar[list[Any]] = []

        def started(self, event: monitoring.CommandStartedEvent) -> None:
            self.commands.append(event.command)

        def succeeded(self, event: Any) -> None: ...
        def failed(self, event: Any) -> None: ...

    listener = Listener()
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        mongo_uri, tz_aware=True, event_listeners=[listener]
    )
    graph = Graph(client[explorer.db.name], max_time_ms=1234)
    target = parse_target(top_domain(explorer))
    graph.overview(target)
    graph.history(target)
    for name in tables.TABLES:
        tables.page(graph, name, target, tables.Options(), None, 10)
    graph.intersect([target])
    client.close()
    queries = [c for c in listener.commands if "aggregate" in c or "find" in c]
    assert len(queries) >= 10
    assert all(c.get("maxTimeMS") == 1234 for c in queries), queries


def test_security_headers_and_escaping(explorer: Explorer) -> None:
    response = explorer.client.get("/report", params={"target": EVIL, "tab": "backlinks"})
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert "<script>alert" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert 'href="javascript:' not in response.text

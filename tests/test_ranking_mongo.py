"""Ranking against a real MongoDB-wire server: load the links, store the scores, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import networkx as nx
import pytest

from backlinkbot.cli import main
from backlinkbot.ranking import RankOptions, load_graphs, rank_database, score_graph
from backlinkbot.ranking.store import FIELDS

SEEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def domain_of(host: str) -> str:
    return ".".join(host.split(".")[-2:])


def link(
    src_host: str,
    dst_host: str,
    page: int = 0,
    *,
    nofollow: bool = False,
    lost: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """A ``links`` document as the sink writes it."""
    doc: dict[str, Any] = {
        "src": f"https://{src_host}/{page}",
        "dst": f"https://{dst_host}/",
        "src_host": src_host,
        "dst_host": dst_host,
        "src_domain": domain_of(src_host),
        "dst_domain": domain_of(dst_host),
        "anchor": "a link",
        "alt": "",
        "image": False,
        "kind": "a",
        "nofollow": nofollow,
        "ugc": False,
        "sponsored": False,
        "section": "main",
        "first_seen": SEEN,
        "last_seen": SEEN,
    }
    if lost:
        doc["lost_at"] = SEEN
    doc.update(extra)
    return doc


LINKS = [
    link("www.a.com", "b.org", 1),
    link("www.a.com", "b.org", 2),  # a second page: weight 2
    link("blog.a.com", "b.org", nofollow=True),
    link("b.org", "c.net"),
    link("c.net", "www.a.com"),
    link("c.net", "d.io", nofollow=True),
    link("e.info", "c.net", lost=True),  # lost: not in any graph
    link("e.info", "www.a.com", lost_at=None),  # null lost_at reads as live
    link("www.a.com", "blog.a.com"),  # internal: skipped
]
MALFORMED = {"src": "https://x.com/", "dst": "https://y.com/", "src_host": "x.com"}


@pytest.fixture
def links_db(mongo_db: Any) -> Any:
    mongo_db.links.insert_many([dict(doc) for doc in LINKS] + [dict(MALFORMED)])
    return mongo_db


def edges(matrix: Any, labels: tuple[str, ...]) -> dict[tuple[str, str], float]:
    coo = matrix.tocoo()
    return {
        (labels[i], labels[j]): float(w)
        for i, j, w in zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    }


def test_load_builds_host_and_domain_graphs(links_db: Any) -> None:
    loaded = load_graphs(links_db, batch_size=2)
    assert (loaded.scanned, loaded.internal, loaded.malformed) == (9, 1, 1)
    hosts = loaded.graphs["host"]
    assert hosts.labels == ("b.org", "blog.a.com", "c.net", "d.io", "e.info", "www.a.com")
    assert edges(hosts.links, hosts.labels) == {
        ("www.a.com", "b.org"): 2.0,
        ("blog.a.com", "b.org"): 1.0,
        ("b.org", "c.net"): 1.0,
        ("c.net", "www.a.com"): 1.0,
        ("c.net", "d.io"): 1.0,
        ("e.info", "www.a.com"): 1.0,
    }
    assert edges(hosts.dofollow, hosts.labels) == {
        ("www.a.com", "b.org"): 1.0,
        ("b.org", "c.net"): 1.0,
        ("c.net", "www.a.com"): 1.0,
        ("e.info", "www.a.com"): 1.0,
    }
    assert hosts.link_count == 7
    domains = loaded.graphs["domain"]
    assert domains.labels == ("a.com", "b.org", "c.net", "d.io", "e.info")
    assert edges(domains.links, domains.labels) == {
        ("a.com", "b.org"): 3.0,
        ("b.org", "c.net"): 1.0,
        ("c.net", "a.com"): 1.0,
        ("c.net", "d.io"): 1.0,
        ("e.info", "a.com"): 1.0,
    }
    assert loaded.host_domains["blog.a.com"] == "a.com"


@pytest.mark.parametrize(("levels", "expected"), [(("host",), {"host"}), (("domain",), {"domain"})])
def test_load_only_the_levels_asked_for(
    links_db: Any, levels: tuple[str], expected: set[str]
) -> None:
    assert set(load_graphs(links_db, levels=levels).graphs) == expected


def test_load_rejects_an_unknown_level(mongo_db: Any) -> None:
    with pytest.raises(
        ValueError, match=r"expected levels among \('host', 'domain'\), got \['page'\]"
    ):
        load_graphs(mongo_db, levels=("page",))


def test_rank_database_writes_scores_and_keeps_counters(links_db: Any) -> None:
    # The sink's counters on a domain document must survive ranking.
    links_db.domains.insert_one({"_id": "b.org", "domain": "b.org", "backlinks": 3})
    when = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    report = rank_database(links_db, ranked_at=when, write_batch_size=2)
    assert report.written == {"host": 6, "domain": 5}
    assert report.ranked_at == datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)

    domain_docs = {doc["_id"]: doc for doc in links_db.domains.find()}
    assert set(domain_docs) == {"a.com", "b.org", "c.net", "d.io", "e.info"}
    assert domain_docs["b.org"]["backlinks"] == 3
    scores = report.scores["domain"]
    for i, name in enumerate(scores.graph.labels):
        doc = domain_docs[name]
        assert set(FIELDS) <= set(doc)
        assert doc["domain"] == name
        assert doc["ranked_at"] == report.ranked_at
        assert doc["rating"] == scores.rating[i]
        assert doc["pagerank"] == pytest.approx(scores.pagerank.scores[i], rel=1e-15)
        assert doc["harmonic_all"] == pytest.approx(scores.harmonic_all.scores[i], rel=1e-15)

    # Spot-check against networkx on the dofollow domain graph.
    follow = nx.DiGraph(
        [("a.com", "b.org"), ("b.org", "c.net"), ("c.net", "a.com"), ("e.info", "a.com")]
    )
    follow.add_node("d.io")
    expected = nx.pagerank(follow, tol=1e-15, max_iter=10_000)
    for name, rank in expected.items():
        assert domain_docs[name]["pagerank"] == pytest.approx(rank, abs=1e-9)
    assert nx.harmonic_centrality(follow)["a.com"] == pytest.approx(
        domain_docs["a.com"]["harmonic"]
    )
    # Nobody links to e.info; d.io's only link is nofollow.
    assert domain_docs["e.info"]["rating"] == 0.0
    assert domain_docs["d.io"]["rating"] == 0.0
    assert domain_docs["d.io"]["pagerank_all"] > domain_docs["e.info"]["pagerank_all"]
    assert max(doc["rating"] for doc in domain_docs.values()) == 100.0

    host_docs = {doc["_id"]: doc for doc in links_db.hosts.find()}
    assert set(host_docs) == {"b.org", "blog.a.com", "c.net", "d.io", "e.info", "www.a.com"}
    assert host_docs["blog.a.com"]["domain"] == "a.com"
    assert host_docs["blog.a.com"]["host"] == "blog.a.com"
    assert all(round(doc["rating"], 1) == doc["rating"] for doc in host_docs.values())


def test_rank_database_is_idempotent(links_db: Any) -> None:
    when = datetime(2026, 3, 4, tzinfo=UTC)
    rank_database(links_db, ranked_at=when)
    first = sorted(links_db.hosts.find(), key=lambda d: d["_id"])
    rank_database(links_db, ranked_at=when)
    assert sorted(links_db.hosts.find(), key=lambda d: d["_id"]) == first
    assert links_db.hosts.count_documents({}) == 6


def test_rank_database_dry_run_writes_nothing(links_db: Any) -> None:
    report = rank_database(links_db, levels=("domain",), write=False)
    assert report.written == {}
    assert set(report.scores) == {"domain"}
    assert links_db.domains.count_documents({}) == 0


def test_scores_match_a_direct_computation(links_db: Any) -> None:
    options = RankOptions(harmonic_exact_limit=0, seed=3)  # force HyperBall
    report = rank_database(links_db, options=options, write=False)
    graph = load_graphs(links_db).graphs["host"]
    direct = score_graph(graph, options=options)
    assert not direct.harmonic.exact
    assert report.scores["host"].harmonic.scores.tolist() == direct.harmonic.scores.tolist()


def test_empty_database_ranks_nothing(mongo_db: Any) -> None:
    report = rank_database(mongo_db)
    assert report.written == {"host": 0, "domain": 0}
    assert report.scores["domain"].top() == []


def test_cli_rank_prints_json_and_writes(
    links_db: Any,
    mongo_uri: str,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MONGODB_URI", mongo_uri)
    monkeypatch.setenv("MONGODB_DATABASE", links_db.name)
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert main(["rank", "--json", "--level", "domain", "--top", "3", "--tolerance", "1e-12"]) == 0
    data = json.loads(capsys.readouterr().out)
    domain = data["levels"]["domain"]
    assert set(data["levels"]) == {"domain"}
    assert (domain["nodes"], domain["edges"], domain["dofollow_edges"], domain["links"]) == (
        5,
        5,
        4,
        7,
    )
    assert domain["harmonic"] == "exact"
    assert domain["pagerank_converged"] is True
    assert [row["rating"] for row in domain["top"]] == sorted(
        (row["rating"] for row in domain["top"]), reverse=True
    )
    assert len(domain["top"]) == 3
    assert data["written"] == {"domain": 5}
    assert links_db.domains.count_documents({"rating": {"$gte": 0}}) == 5
    assert links_db.hosts.count_documents({}) == 0


def test_cli_rank_prints_a_table(
    links_db: Any,
    mongo_uri: str,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MONGODB_URI", mongo_uri)
    monkeypatch.setenv("MONGODB_DATABASE", links_db.name)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["rank", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "hosts: 6 nodes, 6 edges (7 links), 4 dofollow edges" in out
    assert "domains: 5 nodes" in out
    assert "top domains by rating" in out
    assert links_db.hosts.count_documents({}) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["rank", "--damping", "1.5"], "expected 0 <= damping < 1, got 1.5"),
        (["rank", "--hll-log2m", "3"], "expected 4 <= hll_log2m <= 16, got 3"),
    ],
)
def test_cli_rank_rejects_bad_options(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err

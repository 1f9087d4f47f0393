"""GraphWriter against a real MongoDB-wire server: inserts, recrawls, loss."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backlinkbot.items import Edge, PageItem
from backlinkbot.storage.domains import recount_domains
from backlinkbot.storage.schema import ensure_indexes, link_fingerprint, link_id
from backlinkbot.storage.writer import GraphWriter

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def edge(src: str, dst: str, **attrs: Any) -> Edge:
    src_host = src.split("/")[2]
    dst_host = dst.split("/")[2]
    return Edge(
        src=src, dst=dst, src_host=src_host, dst_host=dst_host,
        src_domain=".".join(src_host.split(".")[-2:]),
        dst_domain=".".join(dst_host.split(".")[-2:]), **attrs,
    )  # fmt: skip


def page(url: str, edges: list[Edge], *, at: datetime = T0, status: int | None = 200) -> PageItem:
    host = url.split("/")[2]
    return PageItem(
        url=url, status=status, fetched_at=at, content_type="text/html", host=host,
        domain=".".join(host.split(".")[-2:]), edges=edges,
    )  # fmt: skip


A = "http://a.com/"
EDGES = [
    edge(A, "http://b.com/", anchor="B"),
    edge(A, "http://c.org/x", anchor="C", nofollow=True),
    edge(A, "http://www.a.com/internal", anchor="in"),
]


def links(db: Any, **query: Any) -> dict[str, dict[str, Any]]:
    return {d["dst"]: d for d in db.links.find(query)}


@pytest.fixture
def writer(mongo_db: Any) -> GraphWriter:
    ensure_indexes(mongo_db)
    return GraphWriter(mongo_db)


def test_first_crawl_stores_external_edges_and_page(writer: GraphWriter, mongo_db: Any) -> None:
    result = writer.write([page(A, EDGES)])
    stored = links(mongo_db)
    assert set(stored) == {"http://b.com/", "http://c.org/x"}
    doc = stored["http://c.org/x"]
    assert doc["_id"] == link_id(A, "http://c.org/x")
    assert doc["nofollow"] is True and doc["anchor"] == "C"
    assert doc["first_seen"] == doc["last_seen"] == T0
    assert "lost_at" not in doc
    pg = mongo_db.pages.find_one({"_id": A})
    assert pg["links_out"] == 3 and pg["links_external"] == 2
    assert pg["first_fetched"] == pg["fetched_at"] == T0
    assert result.links_inserted == 2


def test_store_internal_keeps_same_domain_edges(mongo_db: Any) -> None:
    GraphWriter(mongo_db, store_internal=True).write([page(A, EDGES)])
    assert "http://www.a.com/internal" in links(mongo_db)


def test_replaying_a_batch_changes_nothing(writer: GraphWriter, mongo_db: Any) -> None:
    writer.write([page(A, EDGES)])
    before = (list(mongo_db.links.find().sort("_id")), list(mongo_db.pages.find()))
    writer.write([page(A, EDGES)])
    writer.write([page(A, EDGES), page(A, EDGES)])
    after = (list(mongo_db.links.find().sort("_id")), list(mongo_db.pages.find()))
    assert before == after


def test_unchanged_recrawl_refreshes_last_seen_with_constant_operations(
    writer: GraphWriter, mongo_db: Any
) -> None:
    many = [edge(A, f"http://site{i}.net/") for i in range(50)]
    writer.write([page(A, many)])
    later = T0 + timedelta(days=1)
    result = writer.write([page(A, many, at=later)])
    # One read of pages, one bulk for links, one bulk for the page update.
    assert result.operations == 3
    assert result.links_inserted == result.links_lost == 0
    for doc in mongo_db.links.find():
        assert doc["first_seen"] == T0 and doc["last_seen"] == later


def test_recrawl_inserts_new_marks_lost_and_restores(writer: GraphWriter, mongo_db: Any) -> None:
    writer.write([page(A, EDGES)])
    t1 = T0 + timedelta(hours=1)
    new = [EDGES[0], edge(A, "http://d.de/", anchor="D")]
    result = writer.write([page(A, new, at=t1)])
    stored = links(mongo_db)
    assert stored["http://c.org/x"]["lost_at"] == t1
    assert stored["http://d.de/"]["first_seen"] == t1
    assert stored["http://b.com/"]["last_seen"] == t1
    assert (result.links_inserted, result.links_lost) == (1, 1)
    t2 = T0 + timedelta(hours=2)
    result = writer.write([page(A, EDGES, at=t2)])
    stored = links(mongo_db)
    back = stored["http://c.org/x"]
    assert "lost_at" not in back and back["restored"] == 1 and back["first_seen"] == T0
    assert stored["http://d.de/"]["lost_at"] == t2
    assert result.links_restored == 1


def test_changed_attributes_are_updated(writer: GraphWriter, mongo_db: Any) -> None:
    writer.write([page(A, EDGES)])
    t1 = T0 + timedelta(hours=1)
    changed = [edge(A, "http://b.com/", anchor="Bee", sponsored=True), EDGES[1]]
    writer.write([page(A, changed, at=t1)])
    doc = links(mongo_db)["http://b.com/"]
    assert doc["anchor"] == "Bee" and doc["sponsored"] is True
    assert doc["first_seen"] == T0 and doc["last_seen"] == t1


def test_failed_fetch_keeps_links(writer: GraphWriter, mongo_db: Any) -> None:
    writer.write([page(A, EDGES)])
    t1 = T0 + timedelta(hours=1)
    writer.write([page(A, [], at=t1, status=None)])
    writer.write([page(A, [], at=t1 + timedelta(seconds=1), status=503)])
    assert all("lost_at" not in d for d in mongo_db.links.find())
    pg = mongo_db.pages.find_one({"_id": A})
    assert pg["status"] == 503 and pg["links_fp"] == link_fingerprint(EDGES[:2])


def test_older_batch_replayed_late_does_not_go_back_in_time(
    writer: GraphWriter, mongo_db: Any
) -> None:
    t1 = T0 + timedelta(hours=1)
    writer.write([page(A, EDGES, at=t1)])
    writer.write([page(A, EDGES[:1], at=T0)])
    pg = mongo_db.pages.find_one({"_id": A})
    assert pg["fetched_at"] == t1
    assert links(mongo_db)["http://b.com/"]["last_seen"] == t1


def test_domain_counts(writer: GraphWriter, mongo_db: Any) -> None:
    writer.write([
        page(A, [edge(A, "http://b.com/", anchor="x")]),
        page("http://x.a.com/p", [edge("http://x.a.com/p", "http://www.b.com/", nofollow=True)]),
        page("http://c.org/", [edge("http://c.org/", "http://b.com/q")]),
    ])  # fmt: skip
    recount_domains(mongo_db, {"b.com"})
    doc = mongo_db.domains.find_one({"_id": "b.com"})
    assert doc["backlinks"] == 3
    assert doc["backlinks_nofollow"] == 1 and doc["backlinks_dofollow"] == 2
    assert doc["referring_domains"] == 2 and doc["referring_hosts"] == 3

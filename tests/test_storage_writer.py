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
    # The first miss only marks the link unconfirmed; it is still live.
    assert "lost_at" not in stored["http://c.org/x"]
    assert stored["http://c.org/x"]["unconfirmed_since"] == t1
    assert stored["http://c.org/x"]["unconfirmed_reason"] == "removed"
    assert mongo_db.pages.find_one({"_id": A})["unconfirmed_since"] == t1
    assert stored["http://d.de/"]["first_seen"] == t1
    assert stored["http://b.com/"]["last_seen"] == t1
    assert (result.links_inserted, result.links_unconfirmed, result.links_lost) == (1, 1, 0)
    # A second fetch after the delay confirms the loss.
    t2 = t1 + timedelta(hours=2)
    result = writer.write([page(A, new, at=t2)])
    stored = links(mongo_db)
    assert stored["http://c.org/x"]["lost_at"] == t2
    assert stored["http://c.org/x"]["lost_reason"] == "removed"
    assert "unconfirmed_since" not in stored["http://c.org/x"]
    assert "unconfirmed_since" not in mongo_db.pages.find_one({"_id": A})
    assert result.links_lost == 1
    t3 = t2 + timedelta(hours=1)
    result = writer.write([page(A, EDGES, at=t3)])
    stored = links(mongo_db)
    back = stored["http://c.org/x"]
    assert "lost_at" not in back and "lost_reason" not in back
    assert back["restored"] == 1 and back["first_seen"] == T0
    assert stored["http://d.de/"]["unconfirmed_since"] == t3
    assert result.links_restored == 1


def test_link_back_before_confirmation_was_never_lost(writer: GraphWriter, mongo_db: Any) -> None:
    writer.write([page(A, EDGES)])
    t1 = T0 + timedelta(hours=1)
    writer.write([page(A, EDGES[:1], at=t1)])
    t2 = t1 + timedelta(hours=2)
    writer.write([page(A, EDGES, at=t2)])
    doc = links(mongo_db)["http://c.org/x"]
    assert "lost_at" not in doc and "unconfirmed_since" not in doc and "restored" not in doc
    assert doc["last_seen"] == t2
    assert "unconfirmed_since" not in mongo_db.pages.find_one({"_id": A})
    # Back to the fast path: the next unchanged fetch costs three operations.
    result = writer.write([page(A, EDGES, at=t2 + timedelta(hours=1))])
    assert result.operations == 3


def test_refetch_before_the_delay_decides_nothing(writer: GraphWriter, mongo_db: Any) -> None:
    writer.write([page(A, EDGES)])
    t1 = T0 + timedelta(hours=1)
    writer.write([page(A, EDGES[:1], at=t1)])
    writer.write([page(A, EDGES[:1], at=t1 + timedelta(minutes=10))])
    writer.write([page(A, EDGES[:1], at=t1)])  # a replay
    doc = links(mongo_db)["http://c.org/x"]
    assert "lost_at" not in doc and doc["unconfirmed_since"] == t1


REASONS = [
    (dict(status=404), [], "page_gone"),
    (dict(status=410), [], "page_gone"),
    (dict(status=301), [edge(A, "http://moved.net/", kind="redirect")], "page_redirected"),
    (dict(status=None), [], "page_error"),
    (dict(status=503), [], "page_error"),
    (dict(status=403), [], "page_error"),
    (dict(noindex=True), [EDGES[0]], "noindex"),
    (dict(), [EDGES[0], edge(A, "http://a.com/other", kind="canonical")], "canonicalized"),
    (dict(), [EDGES[0]], "removed"),
]


@pytest.mark.parametrize(("fetch", "edges", "reason"), REASONS)
def test_lost_reason(
    writer: GraphWriter, mongo_db: Any, fetch: dict[str, Any], edges: list[Edge], reason: str
) -> None:
    writer.write([page(A, EDGES)])
    for hours in (1, 3):
        item = page(A, edges, at=T0 + timedelta(hours=hours), status=fetch.get("status", 200))
        item.noindex = fetch.get("noindex", False)
        writer.write([item])
    doc = links(mongo_db)["http://c.org/x"]
    assert doc["lost_at"] == T0 + timedelta(hours=3)
    assert doc["lost_reason"] == reason


def test_now_nofollow_is_recorded_on_the_live_link(writer: GraphWriter, mongo_db: Any) -> None:
    writer.write([page(A, EDGES)])
    t1 = T0 + timedelta(hours=1)
    writer.write([page(A, [edge(A, "http://b.com/", anchor="B", nofollow=True), EDGES[1]], at=t1)])
    doc = links(mongo_db)["http://b.com/"]
    assert doc["nofollow"] is True and doc["nofollow_since"] == t1 and "lost_at" not in doc
    writer.write([page(A, EDGES, at=t1 + timedelta(hours=1))])
    doc = links(mongo_db)["http://b.com/"]
    assert doc["nofollow"] is False and "nofollow_since" not in doc


def test_links_carry_the_source_ip(writer: GraphWriter, mongo_db: Any) -> None:
    first = page(A, EDGES)
    first.ip = "192.0.2.7"
    writer.write([first])
    assert {d["src_ip"] for d in mongo_db.links.find()} == {"192.0.2.7"}
    moved = page(A, EDGES, at=T0 + timedelta(hours=1))
    moved.ip = "198.51.100.9"
    writer.write([moved])
    assert {d["src_ip"] for d in mongo_db.links.find()} == {"198.51.100.9"}


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
    assert all(d["unconfirmed_reason"] == "page_error" for d in mongo_db.links.find())
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


def test_lazy_last_seen_refresh_writes_only_the_page(mongo_db: Any) -> None:
    ensure_indexes(mongo_db)
    writer = GraphWriter(mongo_db, last_seen_refresh=timedelta(days=7))
    writer.write([page(A, EDGES)])
    day1 = T0 + timedelta(days=1)
    result = writer.write([page(A, EDGES, at=day1)])
    assert result.links_refreshed == 0
    assert {d["last_seen"] for d in mongo_db.links.find()} == {T0}
    pg = mongo_db.pages.find_one({"_id": A})
    assert (pg["links_seen_at"], pg["links_refreshed_at"]) == (day1, T0)
    day8 = T0 + timedelta(days=8)
    result = writer.write([page(A, EDGES, at=day8)])
    assert result.links_refreshed == 2
    assert {d["last_seen"] for d in mongo_db.links.find()} == {day8}
    assert mongo_db.pages.find_one({"_id": A})["links_refreshed_at"] == day8


def test_a_page_whose_links_were_truncated_says_so(mongo_db: Any) -> None:
    ensure_indexes(mongo_db)
    writer = GraphWriter(mongo_db)
    truncated = page(A, EDGES)
    truncated.links_truncated = 12345
    writer.write([truncated, page("http://c.org/", [])])
    assert mongo_db.pages.find_one({"_id": A})["links_truncated"] == 12345
    assert mongo_db.pages.find_one({"_id": "http://c.org/"})["links_truncated"] == 0
    # A failed refetch keeps what the last good fetch said.
    writer.write([page(A, [], at=T0 + timedelta(days=1), status=None)])
    assert mongo_db.pages.find_one({"_id": A})["links_truncated"] == 12345


def test_many_edges_are_written_in_bounded_bulk_calls(
    mongo_db: Any, mongo_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pymongo import MongoClient, monitoring

    from backlinkbot.storage import writer as module

    class Inserts(monitoring.CommandListener):
        def __init__(self) -> None:
            self.sizes: list[tuple[str, int]] = []

        def started(self, event: monitoring.CommandStartedEvent) -> None:
            if event.command_name == "insert":
                self.sizes.append((event.command["insert"], len(event.command["documents"])))

        def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
            pass

        def failed(self, event: monitoring.CommandFailedEvent) -> None:
            pass

    monkeypatch.setattr(module, "MAX_BULK_OPS", 7)
    ensure_indexes(mongo_db)
    inserts = Inserts()
    client: MongoClient[dict[str, Any]] = MongoClient(
        mongo_uri, tz_aware=True, event_listeners=[inserts]
    )
    try:
        big = page(A, [edge(A, f"http://b{i}.com/") for i in range(30)])
        result = GraphWriter(client[mongo_db.name]).write([big, page("http://c.org/", [])])
    finally:
        client.close()
    assert result.links_inserted == 30
    assert mongo_db.links.count_documents({"src": A}) == 30
    assert inserts.sizes == [("links", 7)] * 4 + [("links", 2), ("pages", 2)]

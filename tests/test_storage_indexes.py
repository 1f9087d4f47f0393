"""Every query of the graph is served by an index.

Against a real MongoDB (``MONGODB_URI``) the test reads ``explain()`` and
requires an ``IXSCAN`` of the documented index and no ``COLLSCAN``. The
embedded nx-27017 answers ``explain()`` with SQLite's plan, and its planner
picks indexes by the data it holds, so there the test checks what holds on
any server: the index exists and its keys cover the query's filter and sort
fields, equality fields first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from backlinkbot.storage.domains import loss_probe
from backlinkbot.storage.queries import Target, link_filter
from backlinkbot.storage.schema import INDEXES, ensure_indexes, sparse_range

T = datetime(2026, 1, 1, tzinfo=UTC)
DOMAIN, HOST, URL = (
    Target("domain", "b.com"),
    Target("host", "www.b.com"),
    Target("url", "http://www.b.com/"),
)

#: (question, collection, filter, sort, index, fields checked elsewhere)
QUERIES: list[tuple[str, str, dict[str, Any], list[tuple[str, int]], str]] = [
    ("live backlinks of a URL", "links", link_filter(URL), [("first_seen", -1)], "dst_time"),
    ("live backlinks of a host", "links", link_filter(HOST), [("first_seen", -1)],
     "dst_host_time"),
    ("live backlinks of a domain", "links", link_filter(DOMAIN), [("first_seen", -1)],
     "dst_domain_time"),
    ("lost links of a domain", "links", link_filter(DOMAIN, lost_since=T), [("lost_at", -1)],
     "dst_domain_time"),
    ("lost links of a URL", "links", link_filter(URL, lost_since=T), [("lost_at", -1)],
     "dst_time"),
    ("new links of a domain", "links", link_filter(DOMAIN, live=False, new_since=T), [],
     "dst_domain_time"),
    ("new links of a host", "links", link_filter(HOST, live=False, new_since=T), [],
     "dst_host_time"),
    ("referring domains, anchors", "links", link_filter(DOMAIN), [], "dst_domain_live"),
    ("one link per referring domain", "links", link_filter(DOMAIN), [("src_domain", 1)],
     "dst_domain_live"),
    ("outlinks of a page", "links", {"src": "http://a.com/"}, [], "src"),
    ("lost links, newest first", "links", {"lost_at": {"$gte": T}}, [("lost_at", -1)],
     "lost_at"),
    ("any link lost lately (domain recount)", "links", loss_probe(T), [], "lost_at"),
    ("pages of a host", "pages", {"host": "www.b.com"}, [], "host"),
    ("pages due for a recrawl", "pages", {"fetched_at": {"$lt": T}}, [("fetched_at", 1)],
     "fetched_at"),
    ("pages awaiting a confirming fetch", "pages", sparse_range("unconfirmed_since", {"$lte": T}),
     [("unconfirmed_since", 1)], "unconfirmed_since"),
    ("most linked domains", "domains", {}, [("backlinks", -1)], "backlinks"),
]  # fmt: skip
#: Filter fields an index need not hold (checked on the fetched documents).
RESIDUAL = {"nofollow"}


def _is_equality(value: Any) -> bool:
    return not isinstance(value, dict) or set(value) <= {"$in", "$eq"}


def _stages(plan: Any) -> list[dict[str, Any]]:
    if isinstance(plan, dict):
        found = [plan] if "stage" in plan else []
        for value in plan.values():
            found.extend(_stages(value))
        return found
    if isinstance(plan, list):
        return [s for item in plan for s in _stages(item)]
    return []


def _index(collection: str, name: str) -> list[str]:
    model = next(m for m in INDEXES[collection] if m.document["name"] == name)
    return list(model.document["key"])


@pytest.mark.parametrize(
    ("question", "collection", "query", "sort", "index"), QUERIES, ids=[q[0] for q in QUERIES]
)
def test_query_is_served_by_its_index(
    mongo_db: Any, question: str, collection: str, query: dict[str, Any],
    sort: list[tuple[str, int]], index: str,
) -> None:  # fmt: skip
    ensure_indexes(mongo_db)
    keys = _index(collection, index)
    # nx-27017 names indexes its own way: match them by their key fields.
    stored = [[f for f, _ in i["key"]] for i in mongo_db[collection].index_information().values()]
    assert keys in stored, stored
    equality = [f for f, v in query.items() if _is_equality(v) and f not in RESIDUAL]
    ranges = [f for f, v in query.items() if not _is_equality(v) and f not in RESIDUAL]
    # Equality fields lead the index; ranges and sort keys are in it.
    assert set(keys[: len(equality)]) == set(equality), (keys, equality)
    assert {f for f, _ in sort} | set(ranges) <= set(keys), (keys, sort, ranges)
    cursor = mongo_db[collection].find(query)
    if sort:
        cursor = cursor.sort(sort)
    plan = cursor.explain()
    stages = _stages(plan.get("queryPlanner", {}).get("winningPlan"))
    if stages:  # a real MongoDB
        names = {s["stage"] for s in stages}
        assert "COLLSCAN" not in names, plan
        assert any(s["stage"] == "IXSCAN" and s.get("indexName") == index for s in stages), plan
    else:  # nx-27017: SQLite's plan
        assert plan["queryPlanner"]["winningPlan"], plan


def test_dofollow_filter_keeps_the_index(mongo_db: Any) -> None:
    query = link_filter(DOMAIN, dofollow=True)
    assert query == {"dst_domain": "b.com", "lost_at": None, "nofollow": False}

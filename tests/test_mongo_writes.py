"""Write and read semantics the sink relies on, checked against the session's
MongoDB (the embedded nx-27017 launcher, whose write commands each run in one
SQLite transaction and whose plain projections skip a copy, or the real
server that ``MONGODB_URI`` names): a batch that meets a duplicate key
reports it in ``writeErrors``, keeps the documents before it, and
(unordered) writes the rest; projections return exactly the asked fields."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pymongo
import pytest
from bson import ObjectId
from pymongo import InsertOne, UpdateOne
from pymongo.errors import BulkWriteError


def _ids(collection: Any) -> list[int]:
    return sorted(doc["_id"] for doc in collection.find({}, {"_id": 1}))


def test_ordered_insert_stops_at_duplicate_and_keeps_earlier(mongo_db: Any) -> None:
    coll = mongo_db["writes"]
    coll.insert_one({"_id": 3})
    with pytest.raises(BulkWriteError) as caught:
        coll.insert_many([{"_id": i} for i in range(1, 6)], ordered=True)
    errors = caught.value.details["writeErrors"]
    assert [e["index"] for e in errors] == [2]
    assert errors[0]["code"] == 11000
    assert _ids(coll) == [1, 2, 3]


def test_unordered_insert_reports_duplicate_and_writes_the_rest(mongo_db: Any) -> None:
    coll = mongo_db["writes"]
    coll.insert_one({"_id": 3})
    with pytest.raises(BulkWriteError) as caught:
        coll.insert_many([{"_id": i} for i in range(1, 6)], ordered=False)
    assert [e["index"] for e in caught.value.details["writeErrors"]] == [2]
    assert caught.value.details["nInserted"] == 4
    assert _ids(coll) == [1, 2, 3, 4, 5]


def test_mixed_bulk_write_is_applied_and_visible_at_once(mongo_db: Any, mongo_uri: str) -> None:
    coll = mongo_db["writes"]
    requests = [
        InsertOne({"_id": 1, "n": 0}),
        UpdateOne({"_id": 1}, {"$inc": {"n": 1}}),
        UpdateOne({"_id": 2}, {"$set": {"n": 5}}, upsert=True),
    ]
    result = coll.bulk_write(requests, ordered=True)
    assert (result.inserted_count, result.modified_count, result.upserted_count) == (1, 1, 1)
    # Committed when the command returns: another client sees it.
    with pymongo.MongoClient(mongo_uri) as other:
        seen = other[mongo_db.name]["writes"].find()
        assert {d["_id"]: d["n"] for d in seen} == {1: 1, 2: 5}
    coll.delete_many({"n": {"$gt": 0}})
    assert coll.count_documents({}) == 0


@pytest.mark.parametrize(
    ("projection", "expected"),
    [
        ({"_id": 0, "a": 1, "when": 1}, {"a": 1, "when": datetime(2026, 1, 2, tzinfo=UTC)}),
        ({"a": 1, "missing": 1}, {"_id": 7, "a": 1}),
        ({"a": True, "list": 1, "_id": False}, {"a": 1, "list": [1, {"x": 2}]}),
        ({"_id": 0, "nested": 0, "list": 0, "when": 0}, {"a": 1, "none": None}),
        ({"_id": 1}, {"_id": 7}),
    ],
)
def test_projections_return_the_asked_fields(
    mongo_db: Any, mongo_uri: str, projection: dict[str, Any], expected: dict[str, Any]
) -> None:
    coll = mongo_db["projections"]
    coll.insert_one({
        "_id": 7, "a": 1, "none": None, "nested": {"x": 1, "y": 2}, "list": [1, {"x": 2}],
        "when": datetime(2026, 1, 2, tzinfo=UTC),
    })  # fmt: skip
    with pymongo.MongoClient(mongo_uri, tz_aware=True) as c:
        got = c[mongo_db.name]["projections"].find_one({"_id": 7}, projection)
    assert got == expected
    # The stored document is untouched by what a projection picked.
    assert coll.find_one({"_id": 7})["nested"] == {"x": 1, "y": 2}


def test_inserted_documents_come_back_as_sent(mongo_db: Any, mongo_uri: str) -> None:
    """Nested values, bytes, dates, text and server- or client-made ``_id``
    values survive an insert batch unchanged (the launcher copies only the
    top level of each document)."""
    shared = {"deep": {"list": [1, 2.5, None, {"k": "v"}]}}
    documents = [
        {"_id": "http://a.example/", "nested": shared, "same": shared, "when":
         datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC), "blob": b"\x00\xffbytes", "text": "Ünïcödé ✓"},
        {"n": 1, "flags": [True, False], "empty": {}, "none": None},
        {"_id": 42, "anchor": "", "nums": [-1, 0, 2**40]},
    ]  # fmt: skip
    result = mongo_db["roundtrip"].insert_many(documents, ordered=False)
    assert result.inserted_ids[0] == "http://a.example/"
    assert documents[1]["_id"] == result.inserted_ids[1]  # made by pymongo
    assert shared == {"deep": {"list": [1, 2.5, None, {"k": "v"}]}}
    with pymongo.MongoClient(mongo_uri, tz_aware=True) as c:
        stored = {d["_id"]: d for d in c[mongo_db.name]["roundtrip"].find()}
    assert len(stored) == 3
    for sent in documents:
        got = stored[sent["_id"]]
        assert got == {k: (bytes(v) if isinstance(v, bytes) else v) for k, v in sent.items()}


def test_flat_documents_come_back_as_sent(mongo_db: Any, mongo_uri: str) -> None:
    """Documents with no nested value, as the crawler writes them, take the
    launcher's fast paths; ObjectId, bytes and date values at the top level
    survive them, and so does a document that is flat but for one list."""
    when = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
    documents = [
        {"_id": "e1", "src": "http://a.example/", "first_seen": when, "n": 3, "f": 0.5,
         "flag": False, "none": None, "text": "Ünïcödé \u2028 \"quoted\""},
        {"_id": "e2", "ref": ObjectId("0123456789abcdef01234567"), "when": when},
        {"_id": "e3", "blob": b"\x00\x01", "when": when},
        {"_id": "e4", "when": when, "list": [when, {"x": ObjectId("0123456789abcdef01234568")}]},
    ]  # fmt: skip
    mongo_db["flat"].insert_many(documents, ordered=False)
    with pymongo.MongoClient(mongo_uri, tz_aware=True) as c:
        stored = {d["_id"]: d for d in c[mongo_db.name]["flat"].find()}
        # Dates are still dates to the server: a range query finds them.
        assert c[mongo_db.name]["flat"].count_documents({"when": {"$gte": when}}) == 3
    for sent in documents:
        assert stored[sent["_id"]] == sent


def test_a_document_with_nan_is_refused_alone(mongo_db: Any, mongo_uri: str) -> None:
    """NaN is a valid BSON double; the stand-in's JSON storage cannot hold it
    and refuses that document alone. A real MongoDB stores it."""
    batch = [{"_id": "ok1"}, {"_id": "nan", "x": float("nan")}, {"_id": "ok2"}]
    try:
        mongo_db["nan"].insert_many(batch, ordered=False)
    except BulkWriteError as exc:
        assert [e["index"] for e in exc.details["writeErrors"]] == [1]
    ids = {d["_id"] for d in mongo_db["nan"].find()}
    assert {"ok1", "ok2"} <= ids


def test_a_refused_document_fails_alone(mongo_db: Any) -> None:
    """One bad document in an unordered batch (a duplicate key) is reported
    by index and the others are written."""
    coll = mongo_db["refused"]
    coll.insert_one({"_id": "taken"})
    batch = [{"_id": "a", "v": 1}, {"_id": "taken"}, {"_id": "b", "v": {"x": [1]}}]
    with pytest.raises(BulkWriteError) as caught:
        coll.insert_many(batch, ordered=False)
    assert [e["index"] for e in caught.value.details["writeErrors"]] == [1]
    assert {d["_id"]: d.get("v") for d in coll.find()} == {
        "taken": None, "a": 1, "b": {"x": [1]},
    }  # fmt: skip


def test_embedded_server_opens_databases_with_a_large_page_cache(
    mongo_db: Any, mongo_uri: str
) -> None:
    """The launcher's SQLite tuning is in place (nx-27017 answers its own
    ``cache_size`` command; a real MongoDB has no such command)."""
    from backlinkbot.embedded.nxserver import CACHE_KIB

    mongo_db["tuned"].insert_one({"_id": 1})
    try:
        answer = mongo_db.command({"cache_size": 1})
    except pymongo.errors.OperationFailure:
        pytest.skip("not the embedded server")
    assert answer["cache_size"] == -CACHE_KIB


def test_launcher_helpers() -> None:
    """The launcher's flat check and the sections that print short."""
    from bson import Int64

    from backlinkbot.embedded.nxserver import _FLAT_TYPES, _flat, _Sections

    now = datetime(2026, 1, 1)
    assert _flat({"a": 1, "b": "x", "c": None, "d": 1.5, "e": True, "f": now})
    assert _flat({})
    for nested in ([1], {"x": 1}, b"x", ObjectId(), Int64(1)):
        assert not _flat({"a": 1, "b": nested}), nested
    assert _flat({"_id": ObjectId(), "a": 1}, _FLAT_TYPES | {ObjectId})
    sections = _Sections([("body", {"insert": "links"}), ("payload", {"documents": [{}] * 500})])
    assert f"{sections}" == repr(sections) == "<2 sections>"
    assert [kind for kind, _ in sections] == ["body", "payload"]


def test_launcher_builds_sparse_single_field_indexes_as_partial_indexes(tmp_path: Path) -> None:
    """neosqlite makes ``sparse`` a partial index only for a key given as a
    field name; the launcher does the same for ``[(field, direction)]``, the
    form pymongo sends, so that documents without the field (every live
    link, for ``lost_at``) cost no index entry."""
    import sqlite3

    import neosqlite

    from backlinkbot.embedded.nxserver import _single_field, apply_sparse_single_field_indexes

    assert _single_field([("lost_at", -1)]) == "lost_at"
    assert _single_field([("a", 1), ("b", 1)]) is None
    assert _single_field([("a", "text")]) is None
    assert _single_field([("_id", 1)]) is None
    assert _single_field("a") is None

    apply_sparse_single_field_indexes()
    path = tmp_path / "t.db"
    with neosqlite.Connection(str(path)) as db:
        db["links"].create_index([("lost_at", -1)], sparse=True)
        db["links"].create_index([("dst", 1)])
        db["links"].insert_many([{"dst": "a"}, {"dst": "b", "lost_at": 1}])
    sql = dict(sqlite3.connect(path).execute("SELECT name, sql FROM sqlite_master"))
    assert sql["idx_links_lost_at"].endswith("WHERE json_extract(data, '$.lost_at') IS NOT NULL")
    assert "WHERE" not in sql["idx_links_dst"]
    with neosqlite.Connection(str(path)) as db:
        assert [d["dst"] for d in db["links"].find({"lost_at": {"$gte": 0}})] == ["b"]
        assert sorted(d["dst"] for d in db["links"].find({"lost_at": None})) == ["a"]


def test_the_recount_probe_reads_the_sparse_index_in_the_stand_in(tmp_path: Path) -> None:
    """A date range alone makes neosqlite compare through ``datetime()`` and
    read every link; the recount's probe (with ``$exists``) reads the
    partial ``lost_at`` index, and finds the same links."""
    import neosqlite

    from backlinkbot.embedded.nxserver import apply_sparse_single_field_indexes
    from backlinkbot.storage.domains import loss_probe

    apply_sparse_single_field_indexes()
    start = datetime(2026, 1, 1)
    with neosqlite.Connection(str(tmp_path / "t.db")) as db:
        links = db["links"]
        links.create_index([("lost_at", -1)], sparse=True)
        links.insert_many([{"dst": "live"}, {"dst": "old", "lost_at": datetime(2025, 6, 1)},
                           {"dst": "new", "lost_at": datetime(2026, 2, 1)}])  # fmt: skip
        statements: list[str] = []
        db.db.set_trace_callback(statements.append)
        found = [d["dst"] for d in links.find(loss_probe(start))]
        assert found == [d["dst"] for d in links.find({"lost_at": {"$gte": start}})] == ["new"]
        db.db.set_trace_callback(None)
        probe, plain = (s for s in statements if s.startswith("SELECT") and "FROM links" in s)
        plans = [" ".join(row[-1] for row in db.db.execute(f"EXPLAIN QUERY PLAN {sql}"))
                 for sql in (probe, plain)]  # fmt: skip
        assert "USING INDEX idx_links_lost_at" in plans[0], plans
        assert plans[1] == "SCAN links", plans


def test_launcher_encodes_flat_documents_as_the_standard_encoder_does() -> None:
    """``orjson``'s text for a flat document reads back as the standard
    encoder's (compact, UTF-8 instead of escapes, dates as ``$date``); what
    only the standard encoder handles as neosqlite does is left to it."""
    import json
    import math

    from backlinkbot.embedded.nxserver import _encode_flat

    def standard(document: dict[str, Any]) -> str:
        return json.dumps(document, default=lambda v: {"$date": v.isoformat()}, allow_nan=False)

    when = datetime(2026, 5, 6, 7, 8, 9, 123456)
    for document in (
        {"_id": "e1", "src": "http://a.example/", "n": 3, "f": 0.1, "big": 2**63 - 1,
         "neg": -(2**63), "flag": True, "none": None, "text": "Ünïcödé \u2028 \"q\" \\ \x01\t"},
        {"_id": "e2", "naive": when, "aware": when.replace(tzinfo=UTC),
         "round": datetime(2026, 1, 1)},
        {},
    ):  # fmt: skip
        text = _encode_flat(document)
        assert text is not None
        assert json.loads(text) == json.loads(standard(document))
    for refused in ({"x": math.nan}, {"x": math.inf}, {"x": -math.inf}, {"x": 2**64},
                    {"x": "\ud800"}):  # fmt: skip
        assert _encode_flat(refused) is None, refused
        # The same with the value types the caller looked at already.
        assert _encode_flat(refused, set(map(type, refused.values()))) is None, refused


def test_embedded_server_creates_files_with_large_pages_and_keeps_older_ones(
    tmp_path: Path,
) -> None:
    """A database file the launcher creates has 16 KiB pages and no
    auto-vacuum; a file made before (neosqlite's 4 KiB pages, incremental
    auto-vacuum) opens as it is, and its data reads and grows."""
    import sqlite3

    import neosqlite

    from backlinkbot.embedded import EmbeddedMongo
    from backlinkbot.embedded.nxserver import PAGE_SIZE

    data = tmp_path / "db"
    data.mkdir()
    with neosqlite.Connection(str(data / "older.db")) as db:
        db["pages"].insert_one({"_id": "kept", "n": 1})
    server = EmbeddedMongo(tmp_path)
    uri = server.start()
    try:
        with pymongo.MongoClient(uri) as client:
            client["fresh"]["pages"].insert_many([{"_id": i} for i in range(100)])
            older = client["older"]["pages"]
            assert older.find_one({"_id": "kept"}) == {"_id": "kept", "n": 1}
            older.insert_one({"_id": "added"})
            assert older.count_documents({}) == 2
            assert client["fresh"]["pages"].count_documents({}) == 100
    finally:
        server.stop()

    def layout(name: str) -> tuple[int, int]:
        connection = sqlite3.connect(data / f"{name}.db")
        try:
            return (connection.execute("PRAGMA page_size").fetchone()[0],
                    connection.execute("PRAGMA auto_vacuum").fetchone()[0])  # fmt: skip
        finally:
            connection.close()

    assert layout("fresh") == (PAGE_SIZE, 0)
    assert layout("older") == (4096, 2)

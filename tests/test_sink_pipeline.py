"""The sink's writer path: signal after storing, retry, spill, reject."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pymongo
import pytest

from backlinkbot import signals as our_signals
from backlinkbot.embedded.servers import free_port
from backlinkbot.storage.buffer import Batch
from backlinkbot.storage.schema import ensure_indexes
from backlinkbot.storage.writer import GraphWriter
from pipelines import mongo as sink

from .test_storage_writer import EDGES, edge, page


class Now:
    """Stands in for the reactor: runs what the writer thread hands it."""

    @staticmethod
    def callFromThread(f: Any, *args: Any, **kwargs: Any) -> None:
        f(*args, **kwargs)


class Stats:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def inc_value(self, key: str, value: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + value


class Signals:
    def __init__(self, db: Any) -> None:
        self.db = db
        self.sent: list[tuple[list[str], int]] = []

    def send_catch_log(self, *, signal: object, urls: list[str]) -> None:
        assert signal is our_signals.pages_stored
        # What is in MongoDB at the moment the signal goes out.
        stored = self.db.pages.count_documents({"_id": {"$in": urls}}) if self.db is not None else 0
        self.sent.append((urls, stored))


@pytest.fixture(autouse=True)
def reactor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sink, "reactor", Now)


def pipeline(uri: str, database: str, tmp_path: Path, signals: Signals) -> sink.MongoSinkPipeline:
    return sink.MongoSinkPipeline(
        uri, database, stats=Stats(), signals=signals, batch_pages=2, flush_seconds=1.0,
        max_retries=3, store_internal=False, spill_dir=tmp_path, max_backoff=0.05,
    )  # fmt: skip


def pages() -> list[Any]:
    return [
        page("http://a.com/", EDGES),
        page("http://c.org/", [edge("http://c.org/", "http://b.com/")]),
    ]


def test_pages_stored_is_sent_once_the_batch_is_stored(
    mongo_db: Any, mongo_uri: str, tmp_path: Path
) -> None:
    ensure_indexes(mongo_db)
    signals = Signals(mongo_db)
    sink_ = pipeline(mongo_uri, mongo_db.name, tmp_path, signals)
    sink_._store(mongo_db, GraphWriter(mongo_db), Batch(pages()))
    assert signals.sent == [(["http://a.com/", "http://c.org/"], 2)]
    assert sink_.stats.values["backlinkbot/sink/pages_written"] == 2  # type: ignore[attr-defined]


def test_mongodb_away_at_close_leaves_the_batch_on_disk(tmp_path: Path) -> None:
    uri = f"mongodb://127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=200"
    signals = Signals(None)
    sink_ = pipeline(uri, "nowhere", tmp_path, signals)
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(uri)
    try:
        db = client["nowhere"]
        sink_.deadline = time.monotonic()  # closing, and the time is up
        with pytest.raises(sink._GiveUp):
            sink_._store(db, GraphWriter(db), Batch(pages()))
    finally:
        client.close()
        sink_.spill.close()
    assert signals.sent == []
    files = list((tmp_path / "nowhere").glob("batch-*.jsonl"))
    assert len(files) == 1 and len(files[0].read_text().splitlines()) == 2
    assert sink_.stats.values["backlinkbot/sink/retries"] == 1  # type: ignore[attr-defined]


class _RefusingWriter(GraphWriter):
    """MongoDB answers every write with a permanent error."""

    def write(self, batch: Any) -> Any:
        raise pymongo.errors.OperationFailure("document refused", code=2)


def test_a_batch_mongodb_cannot_store_is_kept_and_counted(
    mongo_db: Any, mongo_uri: str, tmp_path: Path
) -> None:
    ensure_indexes(mongo_db)
    signals = Signals(mongo_db)
    sink_ = pipeline(mongo_uri, mongo_db.name, tmp_path, signals)
    refused = page("http://refused.com/", [edge("http://refused.com/", "http://b.com/")])
    try:
        sink_._store(mongo_db, _RefusingWriter(mongo_db), Batch([refused]))
    finally:
        sink_.spill.close()
    # Kept aside for good, not in MongoDB: its lease goes, it is not fetched again.
    assert signals.sent == [(["http://refused.com/"], 0)]
    assert sink_.stats.values["backlinkbot/sink/pages_rejected"] == 1  # type: ignore[attr-defined]
    assert len(list((tmp_path / mongo_db.name).glob("rejected-*.jsonl"))) == 1


def test_invalid_documents_never_reach_mongodb(
    mongo_db: Any, mongo_uri: str, tmp_path: Path
) -> None:
    ensure_indexes(mongo_db)
    signals = Signals(mongo_db)
    sink_ = pipeline(mongo_uri, mongo_db.name, tmp_path, signals)
    src = "http://bad.com/"
    bad = page(src, [edge(src, "http://b.com/"), edge(src, "http://c.com/", anchor="fine")])
    bad.edges[0].anchor = {"not", "text"}  # type: ignore[assignment]
    try:
        sink_._store(mongo_db, GraphWriter(mongo_db), Batch([bad]))
    finally:
        sink_.spill.close()
    # The page and its valid link are stored; the malformed link is counted.
    assert [d["dst"] for d in mongo_db.links.find()] == ["http://c.com/"]
    assert mongo_db.pages.count_documents({"_id": "http://bad.com/"}) == 1
    assert sink_.stats.values["backlinkbot/sink/invalid/link_anchor"] == 1  # type: ignore[attr-defined]


def test_an_idle_spider_hands_its_buffered_pages_to_the_writer_at_once(
    mongo_uri: str, tmp_path: Path
) -> None:
    from scrapy import signals
    from scrapy.utils.test import get_crawler

    crawler = get_crawler(settings_dict={
        "MONGODB_URI": mongo_uri, "BACKLINKBOT_SINK_SPILL_DIR": str(tmp_path),
        "BACKLINKBOT_SINK_BATCH_PAGES": 100, "BACKLINKBOT_SINK_FLUSH_SECONDS": 60,
    })  # fmt: skip
    sink_ = sink.MongoSinkPipeline.from_crawler(crawler)
    for item in pages():
        sink_.process_item(item)
    assert sink_.pending and sink_.spill.get(timeout=0) is None
    # Not at the next flush tick (a minute away): when the spider goes idle.
    crawler.signals.send_catch_log(signals.spider_idle, spider=None)
    assert not sink_.pending
    batch = sink_.spill.get(timeout=0)
    assert batch is not None and [p.url for p in batch.pages] == [p.url for p in pages()]


STUCK = "http://stuck.com/"


class _StuckWriter(GraphWriter):
    """MongoDB is there, but one page's batch never gets written (too big
    for it, say): every attempt at it times out."""

    def write(self, batch: Any) -> Any:
        if any(p.url == STUCK for p in batch):
            raise pymongo.errors.NetworkTimeout("timed out")
        return super().write(batch)


@pytest.mark.parametrize("others_stored", [True, False])
def test_a_batch_that_fails_while_others_are_stored_is_kept_aside(
    others_stored: bool, mongo_db: Any, mongo_uri: str, tmp_path: Path
) -> None:
    ensure_indexes(mongo_db)
    signals = Signals(mongo_db)
    sink_ = pipeline(mongo_uri, mongo_db.name, tmp_path, signals)
    writer = _StuckWriter(mongo_db)
    stuck = page(STUCK, [edge(STUCK, "http://b.com/")])
    try:
        sink_._store(mongo_db, writer, Batch([stuck]))  # its retries fail: put back
        if others_stored:
            sink_._store(mongo_db, writer, Batch(pages()))
        again = sink_.spill.get(timeout=0)
        assert again is not None and [p.url for p in again.pages] == [STUCK]
        sink_._store(mongo_db, writer, again)  # fails its retries a second time
    finally:
        sink_.spill.close()
    values = sink_.stats.values  # type: ignore[attr-defined]
    directory = tmp_path / mongo_db.name
    if others_stored:
        # MongoDB stores the others: the batch is what fails. Kept, counted, let go.
        assert values["backlinkbot/sink/pages_rejected"] == 1
        assert values["backlinkbot/sink/batches_deferred"] == 1
        assert len(list(directory.glob("rejected-*.jsonl"))) == 1
        assert list(directory.glob("batch-*.jsonl")) == []
        assert (["http://stuck.com/"], 0) in signals.sent
    else:
        # Nothing stored meanwhile: MongoDB may be what fails. Waits on disk.
        assert "backlinkbot/sink/pages_rejected" not in values
        assert values["backlinkbot/sink/batches_deferred"] == 2
        assert len(list(directory.glob("batch-*.jsonl"))) == 1
        assert signals.sent == []

"""Recrawl selection, queuing through the Redis start list, and its lock."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from backlinkbot.commands import recrawl as command
from backlinkbot.connection import CrawlKeys
from backlinkbot.storage.recrawl import RecrawlPolicy, RedisLock, lock_key, queue_due, select_due
from backlinkbot.storage.schema import ensure_indexes
from backlinkbot.storage.writer import GraphWriter

from .test_storage_writer import edge, page

NOW = datetime(2026, 3, 1, tzinfo=UTC)
POLICY = RecrawlPolicy(max_age=timedelta(days=7), confirm_after=timedelta(hours=1), batch=10)


def seed(db: Any) -> None:
    """Pages fetched at various ages; some linked more than others."""
    ensure_indexes(db)
    writer = GraphWriter(db)
    ages = {"http://old.com/": 30, "http://linked.com/": 10, "http://mid.com/": 20,
            "http://fresh.com/": 1}  # fmt: skip
    for url, days in ages.items():
        writer.write([page(url, [], at=NOW - timedelta(days=days))])
    # linked.com has 7 backlinks, old.com 1, from pages fetched just now.
    for i in range(7):
        src = f"http://src{i}.net/"
        targets = ["http://linked.com/"] + (["http://old.com/"] if i == 0 else [])
        writer.write([page(src, [edge(src, t) for t in targets], at=NOW)])


def test_oldest_and_most_linked_first(mongo_db: Any) -> None:
    seed(mongo_db)
    due = select_due(mongo_db, POLICY, now=NOW)
    # score = age / max_age * (1 + log2(1 + backlinks))
    assert [(d.url, d.inlinks, round(d.score, 2)) for d in due] == [
        ("http://old.com/", 1, 8.57),  # 30/7 * 2
        ("http://linked.com/", 7, 5.71),  # 10/7 * 4: younger, but much linked
        ("http://mid.com/", 0, 2.86),  # 20/7 * 1
    ]
    assert {d.reason for d in due} == {"stale"}


@pytest.mark.parametrize(
    ("max_age", "batch", "expected"),
    [
        (timedelta(days=7), 10, ["http://old.com/", "http://linked.com/", "http://mid.com/"]),
        (timedelta(days=7), 2, ["http://old.com/", "http://linked.com/"]),
        (timedelta(days=15), 10, ["http://old.com/", "http://mid.com/"]),
        (timedelta(days=60), 10, []),
    ],
)
def test_selection_table(
    mongo_db: Any, max_age: timedelta, batch: int, expected: list[str]
) -> None:
    seed(mongo_db)
    policy = RecrawlPolicy(max_age=max_age, confirm_after=timedelta(hours=1), batch=batch)
    assert [d.url for d in select_due(mongo_db, policy, now=NOW)] == expected


def test_unconfirmed_losses_come_first(mongo_db: Any) -> None:
    seed(mongo_db)
    writer = GraphWriter(mongo_db)
    src = "http://src0.net/"
    missed = NOW + timedelta(minutes=1)
    writer.write([page(src, [edge(src, "http://linked.com/")], at=missed)])
    due = select_due(mongo_db, POLICY, now=missed + timedelta(minutes=30))
    assert src not in [d.url for d in due]  # too early to confirm
    due = select_due(mongo_db, POLICY, now=missed + timedelta(hours=2))
    assert (due[0].url, due[0].reason) == (src, "confirm")


def test_queue_pushes_json_and_does_not_repeat(
    mongo_db: Any, redis_client: redis.Redis, redis_prefix: str
) -> None:
    seed(mongo_db)
    keys = CrawlKeys(redis_prefix)
    queued = queue_due(mongo_db, redis_client, keys, POLICY, now=NOW)
    assert queued is not None and len(queued) == 3
    items = [json.loads(x) for x in redis_client.lrange(keys.start_urls, 0, -1)]
    assert items == [{"url": d.url, "recrawl": True} for d in queued]
    assert mongo_db.pages.find_one({"_id": "http://old.com/"})["recrawl_queued_at"] == NOW
    # Not fetched yet: the next round does not queue them again ...
    assert queue_due(mongo_db, redis_client, keys, POLICY, now=NOW + timedelta(hours=1)) == []
    # ... unless the request must have been lost (older than max_age).
    again = queue_due(mongo_db, redis_client, keys, POLICY, now=NOW + timedelta(days=8))
    assert again is not None
    assert {d.url for d in queued} | {"http://fresh.com/"} <= {d.url for d in again}
    assert not redis_client.exists(lock_key(keys))


def test_lock_is_exclusive_and_released_only_by_its_owner(
    mongo_db: Any, redis_client: redis.Redis, redis_prefix: str
) -> None:
    seed(mongo_db)
    keys = CrawlKeys(redis_prefix)
    other = RedisLock(redis_client, lock_key(keys), ttl_ms=10_000)
    assert other.acquire()
    mine = RedisLock(redis_client, lock_key(keys))
    assert not mine.acquire()
    assert queue_due(mongo_db, redis_client, keys, POLICY, now=NOW) is None
    assert redis_client.llen(keys.start_urls) == 0
    assert not mine.release() and not mine.refresh()
    assert other.owner() == other.token
    assert other.refresh() and other.release()
    assert queue_due(mongo_db, redis_client, keys, POLICY, now=NOW) is not None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("15m", 900), ("12h", 43200), ("7d", 604800), ("1.5h", 5400)],
)
def test_duration(text: str, seconds: float) -> None:
    assert command.duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "7x", "-1d", "d"])
def test_bad_duration(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        command.duration(text)


def test_command_queues_due_pages(
    mongo_db: Any, mongo_uri: str, redis_url: str, redis_client: redis.Redis,
    redis_prefix: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    ensure_indexes(mongo_db)
    GraphWriter(mongo_db).write(
        [page("http://old.com/", [], at=datetime.now(UTC) - timedelta(days=9))]
    )
    for name, value in {"MONGODB_URI": mongo_uri, "REDIS_URL": redis_url,
                        "MONGODB_DATABASE": mongo_db.name,
                        "BACKLINKBOT_REDIS_PREFIX": redis_prefix}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    assert command.run(parser.parse_args(["--json"])) == 0
    assert json.loads(capsys.readouterr().out) == {"queued": 1, "confirm": 0, "stale": 1}
    start = [json.loads(x) for x in redis_client.lrange(CrawlKeys(redis_prefix).start_urls, 0, -1)]
    assert start == [{"url": "http://old.com/", "recrawl": True}]


def test_environment_sets_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKLINKBOT_RECRAWL_AFTER", "3600")
    monkeypatch.setenv("BACKLINKBOT_RECRAWL_INTERVAL", "60")
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    args = parser.parse_args([])
    assert (args.older_than, args.every) == (timedelta(hours=1), timedelta(minutes=1))
    assert parser.parse_args(["--older-than", "2d"]).older_than == timedelta(days=2)

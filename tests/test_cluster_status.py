"""``backlinkbot status``: what it reads from Redis and shows."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console

from backlinkbot.commands.status import render, snapshot
from backlinkbot.connection import CrawlKeys


def test_status_shows_queue_leases_backoff_and_rates(redis_client: Any, redis_prefix: str) -> None:
    keys = CrawlKeys(redis_prefix)
    now = time.time()
    redis_client.set(keys.queued, 7)
    redis_client.zadd(keys.leased, {"w1|a|1": now + 60, "w1|a|2": now - 1})
    redis_client.zadd(keys.hosts, {"a.com": now - 1, "b.com": now + 30, "c.com": now + 30})
    redis_client.hset(keys.stats, mapping={"backlinkbot/pages/fetched": 10,
                                           "backlinkbot/pages/errors": 2})  # fmt: skip
    redis_client.hset(keys.worker_stats, "w1|backlinkbot/pages/fetched", 10)
    redis_client.hset(keys.heartbeat, "w1", now)
    redis_client.set(keys.paused, 1)
    before = snapshot(redis_client, keys)
    redis_client.hincrby(keys.stats, "backlinkbot/pages/fetched", 5)
    redis_client.hincrby(keys.worker_stats, "w1|backlinkbot/pages/fetched", 5)
    time.sleep(0.2)
    after = snapshot(redis_client, keys)
    counts = (after.queued, after.leased, after.expired, after.backoff, after.hosts)
    assert counts == (7, 2, 1, 2, 3)
    assert after.paused and after.per_worker == {"w1": 15}
    console = Console(record=True, width=200)
    console.print(render(keys, after, before))
    text = console.export_text()
    assert "(paused)" in text and "hosts in backoff" in text
    assert "w1" in text and "idle" in text
    rate = 5 / (after.at - before.at)
    assert f"{rate:.1f}" in text

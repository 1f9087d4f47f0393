"""The local runner: it starts the workers, prints progress while they run,
and returns their exit codes once every one has exited."""

from __future__ import annotations

import io
import sys

import pytest
import redis

from backlinkbot import runner
from backlinkbot.connection import CrawlKeys
from backlinkbot.runner import CrawlOptions, run_crawl


def _workers_that(monkeypatch: pytest.MonkeyPatch, *scripts: str) -> None:
    """Let worker ``i`` be ``python -c scripts[i]`` instead of a crawl."""
    monkeypatch.setattr(
        runner, "_worker_command", lambda options, index: [sys.executable, "-c", scripts[index]]
    )


def test_progress_while_workers_run_and_their_exit_codes_at_the_end(
    monkeypatch: pytest.MonkeyPatch, redis_client: redis.Redis, redis_prefix: str
) -> None:
    keys = CrawlKeys(redis_prefix)
    redis_client.hset(keys.stats, mapping={"backlinkbot/pages/fetched": 7})
    _workers_that(monkeypatch, "import time; time.sleep(1.0)", "raise SystemExit(3)")
    out = io.StringIO()
    summary = run_crawl(redis_client, keys, CrawlOptions(workers=2, progress_interval=0.2), out=out)
    assert summary.exit_codes == [0, 3]
    assert not summary.ok
    assert summary.pages == 7
    lines = out.getvalue().splitlines()
    # One line per 0.2 s while the slow worker runs (the quick one's exit
    # does not stop the reports), each with the cluster's counters.
    assert len(lines) >= 2
    assert all(line.startswith("pages 7 | queued 0 |") for line in lines)


def test_returns_when_the_workers_exit_not_at_the_next_report(
    monkeypatch: pytest.MonkeyPatch, redis_client: redis.Redis, redis_prefix: str
) -> None:
    _workers_that(monkeypatch, "pass")
    out = io.StringIO()
    summary = run_crawl(
        redis_client, CrawlKeys(redis_prefix), CrawlOptions(workers=1, progress_interval=600),
        out=out,
    )  # fmt: skip
    assert summary.exit_codes == [0]
    assert summary.seconds < 60
    assert out.getvalue() == ""

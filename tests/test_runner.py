"""The local runner: it starts the workers, prints progress while they run,
and returns their exit codes once every one has exited."""

from __future__ import annotations

import io
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from backlinkbot import runner
from backlinkbot.connection import CrawlKeys
from backlinkbot.runner import CrawlOptions, CrawlSummary, WorkLeft, run_crawl


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


def test_an_exception_stops_the_workers(
    monkeypatch: pytest.MonkeyPatch, redis_client: redis.Redis, redis_prefix: str
) -> None:
    started: list[Any] = []
    start = runner._start_workers

    def recorded(options: CrawlOptions, env: dict[str, str]) -> list[Any]:
        started.extend(start(options, env))
        return started

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("a bug in the progress report")

    monkeypatch.setattr(runner, "_start_workers", recorded)
    monkeypatch.setattr(runner, "progress_line", broken)
    _workers_that(monkeypatch, "import time; time.sleep(120)", "import time; time.sleep(120)")
    options = CrawlOptions(workers=2, progress_interval=0.1)
    with pytest.raises(RuntimeError, match="a bug"):
        run_crawl(redis_client, CrawlKeys(redis_prefix), options, out=io.StringIO())
    assert [w.poll() for w in started] == [-signal.SIGTERM, -signal.SIGTERM]


def test_redis_away_skips_reports_and_the_summary_says_what_is_not_known(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, redis_prefix: str
) -> None:
    monkeypatch.setattr(runner, "REDIS_WAIT", 1.0)
    _workers_that(monkeypatch, "import time; time.sleep(1.0)")
    nowhere = str(tmp_path / "closed.sock")
    closed = redis.Redis(unix_socket_path=nowhere, retry=Retry(NoBackoff(), 0))
    out = io.StringIO()
    summary = run_crawl(
        closed, CrawlKeys(redis_prefix), CrawlOptions(workers=1, progress_interval=0.2), out=out
    )
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Redis unreachable ("), lines
    assert summary.exit_codes == [0] and summary.left is None
    assert summary.exit_status == 1
    assert runner.format_summary(summary).splitlines()[-1] == (
        "crawl ended, but Redis did not answer: whether work is left is not known"
    )


@pytest.mark.parametrize(
    ("left", "codes", "stopped_by", "status", "line"),
    [
        (WorkLeft(0, 0, 0), [0, 0], [], 0, "crawl finished: the frontier is empty"),
        (WorkLeft(0, 0, 0), [0, -9], [], 1, "crawl finished: the frontier is empty"),
        (WorkLeft(7, 0, 0, budget_spent=True), [0], [], 0,
         "crawl finished: the page budget is spent (7 URLs left queued)"),
        (WorkLeft(640, 0, 0), [0, 0], [], runner.STOPPED,
         "crawl stopped with work left: 640 URLs queued, 0 leased, 0 seeds waiting;"
         " continue it with backlinkbot crawl --resume"),
        (WorkLeft(3, 2, 1), [0, 1], ["SIGINT", "SIGINT"], 130,
         "crawl stopped by SIGINT with work left: 3 URLs queued, 2 leased, 1 seeds waiting;"
         " continue it with backlinkbot crawl --resume"),
        (WorkLeft(0, 1, 0), [0], ["SIGTERM"], 143,
         "crawl stopped by SIGTERM with work left: 0 URLs queued, 1 leased, 0 seeds waiting;"
         " continue it with backlinkbot crawl --resume"),
    ],
)  # fmt: skip
def test_exit_status_and_last_line(
    left: WorkLeft, codes: list[int], stopped_by: list[str], status: int, line: str
) -> None:
    summary = CrawlSummary(1.0, {}, codes, left=left, stopped_by=stopped_by)
    assert summary.exit_status == status
    assert runner.format_summary(summary).splitlines()[-1] == line

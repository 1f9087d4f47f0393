"""What a crawl reports: a resumed crawl's progress and summary count this
run's work only, links stored count every edge written, refused fetches are
named by reason with their setting, and the progress line says while the
graph store is away."""

from __future__ import annotations

import io
import sys

import pytest
import redis

from backlinkbot import runner
from backlinkbot.connection import CrawlKeys
from backlinkbot.refusals import refused_fetches
from backlinkbot.runner import CrawlOptions, CrawlSummary, SinkWatch, WorkLeft, run_crawl


def test_a_resumed_crawl_counts_only_this_run(
    monkeypatch: pytest.MonkeyPatch, redis_client: redis.Redis, redis_url: str,
    redis_prefix: str,
) -> None:  # fmt: skip
    keys = CrawlKeys(redis_prefix)
    earlier = {"backlinkbot/pages/fetched": 241, "backlinkbot/sink/links_inserted": 900}
    redis_client.hset(keys.stats, mapping=earlier)
    redis_client.zadd(keys.leased, {"a": 1, "b": 2})
    # The worker: this run fetches 5 pages and stores 12 links.
    script = (
        f"import redis, time; r = redis.Redis.from_url({redis_url!r});"
        f"r.hincrby({keys.stats!r}, 'backlinkbot/pages/fetched', 5);"
        f"r.hincrby({keys.stats!r}, 'backlinkbot/sink/links_refreshed', 12); time.sleep(0.6)"
    )
    monkeypatch.setattr(
        runner, "_worker_command", lambda options, i: [sys.executable, "-c", script]
    )
    out = io.StringIO()
    options = CrawlOptions(workers=1, progress_interval=0.2, baseline=dict(earlier))
    summary = run_crawl(redis_client, keys, options, out=out)
    assert summary.pages == 5
    report = runner.format_summary(summary)
    assert "  pages fetched     5\n" in report
    assert "  links stored      12\n" in report and "    seen again      12\n" in report
    lines = out.getvalue().splitlines()
    assert lines and lines[-1].startswith("pages 5 | queued 0 | leased 2 | links stored 12 |")


def test_refused_fetches_are_named_with_their_setting() -> None:
    stats = {
        "backlinkbot/pages/fetched": 1,
        "backlinkbot/ssrf/refused/loopback": 3,
        "backlinkbot/ssrf/refused/dns_private": 1,
        "robotstxt/forbidden": 2,
        "backlinkbot/traps/too_deep": 4,
    }
    summary = CrawlSummary(1.0, stats, [0], left=WorkLeft(0, 0, 0))
    lines = runner.format_summary(summary).splitlines()
    start = lines.index("  fetches refused   10")
    assert lines[start + 1 : start + 5] == [
        "    4      too_deep (BACKLINKBOT_MAX_DEPTH, DEPTH_LIMIT, --max-depth)",
        "    3      loopback address (the SSRF guard; BACKLINKBOT_SSRF_ALLOW allows them,"
        " see docs/LOCAL_WEB.md)",
        "    2      robots.txt (ROBOTSTXT_OBEY)",
        "    1      name of a private address (the SSRF guard; BACKLINKBOT_SSRF_ALLOW allows"
        " them, see docs/LOCAL_WEB.md)",
    ]
    assert refused_fetches({"backlinkbot/pages/fetched": 3}) == []


def test_the_sink_is_failing_from_a_retry_until_pages_are_stored_again() -> None:
    watch = SinkWatch()
    base = {"backlinkbot/pages/fetched": 10, "backlinkbot/sink/pages_written": 10}
    assert watch.state(base) == ""
    away = {**base, "backlinkbot/pages/fetched": 30, "backlinkbot/sink/retries": 2,
            "backlinkbot/sink/pages_spilled": 8}  # fmt: skip
    said = (
        "MongoDB unavailable, writes retried: about 20 pages wait to be stored (8 spilled to disk)"
    )
    assert watch.state(away) == said
    # Backing off: no retry in this report, nothing stored either.
    assert watch.state({**away, "backlinkbot/pages/fetched": 34}).startswith(
        "MongoDB unavailable, writes retried: about 24 pages"
    )
    back = {**away, "backlinkbot/pages/fetched": 34, "backlinkbot/sink/pages_written": 20}
    assert watch.state(back) == ""

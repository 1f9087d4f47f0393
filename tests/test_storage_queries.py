"""Graph.history's day-by-day arithmetic, on grouped reads given directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backlinkbot.storage.queries import Graph, Target

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def at(days_ago: int) -> datetime:
    return NOW - timedelta(days=days_ago)


class GroupedGraph(Graph):
    """A graph whose grouped reads are given (no database)."""

    def __init__(self, live: list[dict[str, Any]], lost: list[dict[str, Any]]) -> None:
        super().__init__(None)  # type: ignore[arg-type]
        self.groups = live, lost

    def _time_groups(self, target: Target) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return self.groups


def test_losses_and_a_referring_domain_that_is_gone() -> None:
    live = [{"_id": "a.com", "first_seen": [at(20), at(2)]}]
    lost = [
        # b.com: its only link, seen 10 days ago, lost 3 days ago: gone then.
        {"_id": "b.com", "first_seen": [at(10)], "lost_at": [at(3)]},
        # a.com also lost one link: the domain stays (it has live ones).
        {"_id": "a.com", "first_seen": [at(8)], "lost_at": [at(1)]},
        # c.com: both links lost, 4 and 2 days ago: gone at the last loss.
        {"_id": "c.com", "first_seen": [at(15), at(12)], "lost_at": [at(4), at(2)]},
    ]
    rows = GroupedGraph(live, lost).history(Target("domain", "x.com"), days=5, now=NOW)
    assert [r["day"] for r in rows] == [(NOW - timedelta(days=d)).date().isoformat()
                                        for d in range(4, -1, -1)]  # fmt: skip
    # Before the window: five links from three domains.
    assert [r["backlinks"] for r in rows] == [4, 3, 3, 2, 2]
    assert [r["new"] for r in rows] == [0, 0, 1, 0, 0]
    assert [r["lost"] for r in rows] == [1, 1, 1, 1, 0]
    assert [r["referring_domains"] for r in rows] == [3, 2, 1, 1, 1]


def test_a_window_before_any_link_is_all_zero() -> None:
    live = [{"_id": "a.com", "first_seen": [at(1)]}]
    rows = GroupedGraph(live, []).history(Target("domain", "x.com"), days=3, now=at(5))
    assert all(r["backlinks"] == r["referring_domains"] == r["new"] == 0 for r in rows)


def test_days_must_be_positive() -> None:
    with pytest.raises(ValueError, match="days >= 1"):
        GroupedGraph([], []).history(Target("domain", "x.com"), days=0, now=NOW)

"""The dedup pipeline on hand-made page items (the spider's own tests cover
normalization: tests/test_backlinks_spider.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backlinkbot.items import Edge, PageItem
from pipelines.dedup import EdgeDedupPipeline, merge_edges

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def page(url: str = "http://a.com/") -> PageItem:
    return PageItem(url=url, status=200, fetched_at=NOW)


def _edge(dst: str, **kw: object) -> Edge:
    return Edge(src="http://a.com/", dst=dst, src_host="a.com", dst_host="b.com",
                src_domain="a.com", dst_domain="b.com", **kw)  # type: ignore[arg-type]  # fmt: skip


@pytest.mark.parametrize(
    ("occurrences", "want"),
    [
        # first non-empty anchor in document order
        ([{"anchor": ""}, {"anchor": "second"}, {"anchor": "third"}], {"anchor": "second"}),
        # nofollow only if every occurrence is
        ([{"nofollow": True}, {"nofollow": False}], {"nofollow": False}),
        ([{"nofollow": True}, {"nofollow": True}], {"nofollow": True}),
        ([{"ugc": True, "sponsored": True}, {"ugc": True}], {"ugc": True, "sponsored": False}),
        # a text link to the target makes the edge a text link; alt kept
        (
            [{"image": True, "alt": "logo"}, {"anchor": "text"}],
            {"image": False, "alt": "logo", "anchor": "text"},
        ),
        # kind and section of the first occurrence
        (
            [{"kind": "canonical", "section": "body"}, {"kind": "a", "section": "nav"}],
            {"kind": "canonical", "section": "body"},
        ),
    ],
)
def test_merge_rules(occurrences: list[dict[str, object]], want: dict[str, object]) -> None:
    edges = [_edge("http://b.com/", **o) for o in occurrences]
    before = [[getattr(e, f) for f in Edge.__slots__] for e in edges]
    (merged,) = merge_edges(edges)
    for field, value in want.items():
        assert getattr(merged, field) == value, field
    # The inputs are not modified.
    assert [[getattr(e, f) for f in Edge.__slots__] for e in edges] == before


def test_dedup_keeps_order_of_first_occurrence() -> None:
    item = page()
    item.edges = [_edge("http://b.com/2"), _edge("http://b.com/1"), _edge("http://b.com/2")]
    out = EdgeDedupPipeline().process_item(item)
    assert [e.dst for e in out.edges] == ["http://b.com/2", "http://b.com/1"]


def test_pipelines_pass_other_items_through() -> None:
    other = {"not": "a page"}
    assert EdgeDedupPipeline().process_item(other) is other

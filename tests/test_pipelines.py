"""The normalize and dedup pipelines on hand-made page items."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scrapy.utils.test import get_crawler

from backlinkbot.items import Edge, PageItem, RawLink
from pipelines.dedup import EdgeDedupPipeline, merge_edges
from pipelines.normalize import NormalizePipeline

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def page(*links: RawLink, url: str = "http://www.example.co.uk/a/", **kw: object) -> PageItem:
    return PageItem(url=url, status=200, fetched_at=NOW, base_url=url, links=list(links), **kw)  # type: ignore[arg-type]


@pytest.fixture
def normalize() -> NormalizePipeline:
    crawler = get_crawler()
    return NormalizePipeline.from_crawler(crawler)


def test_normalize_resolves_and_fills_hosts_and_domains(normalize: NormalizePipeline) -> None:
    item = normalize.process_item(page(
        RawLink(href="../b?utm_source=x&z=1&a=2#frag", anchor="B"),
        RawLink(href="//Alice.GitHub.io:80/", anchor="Alice"),
    ))  # fmt: skip
    assert item.host == "www.example.co.uk" and item.domain == "example.co.uk"
    first, second = item.edges
    assert first.dst == "http://www.example.co.uk/b?a=2&z=1"
    assert not first.external
    assert (second.dst, second.dst_host, second.dst_domain) == (
        "http://alice.github.io/", "alice.github.io", "alice.github.io"
    )  # fmt: skip
    assert second.external and second.anchor == "Alice"


def test_normalize_counts_and_drops_rejected_links(normalize: NormalizePipeline) -> None:
    item = normalize.process_item(page(
        RawLink(href="mailto:a@b.c"), RawLink(href="javascript:void(0)"),
        RawLink(href="http://[::1"), RawLink(href="/" + "x" * 3000), RawLink(href="/ok"),
    ))  # fmt: skip
    assert [e.dst for e in item.edges] == ["http://www.example.co.uk/ok"]
    assert item.links_found == 5 and item.links_rejected == 4
    stats = normalize.stats.get_stats()
    assert stats["backlinkbot/links_rejected/scheme"] == 2
    assert stats["backlinkbot/links_rejected/too_long"] == 1
    assert stats["backlinkbot/links_rejected/unparsable"] == 1


def test_page_level_nofollow_applies_to_every_link(normalize: NormalizePipeline) -> None:
    item = normalize.process_item(page(RawLink(href="http://b.com/"), nofollow=True))
    assert item.edges[0].nofollow


def test_base_url_is_used_for_resolution(normalize: NormalizePipeline) -> None:
    item = page(RawLink(href="x"))
    item.base_url = "http://cdn.example.org/dir/"
    assert normalize.process_item(item).edges[0].dst == "http://cdn.example.org/dir/x"


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


def test_pipelines_pass_other_items_through(normalize: NormalizePipeline) -> None:
    other = {"not": "a page"}
    assert normalize.process_item(other) is other
    assert EdgeDedupPipeline().process_item(other) is other

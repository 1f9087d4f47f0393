"""Property-based tests: malformed links never raise on their way from the
spider through the pipelines, and every document built from them passes
validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrapy.utils.test import get_crawler

from backlinkbot.items import KINDS, SECTIONS, RawLink
from backlinkbot.safety.validate import (
    InvalidDocument,
    validate_link_document,
    validate_page_document,
)
from backlinkbot.spiders.backlinks import add_edges, new_page
from backlinkbot.storage.schema import edge_document
from pipelines.dedup import EdgeDedupPipeline

HREFS = st.one_of(
    st.text(max_size=80),
    st.sampled_from([
        "", " ", "/", "#", "?", "//", "http://", "http://[::1", "http://a b/", "javascript:x",
        "http://\u0000/", "http://xn--/", "https://例え.テスト/パス?q=ü", "http://a.example/%zz",
        "http://a.example:99999/", "\ud800", "http://a.example/" + "x" * 3000, "mailto:x@y",
        "http://[::ffff:127.0.0.1]/", "http://0x7f.1/", "HTTP://A.EXAMPLE.:80/./a/../b?utm_x=1#f",
    ]),
)  # fmt: skip
LINKS = st.builds(
    RawLink, href=HREFS, kind=st.sampled_from(KINDS), anchor=st.text(max_size=300),
    alt=st.text(max_size=50), image=st.booleans(), nofollow=st.booleans(),
    ugc=st.booleans(), sponsored=st.booleans(), section=st.sampled_from(SECTIONS),
)  # fmt: skip
BASES = st.sampled_from(
    ["http://a.example/dir/page", "https://b.example.co.uk/", "http://127.0.0.1:8080/x"]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(url=BASES, base=st.one_of(st.just(""), BASES, HREFS), links=st.lists(LINKS, max_size=12))
def test_pipelines_never_raise_and_documents_validate(
    url: str, base: str, links: list[RawLink]
) -> None:
    stats = get_crawler().stats
    assert stats is not None
    page = new_page(url, 200)
    add_edges(page, links, base or url, stats)
    assert page.links_rejected + len(page.edges) == len(links)
    page = EdgeDedupPipeline().process_item(page)
    assert len({e.dst for e in page.edges}) == len(page.edges)
    for edge in page.edges:
        doc = edge_document(edge, datetime.now(UTC).replace(microsecond=0), "1.2.3.4")
        try:
            validate_link_document(doc)
        except InvalidDocument as exc:
            # Text straight from the page (anchor, alt) may hold what MongoDB
            # must not get: validation catches it, the sink skips and counts.
            assert exc.field in ("anchor", "alt"), (exc, doc)


VALID_LINK = {
    "src": "http://a.example/", "dst": "http://b.example/x", "src_host": "a.example",
    "dst_host": "b.example", "src_domain": "a.example", "dst_domain": "b.example",
    "anchor": "B", "alt": "", "image": False, "kind": "a", "nofollow": False, "ugc": False,
    "sponsored": False, "section": "body", "src_ip": None,
    "first_seen": datetime(2026, 1, 1, tzinfo=UTC), "last_seen": datetime(2026, 1, 2, tzinfo=UTC),
}  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("src", "javascript:alert(1)"), ("dst", "http://b.example/" + "x" * 2048), ("dst", None),
        ("dst_host", ""), ("dst_host", "a b"), ("src_domain", "a\u00a0b"), ("dst_host", "a\x1cb"),
        ("anchor", "x" * 257), ("anchor", "a\x00b"),
        ("alt", "\ud800"), ("nofollow", 1), ("image", "yes"), ("kind", "img"),
        ("section", "sidebar"), ("first_seen", datetime(2026, 1, 1)),
        ("last_seen", datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2)))),
        ("lost_at", "2026-01-01"), ("src_ip", 1234),
    ],
)  # fmt: skip
def test_invalid_link_documents_are_named(field: str, value: object) -> None:
    validate_link_document(VALID_LINK)
    with pytest.raises(InvalidDocument) as caught:
        validate_link_document({**VALID_LINK, field: value})
    assert caught.value.field == field


VALID_PAGE = {
    "url": "http://a.example/", "host": "a.example", "domain": "a.example", "status": 200,
    "content_type": "text/html", "fetched_at": datetime(2026, 1, 1, tzinfo=UTC),
    "redirect_to": None, "ip": None, "error": None, "nofollow": False, "noindex": False,
    "links_out": 3, "links_external": 1, "links_rejected": 0,
}  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("url", "ftp://a.example/"), ("status", 42), ("status", True), ("status", "200"),
        ("fetched_at", None), ("redirect_to", "data:x"), ("links_out", -1), ("content_type", 3),
        ("noindex", None), ("host", ""),
    ],
)  # fmt: skip
def test_invalid_page_documents_are_named(field: str, value: object) -> None:
    validate_page_document(VALID_PAGE)
    validate_page_document({**VALID_PAGE, "status": None, "error": "DownloadTimeoutError"})
    with pytest.raises(InvalidDocument) as caught:
        validate_page_document({**VALID_PAGE, field: value})
    assert caught.value.field == field

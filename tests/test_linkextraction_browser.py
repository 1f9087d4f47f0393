"""Link extraction against what headless Chromium saw on the same pages.

The expectations are the browser's, recorded by ``tests/record_browser_links.py``
into ``tests/data/links/chromium.json``; no browser runs here. Each page of
:mod:`tests.linkcorpus` goes through what the spider does (a Scrapy
``HtmlResponse``, ``response.text``, :func:`extract_links` with
``response.encoding``) and every link is compared with the browser's: the
target as the URL Standard resolves it in the page's encoding, the rel
flags, the anchor text and image alt (by our documented rules applied to the
browser's text content), the section (the nearest landmark in Chromium's
accessibility tree), and for the page the base URL, the canonicals and the
meta refresh. The differences left are strict xfails, each with its reason
(docs/LINK_EXTRACTION.md, "Conformance with Chromium").

Scrapy's ``LinkExtractor`` runs over the same pages too: the agreement table in
docs/LINK_EXTRACTION.md is computed here and must match.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse
from scrapy.linkextractors import LinkExtractor

from backlinkbot.linkextraction import ExtractedPage, extract_links
from backlinkbot.linkextraction.extractor import _collapse
from backlinkbot.urlnorm import InvalidURL, normalize_url, resolve_url
from tests.linkcorpus import CorpusPage, corpus
from tests.record_browser_links import OUT

DOC = Path(__file__).parent.parent / "docs" / "LINK_EXTRACTION.md"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

#: Pages where we differ from Chromium on purpose or by a limit we document.
KNOWN_DIFFERENCES = {
    "tricky/template-shadowroot": "links in a declarative shadow root are not extracted",
    "tricky/section-roles": "a non-landmark role does not cancel the element's own landmark",
    "tricky/base-unparsable": "after an unparsable <base href> Chromium makes every relative "
    "link invalid; the HTML Standard falls back to the document URL, and so do we",
    "tricky/encoding-gb2312-meta": "Scrapy resolves a GBK label to gb18030, which encodes a "
    "character outside GBK in four bytes where Chromium writes a character reference",
    "tricky/encoding-gbk-header": "Scrapy resolves a GBK label to gb18030, which encodes a "
    "character outside GBK in four bytes where Chromium writes a character reference",
    "tricky/encoding-undeclared-cp1252-none": "an undeclared page: Scrapy's detection "
    "(charset-normalizer) picks another code page than Chromium's locale default",
    "tricky/encoding-x-mac-cyrillic-meta": "w3lib does not know the x-mac-cyrillic label, "
    "so Scrapy detects another encoding and the path's text decodes wrongly",
    "scrapy/linkextractor_noenc.html": "an undeclared UTF-8 page: Scrapy detects UTF-8, "
    "Chromium takes its locale default, windows-1252",
}


@cache
def _record() -> dict[str, Any]:
    return json.loads(OUT.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@cache
def _pages() -> dict[str, CorpusPage]:
    return {page.id: page for page in corpus()}


def _response(page: CorpusPage) -> HtmlResponse:
    headers = {"Content-Type": page.content_type} if page.content_type else {}
    return HtmlResponse(page.url, body=page.body, headers=headers)


def _target(href: str | None, base: str | None = None, encoding: str | None = None) -> str:
    """The URL Standard's resolution, or "invalid"."""
    if href is None:
        return "invalid"
    try:
        return resolve_url(href, base, encoding=encoding)
    except InvalidURL:
        return "invalid"


def _flags(tokens: list[str], page_nofollow: bool) -> tuple[bool, bool, bool]:
    lowered = {token.translate(_ASCII_LOWER) for token in tokens}
    return ("nofollow" in lowered or page_nofollow, "ugc" in lowered, "sponsored" in lowered)


# -- the two sides, in one shape ---------------------------------------------------


def _extract(page: CorpusPage) -> ExtractedPage:
    response = _response(page)
    return extract_links(response.text, response.url, encoding=response.encoding)


def _ours(page: CorpusPage, sections: list[str | None]) -> dict[str, Any]:
    extracted = _extract(page)
    base, encoding = extracted.base_url, extracted.encoding
    links = [link for link in extracted.links if link.kind in ("a", "area")]
    refresh = [link for link in extracted.links if link.kind == "meta_refresh"]
    return {
        "base": _target(base),
        "links": [
            (
                link.kind,
                _target(link.href, base, encoding),
                (link.nofollow, link.ugc, link.sponsored),
                link.anchor,
                link.image,
                link.alt,
                link.section if i < len(sections) and sections[i] is not None else None,
            )
            for i, link in enumerate(links)
        ],
        "canonicals": [
            (_target(link.href, base, encoding), (link.nofollow, link.ugc, link.sponsored))
            for link in extracted.links
            if link.kind == "canonical"
        ],
        # A refresh without a URL reloads the document: the browser goes to it.
        "refresh": _target(refresh[0].href, base, encoding) if refresh else None,
        "shadow": [],
    }


def _browser_link(link: dict[str, Any], page_nofollow: bool) -> tuple[Any, ...]:
    if link["tag"] == "area":
        anchor, image, alt = "", False, _collapse(link["alt"] or "")
    else:
        anchor = _collapse(link["visible"])  # "text" (textContent) is kept where it differs
        image = not anchor and link["img"] is not None
        alt = _collapse(link["img"]["alt"] or "") if image else ""
    return (
        link["tag"],
        link["href"] if link["valid"] else "invalid",
        _flags(link["rel"], page_nofollow),
        anchor,
        image,
        alt,
        link.get("section"),
    )


def _browser(record: dict[str, Any], page_nofollow: bool, url: str) -> dict[str, Any]:
    refresh = record["refresh"]
    return {
        "base": record["base"],
        "links": [_browser_link(link, page_nofollow) for link in record["links"]],
        "canonicals": [
            (canonical["href"], _flags(canonical["rel"], page_nofollow))
            for canonical in record["canonicals"]
            if canonical["attr"] is not None
        ],
        "refresh": None if refresh is None or refresh == _target(url) else refresh,
        "shadow": [_browser_link(link, page_nofollow) for link in record["shadow"]],
    }


def _compare(page_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    page = _pages()[page_id]
    record = _record()["pages"][page_id]
    ours = _ours(page, [link["section"] for link in record["links"]])
    browser = _browser(record, _extract(page).nofollow, page.url)
    if ours["refresh"] is not None and ours["refresh"] == _target(page.url):
        ours["refresh"] = None  # an explicit refresh of the page itself
    return ours, browser


# -- the tests ---------------------------------------------------------------------------


def test_records_match_the_corpus() -> None:
    record = _record()
    assert record["chromium"] and record["javascript"] is False
    assert sorted(record["pages"]) == sorted(_pages())
    stale = [pid for pid, page in _pages().items() if record["pages"][pid]["sha256"] != page.sha256]
    assert not stale, f"re-record with python -m tests.record_browser_links: {stale}"


def test_corpus_size() -> None:
    sources = Counter(pid.split("/")[0] for pid in _pages())
    assert sources["tricky"] >= 60
    assert {"webarchive-commons", "pywb", "scrapy"} <= set(sources)


@pytest.mark.parametrize(
    "page_id",
    [
        pytest.param(pid, marks=pytest.mark.xfail(strict=True, reason=KNOWN_DIFFERENCES[pid]))
        if pid in KNOWN_DIFFERENCES
        else pid
        for pid in sorted(_pages())
    ],
)
def test_page_as_chromium_sees_it(page_id: str) -> None:
    ours, browser = _compare(page_id)
    assert ours == browser


def test_shadow_root_links_are_the_known_difference() -> None:
    # What the browser renders inside declarative shadow roots, and nowhere else.
    shadowed = {pid for pid, rec in _record()["pages"].items() if rec["shadow"]}
    assert shadowed == {"tricky/template-shadowroot"}


# -- Scrapy's LinkExtractor on the same pages -------------------------------------------


def _normalized(url: str, encoding: str | None = None) -> str | None:
    try:
        return normalize_url(url, encoding=encoding)
    except InvalidURL:
        return None


def _scrapy_links(page: CorpusPage) -> list[tuple[str, str, bool]] | None:
    """LinkExtractor's links (all of them: no extension or duplicate dropped),
    or None when it raises."""
    extractor = LinkExtractor(tags=("a", "area"), attrs=("href",), deny_extensions=[], unique=False)
    try:
        found = extractor.extract_links(_response(page))
    except ValueError:  # w3lib's "Invalid IPv6 URL" for an unparsable <base href>
        return None
    out = []
    for link in found:
        target = _normalized(link.url)
        if target is not None:
            out.append((target, _collapse(link.text), link.nofollow))
    return out


def _our_links(page: CorpusPage) -> list[tuple[str, str, bool]]:
    extracted = _extract(page)
    out = []
    for link in extracted.links:
        if link.kind not in ("a", "area"):
            continue
        try:
            target = normalize_url(link.href, extracted.base_url, encoding=extracted.encoding)
        except InvalidURL:
            continue
        out.append((target, link.anchor, link.nofollow))
    return out


def _browser_links(page_id: str) -> list[tuple[str, str, bool]]:
    record = _record()["pages"][page_id]
    nofollow = _extract(_pages()[page_id]).nofollow
    out = []
    for link in record["links"]:
        target = _normalized(link["href"]) if link["valid"] else None
        if target is not None:
            text = "" if link["tag"] == "area" else _collapse(link["visible"])
            out.append((target, text, _flags(link["rel"], nofollow)[0]))
    return out


def _agreement(
    side: dict[str, list[tuple[str, str, bool]] | None], fields: slice
) -> tuple[int, int, int]:
    """(pages identical, browser links matched, browser links) on ``fields``."""
    same = matched = total = 0
    for page_id, links in side.items():
        expected = Counter(link[fields] for link in _browser_links(page_id))
        got = Counter(link[fields] for link in links or ())
        total += sum(expected.values())
        matched += sum((expected & got).values())
        same += expected == got
    return same, matched, total


@cache
def agreement_table() -> list[str]:
    """The rows of the agreement table in docs/LINK_EXTRACTION.md."""
    ours: dict[str, list[tuple[str, str, bool]] | None]
    ours = {pid: _our_links(page) for pid, page in _pages().items()}
    scrapy = {pid: _scrapy_links(page) for pid, page in _pages().items()}
    pages = len(ours)
    raised = sum(links is None for links in scrapy.values())
    same = every = total = 0
    for page_id in ours:
        mine, browser = _compare(page_id)
        same += mine == browser
        total += len(browser["links"])
        every += sum((Counter(mine["links"]) & Counter(browser["links"])).values())
    rows = [
        f"| every field (the test above) | {same}/{pages} | {every}/{total} | | |",
        f"| pages it raised on | 0/{pages} | | {raised}/{pages} | |",
    ]
    for label, fields in (
        ("targets", slice(0, 1)),
        ("targets and anchor text", slice(0, 2)),
        ("targets and nofollow", slice(0, 3, 2)),
    ):
        o_same, o_links, total = _agreement(ours, fields)
        s_same, s_links, _ = _agreement(scrapy, fields)
        rows.append(
            f"| {label} | {o_same}/{pages} | {o_links}/{total} | {s_same}/{pages} | "
            f"{s_links}/{total} |"
        )
    return rows


def test_agreement_table_in_the_docs_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = re.search(r"<!-- agreement table -->\n(.*?)\n<!-- end -->", text, re.S)
    assert table is not None, "docs/LINK_EXTRACTION.md lost its agreement table"
    rows = table[1].splitlines()[2:]  # past the header and its rule
    assert rows == agreement_table()

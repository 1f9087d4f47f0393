"""Link extraction: the links an HTML document carries (DESIGN.md, "Link semantics").

:func:`extract_links` parses a decoded document with Lexbor (through
selectolax), an HTML5 tree builder, so the document is seen the way browsers
see it: comments, ``<script>``, ``<style>``, ``<textarea>``, ``<title>`` hold
no elements, ``<template>`` content lives outside the document tree, and
misnested markup is repaired by the standard's rules. It returns the links as
written (:class:`~backlinkbot.items.RawLink`), in document order, with the
base URL to resolve them against and the page's robots ``<meta>`` directives.
Resolution and normalization are the normalizer's job.

Every rule, and why, is in ``docs/LINK_EXTRACTION.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ada_url import join_url, normalize_url
from selectolax.lexbor import LexborHTMLParser

from backlinkbot.items import RawLink
from backlinkbot.robotstags import ROBOTS_TOKEN

from .depth import limit_depth
from .refresh import parse_refresh
from .sections import assign_sections

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

__all__ = ["MAX_TEXT", "ExtractedPage", "extract_links"]

#: Anchor and alt texts are cut to this many characters (DESIGN.md).
MAX_TEXT = 256

# One selector pass finds everything, in tree order: links, the first
# <base href>, robots and refresh <meta>s, landmark and sectioning elements
# (for the link's section), and <script>/<style> inside links (whose text is
# not anchor text). Template contents are separate DocumentFragments, so no
# selector reaches into them.
_SELECTOR = (
    "a[href], area[href], link[href][rel], base[href], meta[content],"
    " header, footer, nav, aside, main, article, section, [role],"
    " a[href] script, a[href] style"
)

_ROBOTS = "robots"
_SPLIT_TOKENS = re.compile(r"[\s,]+")
_SURROGATES = re.compile("[\ud800-\udfff]")


@dataclass(slots=True)
class ExtractedPage:
    """What :func:`extract_links` found in one document."""

    #: What relative hrefs resolve against: the document URL, or the first
    #: ``<base href>`` resolved against it when that is an http(s) URL.
    base_url: str
    #: The links in document order, hrefs as written (entities decoded).
    links: list[RawLink] = field(default_factory=list)
    #: ``<meta name=robots|backlinkbot content=nofollow|none>``.
    nofollow: bool = False
    #: ``<meta name=robots|backlinkbot content=noindex|none>``.
    noindex: bool = False
    #: Links past ``max_links``, counted but not returned.
    truncated: int = 0


def _collapse(text: str) -> str:
    """Collapse whitespace runs to one space, trim, cut to :data:`MAX_TEXT`."""
    if not text:
        return ""
    text = " ".join(text.split())
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT].rstrip()
    return text


def _rel_flags(rel: str | None) -> tuple[bool, bool, bool]:
    """``(nofollow, ugc, sponsored)`` from a ``rel`` attribute."""
    if not rel:
        return False, False, False
    tokens = rel.lower().split()
    return "nofollow" in tokens, "ugc" in tokens, "sponsored" in tokens


def _resolve_base(href: str, url: str) -> str:
    """``<base href>`` resolved against the document URL; the document URL
    when that fails or is not http(s) (HTML, "frozen base URL")."""
    try:
        resolved = join_url(url, href)
    except ValueError:
        # An unparsable document URL still lets an absolute base through.
        try:
            resolved = normalize_url(href)
        except ValueError:
            return url
    if resolved.startswith(("http://", "https://")):
        return resolved
    return url


def _visible_text(node: LexborNode) -> str:
    """Text content of ``node`` without the text of ``<script>``/``<style>``."""
    parts: list[str] = []
    stack: list[LexborNode] = []
    child = node.child
    while True:
        while child is not None:
            if child.is_text_node:
                parts.append(child.text_content or "")
                child = child.next
            elif child.is_element_node and child.tag not in ("script", "style"):
                stack.append(child)
                child = child.child
            else:
                child = child.next
        if not stack:
            break
        child = stack.pop().next
    return "".join(parts)


def _drop_script_text(
    scripts: list[LexborNode], links: list[RawLink], link_nodes: list[LexborNode]
) -> None:
    """Recompute the text of links that hold ``<script>``/``<style>`` elements."""
    index = {node.mem_id: i for i, node in enumerate(link_nodes) if node.tag == "a"}
    dirty: set[int] = set()
    for script in scripts:
        owner = script.parent
        while owner is not None and owner.mem_id not in index:
            owner = owner.parent
        if owner is not None:
            dirty.add(index[owner.mem_id])
    for i in dirty:
        link = links[i]
        node = link_nodes[i]
        link.anchor = _collapse(_visible_text(node))
        link.image = False
        link.alt = ""
        if not link.anchor:
            img = node.css_first("img")
            if img is not None:
                link.image = True
                link.alt = _collapse(img.attrs.get("alt") or "")


def _robots(content: str) -> tuple[bool, bool]:
    """``(nofollow, noindex)`` from a robots ``<meta>`` content."""
    tokens = _SPLIT_TOKENS.split(content.lower())
    none = "none" in tokens
    return none or "nofollow" in tokens, none or "noindex" in tokens


def _parse(html: str) -> LexborHTMLParser | None:
    html = limit_depth(html)
    try:
        data = html.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates are not UTF-8. HTML is a scalar value string (the
        # DOM's USVString conversion): each lone surrogate becomes U+FFFD.
        data = _SURROGATES.sub("\ufffd", html).encode("utf-8")
    try:
        return LexborHTMLParser(data)
    except ValueError:
        # selectolax refuses input over 2.5 GB.
        return None


def extract_links(html: str, url: str, *, max_links: int = 0) -> ExtractedPage:
    """The links of ``html`` (decoded text) fetched from ``url``.

    Links are returned as written, in document order, the first
    ``max_links`` of them when that is above 0 (the others are only counted,
    in ``truncated``); see
    ``docs/LINK_EXTRACTION.md`` for what counts as a link, its ``anchor``,
    ``alt``, ``image``, ``section`` and flags.

    >>> page = extract_links('<nav><a href="/a" rel="NoFollow">A &amp; B</a></nav>',
    ...                      "https://example.com/")
    >>> page.base_url, page.links[0].href, page.links[0].anchor
    ('https://example.com/', '/a', 'A & B')
    >>> page.links[0].nofollow, page.links[0].section
    (True, 'nav')
    """
    if not isinstance(html, str):
        raise TypeError(f"expected str html, got {type(html).__name__}")
    if not isinstance(url, str):
        raise TypeError(f"expected str url, got {type(url).__name__}")
    page = ExtractedPage(base_url=url)
    tree = _parse(html)
    if tree is None:
        return page
    nodes = tree.css(_SELECTOR)
    if not nodes:
        return page

    links: list[RawLink] = []
    # Link nodes, parallel to ``links``; landmark and sectioning candidates;
    # <script>/<style> elements inside links, whose text is not anchor text.
    link_nodes: list[LexborNode] = []
    landmarks: list[LexborNode] = []
    scripts: list[LexborNode] = []
    have_base = False
    have_refresh = False
    nofollow_page = False
    noindex_page = False
    # Past the bound a link is counted, not built (its text not even read).
    limit = max_links if max_links > 0 else len(nodes) + 1
    truncated = 0

    for node in nodes:
        tag = node.tag
        if tag == "a" or tag == "area":
            attrs = node.attrs
            href = attrs.get("href")
            if href is None:
                # selectolax gives None for both a missing and a valueless
                # attribute; ``<a href>`` has an empty href.
                if "href" not in attrs:
                    continue
                href = ""
            if len(links) >= limit:
                truncated += 1
                continue
            nofollow, ugc, sponsored = _rel_flags(attrs.get("rel"))
            image = False
            if tag == "a":
                anchor = _collapse(node.text())
                alt = ""
                if not anchor:
                    img = node.css_first("img")
                    if img is not None:
                        image = True
                        alt = _collapse(img.attrs.get("alt") or "")
            else:
                anchor = ""
                alt = _collapse(attrs.get("alt") or "")
            links.append(
                RawLink(
                    href,
                    tag,
                    anchor=anchor,
                    alt=alt,
                    image=image,
                    nofollow=nofollow,
                    ugc=ugc,
                    sponsored=sponsored,
                )
            )
            link_nodes.append(node)
        elif tag == "link":
            attrs = node.attrs
            rel = attrs.get("rel") or ""
            if "canonical" not in rel.lower().split():
                continue
            if len(links) >= limit:
                truncated += 1
                continue
            href = attrs.get("href") or ""
            nofollow, ugc, sponsored = _rel_flags(rel)
            links.append(
                RawLink(href, "canonical", nofollow=nofollow, ugc=ugc, sponsored=sponsored)
            )
            link_nodes.append(node)
        elif tag == "meta":
            attrs = node.attrs
            content = attrs.get("content")
            if content is None:
                continue
            name = attrs.get("name")
            if name is not None and name.strip().lower() in (_ROBOTS, ROBOTS_TOKEN):
                nofollow, noindex = _robots(content)
                nofollow_page = nofollow_page or nofollow
                noindex_page = noindex_page or noindex
            equiv = attrs.get("http-equiv")
            if have_refresh or equiv is None or equiv.strip().lower() != "refresh":
                continue
            parsed = parse_refresh(content)
            if parsed is None:
                continue
            # Only the first refresh that parses takes effect (HTML, "shared
            # declarative refresh steps": "will declaratively refresh").
            have_refresh = True
            if parsed[1] is not None and len(links) >= limit:
                truncated += 1
            elif parsed[1] is not None:
                links.append(RawLink(parsed[1], "meta_refresh"))
                link_nodes.append(node)
        elif tag == "base":
            if not have_base:
                have_base = True
                page.base_url = _resolve_base(node.attrs.get("href") or "", url)
        elif tag == "script" or tag == "style":
            scripts.append(node)
        else:
            landmarks.append(node)

    assign_sections(links, link_nodes, landmarks)
    if scripts:
        _drop_script_text(scripts, links, link_nodes)
    # Page-level nofollow is applied to the page's edges by the spider, which
    # also reads X-Robots-Tag: each link keeps the flags of its own markup.
    page.links = links
    page.nofollow = nofollow_page
    page.noindex = noindex_page
    page.truncated = truncated
    return page

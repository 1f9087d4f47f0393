"""The links an HTML document carries, found in one parse (docs/LINK_EXTRACTION.md).

:func:`extract_links` parses decoded text with Lexbor (through selectolax), an
HTML5 tree builder, so the tree is the one a browser builds. One CSS selector
pass returns every element of interest in tree order, and each tag has one
handler. Links come back as written, with the base URL to resolve them
against; resolving and normalizing them is :mod:`backlinkbot.urlnorm`'s job.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from selectolax.lexbor import LexborHTMLParser

from backlinkbot.items import RawLink
from backlinkbot.robotstags import ROBOTS_TOKEN
from backlinkbot.urlencoding import query_codec
from backlinkbot.urlnorm import InvalidURL, resolve_url

from .depth import limit_depth
from .namespaces import HTML, MATHML, SVG, namespace
from .refresh import parse_refresh
from .sections import assign_sections

if TYPE_CHECKING:
    from selectolax.lexbor import LexborAttributes, LexborNode

__all__ = ["MAX_TEXT", "ExtractedPage", "extract_links"]

#: Anchor and alt texts are cut to this many characters.
MAX_TEXT = 256

# Everything the handlers below need, in tree order: links, <base>, robots and
# refresh <meta>s, landmark and sectioning elements (for the link's section),
# <script>/<style> inside links (whose text is not anchor text), and <svg> and
# <math>, below which elements may not be HTML ones. Template contents are
# separate DocumentFragments, so no selector reaches into them.
_SELECTOR = (
    "a[href], area[href], link[href][rel], base[href], meta[content],"
    " header, footer, nav, aside, main, article, section, [role],"
    " a[href] script, a[href] style, svg, math"
)

_ROBOTS_NAMES = ("robots", ROBOTS_TOKEN)
_SPLIT_TOKENS = re.compile(r"[\s,]+")
# HTML's "ASCII whitespace" splits rel tokens, and they compare ASCII
# case-insensitively: a no-break space is part of a token.
_ASCII_WHITESPACE = re.compile(r"[\t\n\f\r ]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
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
    #: The codec link queries are percent-encoded from (the page's encoding,
    #: as :func:`backlinkbot.urlencoding.query_codec` gives it); ``None`` for
    #: UTF-8. Pass it to :func:`~backlinkbot.urlnorm.normalize_url`.
    encoding: str | None = None
    #: Links past ``max_links``, counted but not returned.
    truncated: int = 0


class _Scan:
    """What the handlers collect in one pass over the selected elements."""

    __slots__ = (
        "anchors",
        "foreign",
        "have_base",
        "have_refresh",
        "landmarks",
        "limit",
        "links",
        "mathml",
        "page",
        "scripts",
        "url",
    )

    def __init__(self, page: ExtractedPage, url: str, limit: int) -> None:
        self.page = page
        self.url = url
        self.links = page.links
        #: How many links to keep; past it a link is counted, not built (its
        #: text not even read).
        self.limit = limit
        #: ``a`` and ``area`` links with their elements (for sections and text).
        self.anchors: list[tuple[RawLink, LexborNode]] = []
        #: Elements that may be landmarks or scope one, in tree order.
        self.landmarks: list[LexborNode] = []
        #: ``<script>``/``<style>`` elements inside links.
        self.scripts: list[LexborNode] = []
        self.have_base = False
        self.have_refresh = False
        #: An <svg> or <math> (only <math>) came before: elements from here on
        #: may be foreign, and their namespace has to be checked.
        self.foreign = False
        self.mathml = False

    def full(self) -> bool:
        """Whether the page has its ``limit`` of links (the next is counted)."""
        if len(self.links) < self.limit:
            return False
        self.page.truncated += 1
        return True


def _collapse(text: str) -> str:
    """Collapse whitespace runs to one space, trim, cut to :data:`MAX_TEXT`."""
    if not text:
        return ""
    text = " ".join(text.split())
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT].rstrip()
    return text


def _rel_tokens(rel: str) -> list[str]:
    """The tokens of a ``rel`` attribute, ASCII-lowercased."""
    return _ASCII_WHITESPACE.split(rel.translate(_ASCII_LOWER))


def _rel_flags(link: RawLink, rel: str) -> None:
    """Set ``nofollow``, ``ugc`` and ``sponsored`` from a ``rel`` attribute."""
    tokens = _rel_tokens(rel)
    link.nofollow = "nofollow" in tokens
    link.ugc = "ugc" in tokens
    link.sponsored = "sponsored" in tokens


def _image_alt(link: RawLink, node: LexborNode) -> None:
    """Make an ``<a>`` without text an image link if it holds an ``<img>``."""
    img = node.css_first("img")
    if img is not None:
        link.image = True
        link.alt = _collapse(img.attrs.get("alt") or "")


# -- one handler per tag -------------------------------------------------------


def _valueless(attrs: LexborAttributes) -> str | None:
    """``""`` for ``<a href>``: selectolax gives None for both a missing and a
    valueless attribute. None when there is none (the selector also matches
    ``xlink:href``, which is not ``href``)."""
    return "" if "href" in attrs else None


def _xlink_href(scan: _Scan, node: LexborNode, attrs: LexborAttributes) -> str | None:
    """The SVG 1.1 ``xlink:href`` of an SVG ``<a>`` that has no ``href``."""
    if "xlink:href" not in attrs or not scan.foreign or namespace(node) != SVG:
        return None
    return attrs.get("xlink:href") or ""


def _on_a(scan: _Scan, node: LexborNode) -> None:
    attrs = node.attrs
    href = attrs.get("href")
    if href is None and (href := _valueless(attrs)) is None:
        href = _xlink_href(scan, node, attrs)
        if href is None:
            return
    # HTML and SVG <a> are links; a MathML <a> is not (browsers give MathML
    # elements no href).
    if (scan.mathml and namespace(node) == MATHML) or scan.full():
        return
    link = RawLink(href, "a", anchor=_collapse(node.text()))
    if not link.anchor:
        _image_alt(link, node)
    _add_anchor(scan, link, node, attrs.get("rel"))


def _on_area(scan: _Scan, node: LexborNode) -> None:
    attrs = node.attrs
    href = attrs.get("href")
    if href is None and (href := _valueless(attrs)) is None:
        return
    if not _is_html(scan, node) or scan.full():
        return
    link = RawLink(href, "area", alt=_collapse(attrs.get("alt") or ""))
    _add_anchor(scan, link, node, attrs.get("rel"))


def _add_anchor(scan: _Scan, link: RawLink, node: LexborNode, rel: str | None) -> None:
    if rel:
        _rel_flags(link, rel)
    scan.links.append(link)
    scan.anchors.append((link, node))


def _is_html(scan: _Scan, node: LexborNode) -> bool:
    """Whether ``node`` is an HTML element (an SVG ``<base>`` is no base)."""
    return not scan.foreign or namespace(node) == HTML


def _on_link(scan: _Scan, node: LexborNode) -> None:
    attrs = node.attrs
    rel = attrs.get("rel") or ""
    if "canonical" in _rel_tokens(rel) and _is_html(scan, node) and not scan.full():
        link = RawLink(attrs.get("href") or "", "canonical")
        _rel_flags(link, rel)
        scan.links.append(link)


def _on_meta(scan: _Scan, node: LexborNode) -> None:
    attrs = node.attrs
    content = attrs.get("content") or ""
    name = attrs.get("name")
    if name is not None and name.strip().lower() in _ROBOTS_NAMES:
        _robots(scan.page, content)
    equiv = attrs.get("http-equiv")
    if equiv is not None and not scan.have_refresh and equiv.strip().lower() == "refresh":
        _refresh(scan, content)


def _robots(page: ExtractedPage, content: str) -> None:
    """Robots ``<meta>`` directives; several metas add up."""
    tokens = _SPLIT_TOKENS.split(content.lower())
    none = "none" in tokens
    page.nofollow = page.nofollow or none or "nofollow" in tokens
    page.noindex = page.noindex or none or "noindex" in tokens


def _refresh(scan: _Scan, content: str) -> None:
    parsed = parse_refresh(content)
    if parsed is None:
        return
    url = parsed[1]
    if url is not None:
        try:
            resolve_url(url, scan.page.base_url)
        except InvalidURL:
            return  # ignored, and a later refresh may still take effect
        if not scan.full():
            scan.links.append(RawLink(url, "meta_refresh"))
    # Only the first refresh that parses takes effect (HTML, "shared
    # declarative refresh steps": "will declaratively refresh").
    scan.have_refresh = True


def _on_base(scan: _Scan, node: LexborNode) -> None:
    if not scan.have_base and _is_html(scan, node):
        scan.have_base = True
        scan.page.base_url = _frozen_base(node.attrs.get("href") or "", scan.url)


def _on_script(scan: _Scan, node: LexborNode) -> None:
    scan.scripts.append(node)


def _on_landmark(scan: _Scan, node: LexborNode) -> None:
    scan.landmarks.append(node)


def _on_foreign(scan: _Scan, node: LexborNode) -> None:
    scan.foreign = True
    scan.mathml = scan.mathml or node.tag == "math"
    scan.landmarks.append(node)  # it may have a role


_HANDLERS: dict[str | None, Callable[[_Scan, LexborNode], None]] = {
    "a": _on_a,
    "area": _on_area,
    "link": _on_link,
    "meta": _on_meta,
    "base": _on_base,
    "script": _on_script,
    "style": _on_script,
    "svg": _on_foreign,
    "math": _on_foreign,
}


def _frozen_base(href: str, url: str) -> str:
    """``<base href>`` resolved against the document URL; the document URL
    when that fails or gives a ``javascript:`` or ``data:`` URL (HTML, "set
    the frozen base URL"). Its query is UTF-8 whatever the page's encoding,
    as in Chromium (the Standard says the page's encoding)."""
    try:
        resolved = resolve_url(href, url)
    except InvalidURL:
        # An unparsable document URL still lets an absolute base through.
        try:
            resolved = resolve_url(href)
        except InvalidURL:
            return url
    if resolved.startswith(("javascript:", "data:")):
        return url
    return resolved


# -- after the pass ------------------------------------------------------------


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


def _owners(scripts: list[LexborNode], anchors: list[tuple[RawLink, LexborNode]]) -> list[int]:
    """Indexes in ``anchors`` of the ``<a>`` links that hold one of ``scripts``
    (an SVG ``<a>`` can sit inside an HTML one: both hold its script)."""
    index = {node.mem_id: i for i, (link, node) in enumerate(anchors) if link.kind == "a"}
    owners: set[int] = set()
    for script in scripts:
        owner = script.parent
        while owner is not None:
            found = index.get(owner.mem_id)
            if found is not None:
                owners.add(found)
            owner = owner.parent
    return sorted(owners)


def _drop_script_text(scan: _Scan) -> None:
    """Recompute the text of links that hold ``<script>``/``<style>`` elements."""
    for i in _owners(scan.scripts, scan.anchors):
        link, node = scan.anchors[i]
        link.anchor = _collapse(_visible_text(node))
        link.image = False
        link.alt = ""
        if not link.anchor:
            _image_alt(link, node)


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


def extract_links(
    html: str, url: str, *, encoding: str | None = None, max_links: int = 0
) -> ExtractedPage:
    """The links of ``html`` (decoded text) fetched from ``url``.

    ``encoding`` is the one ``html`` was decoded from (``response.encoding``):
    link queries are percent-encoded from it, so it goes on to
    :attr:`ExtractedPage.encoding`. Links are returned as written, in
    document order, the first ``max_links`` of them when that is above 0
    (the others are only counted, in ``truncated``); see
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
    page = ExtractedPage(base_url=url, encoding=query_codec(encoding))
    tree = _parse(html)
    if tree is None:
        return page
    nodes = tree.css(_SELECTOR)
    scan = _Scan(page, url, max_links if max_links > 0 else len(nodes) + 1)
    handlers = _HANDLERS
    for node in nodes:
        handlers.get(node.tag, _on_landmark)(scan, node)
    if scan.landmarks:
        assign_sections(scan.anchors, scan.landmarks)
    if scan.scripts:
        _drop_script_text(scan)
    # Page-level nofollow is applied to the page's edges by the spider, which
    # also reads X-Robots-Tag: each link keeps the flags of its own markup.
    return page

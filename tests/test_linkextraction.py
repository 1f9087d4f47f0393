"""Tests for backlinkbot.linkextraction: what a link is, and what it carries."""

from __future__ import annotations

import html as htmllib
import re
import time
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from backlinkbot.items import KINDS, SECTIONS, RawLink
from backlinkbot.linkextraction import MAX_TEXT, ExtractedPage, extract_links
from backlinkbot.linkextraction import sections as _extract_sections
from backlinkbot.linkextraction.depth import MAX_DEPTH, _too_deep, limit_depth
from backlinkbot.linkextraction.refresh import parse_refresh

URL = "http://example.com/dir/page.html"
DATA = Path(__file__).parent / "data" / "pages"


def kinds_hrefs(html: str, url: str = URL) -> list[tuple[str, str]]:
    return [(link.kind, link.href) for link in extract_links(html, url).links]


def only(html: str) -> RawLink:
    links = extract_links(html, URL).links
    assert len(links) == 1, links
    return links[0]


# -- what is a link ---------------------------------------------------------

LINKS = [
    ('<a href="/x">x</a>', [("a", "/x")]),
    ("<a>no href</a>", []),
    ('<a name="top" id="top">anchor target</a>', []),
    # An empty href is a link to the document itself (HTML: "follow the hyperlink").
    ('<a href="">self</a>', [("a", "")]),
    ("<a href>bare attribute</a>", [("a", "")]),
    ('<A HREF="/upper">x</A>', [("a", "/upper")]),
    ('<map name="m"><area href="/m" alt="M"><area alt="no href"></map>', [("area", "/m")]),
    ('<link rel="canonical" href="/c">', [("canonical", "/c")]),
    ('<link rel="CANONICAL" href="/c">', [("canonical", "/c")]),
    ('<link rel="alternate  canonical" href="/c">', [("canonical", "/c")]),
    ('<link rel="canonical">', []),
    ('<link rel="alternate" href="/feed">', []),
    ('<link rel="stylesheet" href="/s.css">', []),
    ('<link href="/c">', []),
    ('<meta http-equiv="refresh" content="0; url=/r">', [("meta_refresh", "/r")]),
    ('<meta http-equiv="REFRESH" content="0;URL=\'/r\'">', [("meta_refresh", "/r")]),
    ('<meta http-equiv="refresh" content="5">', []),
    ('<meta http-equiv="refresh" content="">', []),
    ('<meta http-equiv="refresh">', []),
    ('<meta http-equiv="content-type" content="text/html; url=/x">', []),
    ('<meta name="x" http-equiv="refresh" content="0; url=/named">', [("meta_refresh", "/named")]),
    # Only the first refresh that parses takes effect ("will declaratively refresh").
    (
        '<meta http-equiv="refresh" content="0; url=/one">'
        '<meta http-equiv="refresh" content="0; url=/two">',
        [("meta_refresh", "/one")],
    ),
    (
        '<meta http-equiv="refresh" content="soon; url=/bad">'
        '<meta http-equiv="refresh" content="1; url=/good">',
        [("meta_refresh", "/good")],
    ),
    (
        '<meta http-equiv="refresh" content="3">'
        '<meta http-equiv="refresh" content="0; url=/later">',
        [],
    ),
    (
        '<body><p><meta http-equiv="refresh" content="0; url=/in-body">',
        [("meta_refresh", "/in-body")],
    ),
    # Hrefs are as written, character references decoded.
    ('<a href="  /spaced  ">x</a>', [("a", "  /spaced  ")]),
    ('<a href="/q?a=1&amp;b=2&#x26;c&#61;3">x</a>', [("a", "/q?a=1&b=2&c=3")]),
    ('<a href="/q?a=1&b=2&copy=3">x</a>', [("a", "/q?a=1&b=2&copy=3")]),
    ('<a href="javascript:void(0)">x</a>', [("a", "javascript:void(0)")]),
    ('<a href="mailto:a@example.com">x</a>', [("a", "mailto:a@example.com")]),
    ('<a href="#top">x</a>', [("a", "#top")]),
    ("<a href=/unquoted?x=1>x</a>", [("a", "/unquoted?x=1")]),
    ('<a href="/first" href="/second">x</a>', [("a", "/first")]),
    # Not links: other URL-bearing attributes.
    ('<img src="/i.png"><iframe src="/f"></iframe><form action="/post"></form>', []),
    ('<script src="/s.js"></script><div data-href="/d" onclick="location=\'/o\'">', []),
    ('<blockquote cite="/q">q</blockquote><video poster="/p"></video>', []),
    # SVG <a href> is a link in browsers; xlink:href (SVG 1.1) is not read.
    ('<svg><a href="/svg"><text>S</text></a></svg>', [("a", "/svg")]),
    ('<svg><a xlink:href="/xlink"><text>X</text></a></svg>', []),
    # The parser closes an open <a> when another starts (adoption agency).
    ('<a href="/1">one<a href="/2">two</a>', [("a", "/1"), ("a", "/2")]),
    # Document order across kinds.
    (
        '<html><head><link rel="canonical" href="/c">'
        '<meta http-equiv="refresh" content="9;url=/r"></head>'
        '<body><a href="/a">a</a><map><area href="/m"></map></body></html>',
        [("canonical", "/c"), ("meta_refresh", "/r"), ("a", "/a"), ("area", "/m")],
    ),
]


@pytest.mark.parametrize(("html", "expected"), LINKS)
def test_what_is_a_link(html: str, expected: list[tuple[str, str]]) -> None:
    assert kinds_hrefs(html) == expected


# -- where links are not ----------------------------------------------------

AFTER = '<a href="/after">after</a>'

NOT_LINKS = [
    '<!-- <a href="/comment">c</a> -->',
    '<!--[if IE]><a href="/conditional">c</a><![endif]-->',
    '<![CDATA[<a href="/cdata">c</a>]]>',
    "<script>document.write('<a href=\"/script\">s</a>')</script>",
    '<script type="text/template"><a href="/tpl">t</a></script>',
    '<style>/* <a href="/style">s</a> */</style>',
    '<textarea><a href="/textarea">t</a></textarea>',
    '<title><a href="/title">t</a></title>',
    '<template><a href="/template">t</a></template>',
    '<template><div><template><a href="/nested">n</a></template></div></template>',
    '<template shadowrootmode="open"><a href="/shadow">s</a></template>',
    '<xmp><a href="/xmp">x</a></xmp>',
    '<iframe><a href="/iframe">i</a></iframe>',
    '<noembed><a href="/noembed">n</a></noembed>',
    '<noframes><a href="/noframes">n</a></noframes>',
]


@pytest.mark.parametrize("html", NOT_LINKS)
def test_not_links(html: str) -> None:
    assert kinds_hrefs(f"<body><p>{html}{AFTER}") == [("a", "/after")]


def test_template_in_head_and_table() -> None:
    html = (
        '<head><template><link rel="canonical" href="/t-canonical">'
        '<meta http-equiv="refresh" content="0; url=/t-refresh">'
        '<base href="http://template.example/"><meta name="robots" content="nofollow">'
        '</template></head><body><table><template><tr><td><a href="/t-cell">c</a>'
        f"</td></tr></template></table>{AFTER}"
    )
    page = extract_links(html, URL)
    assert [(link.kind, link.href) for link in page.links] == [("a", "/after")]
    assert page.base_url == URL
    assert not page.nofollow


def test_plaintext_swallows_the_rest() -> None:
    assert kinds_hrefs(f"{AFTER}<plaintext><a href='/p'>p</a>") == [("a", "/after")]


def test_noscript_links_are_links() -> None:
    # Parsed with scripting disabled, as a crawler that runs no scripts sees it.
    html = (
        '<head><noscript><link rel="canonical" href="/ns-canonical"></noscript></head>'
        '<body><noscript><a href="/ns">no js</a><img src="/pixel"></noscript></body>'
    )
    links = extract_links(html, URL).links
    assert [(link.kind, link.href, link.anchor) for link in links] == [
        ("canonical", "/ns-canonical", ""),
        ("a", "/ns", "no js"),
    ]


# -- anchor text ------------------------------------------------------------

ANCHORS = [
    ('<a href="/x">plain</a>', "plain"),
    ('<a href="/x">  lots \n\t of   space  </a>', "lots of space"),
    (
        '<a href="/x">A &amp; B &lt;c&gt; &quot;d&quot; &eacute;&#233;&#xE9;</a>',
        'A & B <c> "d" ééé',
    ),
    # A no-break space is whitespace here too: readers see a space.
    ('<a href="/x">no&nbsp;break&#xa0;&#x3000;ideographic</a>', "no break ideographic"),
    ('<a href="/x"><b>Bold</b> <i>italic</i></a>', "Bold italic"),
    ('<a href="/x"><span>One</span><span>Two</span></a>', "OneTwo"),
    ('<a href="/x">line<br>break</a>', "linebreak"),
    ('<a href="/x"><!-- hidden -->shown</a>', "shown"),
    ('<a href="/x">Text<script>var tracker = 1;</script> more</a>', "Text more"),
    ('<a href="/x"><style>.a{}</style>Styled</a>', "Styled"),
    ('<a href="/x">Hello<template>not shown</template></a>', "Hello"),
    ('<a href="/x"><noscript>No JS</noscript></a>', "No JS"),
    ('<a href="/x">   </a>', ""),
    ('<a href="/x"></a>', ""),
    ('<a href="/x">Logo <img alt="ignored"></a>', "Logo"),
    ('<a href="/x"><svg><title>Icon</title></svg>Menu</a>', "IconMenu"),
    ("<a href=/x>" + "word " * 100 + "</a>", ("word " * 52)[:MAX_TEXT].rstrip()),
    ("<a href=/x>" + "x" * 300 + "</a>", "x" * MAX_TEXT),
    ("<a href=/x>" + "x" * 255 + " y</a>", "x" * 255),
]


@pytest.mark.parametrize(("html", "anchor"), ANCHORS)
def test_anchor(html: str, anchor: str) -> None:
    link = only(html)
    assert link.anchor == anchor
    assert link.image is False
    assert link.alt == ""


# -- image links ------------------------------------------------------------

IMAGES = [
    ('<a href="/x"><img src="/l.png" alt="Logo"></a>', "Logo"),
    ('<a href="/x">\n  <img alt="  Big\n  logo ">\n</a>', "Big logo"),
    ('<a href="/x"><img alt="first"><img alt="second"></a>', "first"),
    ('<a href="/x"><img src="/no-alt.png"><img alt="second"></a>', ""),
    ('<a href="/x"><img alt=""></a>', ""),
    ('<a href="/x"><span><img alt="wrapped"></span></a>', "wrapped"),
    ('<a href="/x"><picture><source srcset="/a.webp"><img alt="pic"></picture></a>', "pic"),
    ('<a href="/x"><img alt="A &amp; B"></a>', "A & B"),
    ('<a href="/x"><!-- c --><img alt="commented"></a>', "commented"),
    ('<a href="/x"><img alt="scripted"><script>track()</script></a>', "scripted"),
    ('<a href="/x"><img alt="' + "a" * 300 + '"></a>', "a" * MAX_TEXT),
]


@pytest.mark.parametrize(("html", "alt"), IMAGES)
def test_image_link(html: str, alt: str) -> None:
    link = only(html)
    assert (link.kind, link.image, link.anchor, link.alt) == ("a", True, "", alt)


@pytest.mark.parametrize(
    "html",
    [
        '<a href="/x"><img alt="logo"> Home</a>',
        '<a href="/x"><svg><circle r="1"/></svg></a>',
        '<a href="/x"><i class="icon"></i></a>',
        '<a href="/x"></a>',
    ],
)
def test_not_an_image_link(html: str) -> None:
    link = only(html)
    assert link.image is False
    assert link.alt == ""


def test_area() -> None:
    link = only('<map><area href="/m" alt="  Region\n one " rel="nofollow sponsored"></map>')
    assert link == RawLink("/m", "area", anchor="", alt="Region one", nofollow=True, sponsored=True)


# -- rel --------------------------------------------------------------------

RELS = [
    ("nofollow", (True, False, False)),
    ("NoFollow", (True, False, False)),
    ("ugc", (False, True, False)),
    ("sponsored", (False, False, True)),
    ("UGC nofollow", (True, True, False)),
    ("  noopener\tnofollow\nSPONSORED  ", (True, False, True)),
    ("noopener noreferrer", (False, False, False)),
    ("", (False, False, False)),
    ("nofollower", (False, False, False)),
    ("no-follow", (False, False, False)),
    # Tokens are separated by ASCII whitespace only (HTML, "set of
    # space-separated tokens"): a comma list is one unknown token.
    ("nofollow,ugc", (False, False, False)),
]


@pytest.mark.parametrize(("rel", "flags"), RELS)
@pytest.mark.parametrize(
    "template",
    [
        '<a href="/x" rel="{rel}">x</a>',
        '<map><area href="/x" rel="{rel}"></map>',
        '<link href="/x" rel="canonical {rel}">',
    ],
)
def test_rel(template: str, rel: str, flags: tuple[bool, bool, bool]) -> None:
    link = only(template.format(rel=rel))
    assert (link.nofollow, link.ugc, link.sponsored) == flags


def test_link_without_rel_has_no_flags() -> None:
    link = only('<a href="/x">x</a>')
    assert (link.nofollow, link.ugc, link.sponsored) == (False, False, False)


# -- robots meta ------------------------------------------------------------

ROBOTS = [
    ('<meta name="robots" content="nofollow">', (True, False)),
    ('<meta name="robots" content="noindex">', (False, True)),
    ('<meta name="robots" content="none">', (True, True)),
    ('<meta name="robots" content="NOINDEX, NOFOLLOW">', (True, True)),
    ('<meta name="robots" content="noindex,nofollow">', (True, True)),
    ('<meta name="robots" content="noindex nofollow">', (True, True)),
    ('<meta name="ROBOTS" content="NoFollow">', (True, False)),
    ('<meta name=" robots " content="nofollow">', (True, False)),
    ('<meta name="robots" content="index, follow">', (False, False)),
    ('<meta name="robots" content="all">', (False, False)),
    ('<meta name="robots" content="max-snippet:-1, noarchive">', (False, False)),
    ('<meta name="robots" content="">', (False, False)),
    ('<meta name="backlinkbot" content="nofollow">', (True, False)),
    ('<meta name="BacklinkBot" content="none">', (True, True)),
    ('<meta name="googlebot" content="nofollow, noindex">', (False, False)),
    ('<meta name="description" content="nofollow">', (False, False)),
    ('<meta property="robots" content="nofollow">', (False, False)),
    ('<meta http-equiv="robots" content="nofollow">', (False, False)),
    (
        '<meta name="robots" content="noindex"><meta name="backlinkbot" content="nofollow">',
        (True, True),
    ),
    ('<body><div><meta name="robots" content="nofollow"></div>', (True, False)),
    ('<!-- <meta name="robots" content="nofollow"> -->', (False, False)),
    ('<template><meta name="robots" content="nofollow"></template>', (False, False)),
]


@pytest.mark.parametrize(("metas", "flags"), ROBOTS)
def test_robots_meta(metas: str, flags: tuple[bool, bool]) -> None:
    html = f'{metas}<link rel="canonical" href="/c"><a href="/a">a</a><map><area href="/m"></map>'
    page = extract_links(html, URL)
    assert (page.nofollow, page.noindex) == flags
    # Page-level nofollow is the page's: each link keeps its own flags (the
    # spider makes the edges of a nofollow page nofollow).
    assert [link.nofollow for link in page.links] == [False] * 3


# -- base URL ---------------------------------------------------------------

BASES = [
    ("", URL),
    ('<base href="http://other.example/dir/">', "http://other.example/dir/"),
    ('<base href="/sub/">', "http://example.com/sub/"),
    ('<base href="../up/">', "http://example.com/up/"),
    ('<base href="HTTPS://Example.ORG:443/a/../b">', "https://example.org/b"),
    ('<base href="  https://e.org/x  ">', "https://e.org/x"),
    ('<base href="//cdn.example/">', "http://cdn.example/"),
    ('<base href="">', URL),
    (
        '<base target="_blank"><base href="/first/"><base href="/second/">',
        "http://example.com/first/",
    ),
    ('<body><p><base href="/in-body/">', "http://example.com/in-body/"),
    ('<base href="javascript:alert(1)">', URL),
    ('<base href="mailto:a@example.com">', URL),
    ('<base href="ftp://example.com/">', URL),
    ('<base href="data:text/html,x">', URL),
    ('<base href="http://[::1">', URL),
    ('<base href="http://exa mple.com/">', URL),
    ('<!-- <base href="/commented/"> -->', URL),
]


@pytest.mark.parametrize(("head", "base"), BASES)
def test_base_url(head: str, base: str) -> None:
    page = extract_links(f'{head}<a href="rel">x</a>', URL)
    assert page.base_url == base
    # Links stay as written: resolving them is the normalizer's job.
    assert page.links[0].href == "rel"


@pytest.mark.parametrize("url", ["not a url", "", "http://[bad/"])
def test_base_url_with_an_unparsable_document_url(url: str) -> None:
    assert extract_links('<base href="/sub/"><a href="x">x</a>', url).base_url == url
    assert extract_links('<base href="https://ok.example/">', url).base_url == (
        "https://ok.example/"
    )


# -- section ----------------------------------------------------------------

SECTION_CASES = [
    ("{a}", "body"),
    ("<div><p>{a}</p></div>", "body"),
    ("<header>{a}</header>", "header"),
    ("<nav><ul><li>{a}</li></ul></nav>", "nav"),
    ("<footer>{a}</footer>", "footer"),
    ("<aside>{a}</aside>", "aside"),
    ("<main>{a}</main>", "main"),
    ('<div role="banner">{a}</div>', "header"),
    ('<div role="navigation">{a}</div>', "nav"),
    ('<div role="contentinfo">{a}</div>', "footer"),
    ('<div role="complementary">{a}</div>', "aside"),
    ('<div role="main">{a}</div>', "main"),
    ('<div role="NAVIGATION">{a}</div>', "nav"),
    # ARIA: the first token that names a known role wins.
    ('<div role="menubar navigation">{a}</div>', "nav"),
    ('<div role="navigation main">{a}</div>', "nav"),
    ('<div role="search">{a}</div>', "body"),
    ('<section role="region" aria-label="r">{a}</section>', "body"),
    # An explicit role overrides the element's own.
    ('<nav role="contentinfo">{a}</nav>', "footer"),
    ('<header role="navigation">{a}</header>', "nav"),
    # The nearest landmark wins.
    ("<header><nav>{a}</nav></header>", "nav"),
    ("<footer><nav>{a}</nav></footer>", "nav"),
    ("<main><aside>{a}</aside></main>", "aside"),
    ("<nav><div><div><span>{a}</span></div></div></nav>", "nav"),
    # <header>/<footer> scoped to article, aside, main, nav or section are not
    # page landmarks (HTML-AAM): the search goes on above them.
    ("<article><header>{a}</header></article>", "body"),
    ("<section><footer>{a}</footer></section>", "body"),
    ("<main><article><header>{a}</header></article></main>", "main"),
    ("<main><header>{a}</header></main>", "main"),
    ("<aside><footer>{a}</footer></aside>", "aside"),
    ("<nav><header>{a}</header></nav>", "nav"),
    ('<div role="article"><header>{a}</header></div>', "body"),
    ('<div role="main"><footer>{a}</footer></div>', "main"),
    ("<header><div><header>{a}</header></div></header>", "header"),
    ("<body><div><footer><p>{a}</p></footer></div>", "footer"),
    # An explicit role is a landmark wherever it is.
    ('<article><div role="banner">{a}</div></article>', "header"),
    # Leaving a landmark leaves its section.
    ("<nav>n</nav>{a}", "body"),
]


@pytest.mark.parametrize(("markup", "section"), SECTION_CASES)
def test_section(markup: str, section: str) -> None:
    assert only(markup.format(a='<a href="/x">x</a>')).section == section


@pytest.mark.parametrize(("markup", "section"), SECTION_CASES)
def test_section_of_area(markup: str, section: str) -> None:
    assert only(markup.format(a='<map><area href="/x"></map>')).section == section


def test_head_links_are_in_body_section() -> None:
    html = (
        '<head><link rel="canonical" href="/c"><meta http-equiv="refresh" content="0;url=/r">'
        '</head><body><nav><link rel="canonical" href="/c2">'
        '<meta http-equiv="refresh" content="0;url=/r2"><a href="/a">a</a></nav></body>'
    )
    links = extract_links(html, URL).links
    assert [(link.kind, link.section) for link in links] == [
        ("canonical", "body"),
        ("meta_refresh", "body"),
        ("canonical", "body"),
        ("a", "nav"),
    ]


def test_sections_of_many_links_share_ancestors() -> None:
    html = (
        "<header>" + '<a href="/h">h</a>' * 50 + "</header>"
        "<main><article><header>" + '<a href="/m">m</a>' * 50 + "</header></article></main>"
        "<footer>" + '<a href="/f">f</a>' * 50 + "</footer>" + '<a href="/b">b</a>'
    )
    sections = [link.section for link in extract_links(html, URL).links]
    assert sections == ["header"] * 50 + ["main"] * 50 + ["footer"] * 50 + ["body"]


# -- the page ---------------------------------------------------------------


def test_extracted_page_shape() -> None:
    html = (
        '<html><head><base href="/b/"><meta name="robots" content="noindex">'
        '<link rel="canonical" href="/c"></head><body><nav>'
        '<a href="/n" rel="ugc">Nav &amp; more</a></nav><a href="/i"><img alt="I"></a>'
        '<map><area href="/m" alt="M"></map></body></html>'
    )
    assert extract_links(html, URL) == ExtractedPage(
        base_url="http://example.com/b/",
        links=[
            RawLink("/c", "canonical"),
            RawLink("/n", "a", anchor="Nav & more", ugc=True, section="nav"),
            RawLink("/i", "a", alt="I", image=True),
            RawLink("/m", "area", alt="M"),
        ],
        nofollow=False,
        noindex=True,
    )


@pytest.mark.parametrize("html", ["", " ", "just text", "<!doctype html>", "<html></html>"])
def test_no_links(html: str) -> None:
    assert extract_links(html, URL) == ExtractedPage(base_url=URL)


@pytest.mark.parametrize(
    ("html", "url", "message"),
    [
        (b"<a href=x>", URL, "expected str html, got bytes"),
        (None, URL, "expected str html, got NoneType"),
        ("<a href=x>", b"http://e.com/", "expected str url, got bytes"),
    ],
)
def test_type_errors_name_what_they_got(html: object, url: object, message: str) -> None:
    with pytest.raises(TypeError, match=re.escape(message)):
        extract_links(html, url)  # type: ignore[arg-type]


# -- meta refresh content -----------------------------------------------------

REFRESH = [
    ("0; url=http://example.com/", (0, "http://example.com/")),
    ("0;URL=/x", (0, "/x")),
    ("0; Url = /x", (0, "/x")),
    ("5; url='/quoted'", (5, "/quoted")),
    ('5; url="/dq" trailing', (5, "/dq")),
    ("5; url='/unterminated", (5, "/unterminated")),
    ("5;'/quoted-no-url'", (5, "/quoted-no-url")),
    ("5, /comma", (5, "/comma")),
    ("5 /space", (5, "/space")),
    ("5\t;\t/tabs", (5, "/tabs")),
    ("0 ; url=/x", (0, "/x")),
    ("0;/no-prefix", (0, "/no-prefix")),
    # An incomplete "url=" prefix is part of the URL (steps 9-13 jump to "parse").
    ("0; urx=/y", (0, "urx=/y")),
    ("0; u", (0, "u")),
    ("0; url", (0, "url")),
    ("0; url /no-equals", (0, "url /no-equals")),
    ("0; url=url=/twice", (0, "url=/twice")),
    ("1.5; url=/x", (1, "/x")),
    ("1.5.5; url=/x", (1, "/x")),
    (".5; url=/x", (0, "/x")),
    ("  7  ", (7, None)),
    ("3;", (3, None)),
    ("3; ", (3, None)),
    ("0; url=", (0, None)),
    ("0; url=''", (0, None)),
    ("0; url=  ", (0, None)),
    ("0; url=/x ", (0, "/x ")),
    ("99999999999999999999; url=/x", (9999999999, "/x")),
    ("", None),
    ("   ", None),
    ("soon", None),
    ("; url=/x", None),
    ("-1; url=/x", None),
    ("5x; url=/x", None),
    ("url=/x", None),
]


@pytest.mark.parametrize(("content", "expected"), REFRESH)
def test_parse_refresh(content: str, expected: tuple[int, str | None] | None) -> None:
    assert parse_refresh(content) == expected


@given(st.text())
def test_parse_refresh_total(content: str) -> None:
    result = parse_refresh(content)
    assert result is None or (result[0] >= 0 and (result[1] is None or result[1].strip()))


# -- the test pages of webarchive-commons -------------------------------------


def read_warc(path: Path) -> dict[str, str]:
    """The HTML bodies of an uncompressed WARC file, by target URI."""
    data = path.read_bytes()
    pages: dict[str, str] = {}
    pos = 0
    while (start := data.find(b"WARC/1.0\r\n", pos)) >= 0:
        head_end = data.index(b"\r\n\r\n", start)
        head = data[start:head_end].decode("latin-1")
        length = int(re.search(r"(?im)^Content-Length:\s*(\d+)", head)[1])  # type: ignore[index]
        block = data[head_end + 4 : head_end + 4 + length]
        pos = head_end + 4 + length
        uri = re.search(r"(?im)^WARC-Target-URI:\s*<?([^\s>]+)", head)
        if "WARC-Type: response" not in head or uri is None:
            continue
        http_head, _, body = block.partition(b"\r\n\r\n")
        if b"html" in http_head.lower():
            pages[uri[1]] = body.decode("utf-8")
    return pages


WARC_PAGES = read_warc(DATA / "link-extraction-test.warc")
FB_VIDEO = "https://www.facebook.com/facebook/videos/10153231379946729/"
REDIRECTED = "http://www.example.com/redirected.html"

# (href, kind, anchor, alt, image, nofollow, section) per page, with the page's
# base URL and robots flags.
WARC_EXPECTED: dict[str, tuple[str, list[tuple[str, str, str, str, bool, bool, str]]]] = {
    "http://www.example.com/html4.html": (
        "http://www.example.com/",
        [
            (REDIRECTED, "meta_refresh", "", "", False, False, "body"),
            ("http://www.example.com/a-href.html", "a", "A@/href", "", False, False, "body"),
            ("#anchor", "a", "anchor only", "", False, False, "body"),
        ],
    ),
    "http://www.example.com/link-extraction-test-html5-video.html": (
        "http://www.example.com/link-extraction-test-html5-video.html",
        # As written; the URL parser reads "http:///host" as "http://host".
        [("http:///www.example.com/video.html", "canonical", "", "", False, False, "body")],
    ),
    "http://www.example.com/poor_html5.html": (
        "http://www.example.com/poor_html5.html",
        [("http://www.example.com/", "a", "link", "", False, False, "body")],
    ),
    "http://www.example.com/fb-video.html": (
        "http://www.example.com/fb-video.html",
        [
            (FB_VIDEO, "a", "How to Share With Just Friends", "", False, False, "body"),
            ("https://www.facebook.com/facebook/", "a", "Facebook", "", False, False, "body"),
        ],
    ),
    "http://www.example.com/data-href.examples.html": (
        "http://www.example.com/data-href.examples.html",
        # data-href attributes are scripts' business, not links; the jackbox
        # <a> has no href.
        [
            (FB_VIDEO, "a", "How to Share With Just Friends", "", False, False, "body"),
            ("https://www.facebook.com/facebook/", "a", "Facebook", "", False, False, "body"),
            ("/content-page", "a", "Headline goes here.", "", False, False, "body"),
            ("/tags/content", "a", "content", "", False, False, "body"),
            ("/tags/headlines", "a", "headlines", "", False, False, "body"),
            ("#", "a", "venobox", "", False, False, "body"),
            ("#", "a", "X", "", False, False, "body"),
        ],
    ),
    "http://www.example.com/fb-social-plugins.html": (
        "http://www.example.com/fb-social-plugins.html",
        [("https://www.facebook.com/facebook", "a", "Facebook", "", False, False, "body")],
    ),
    # URLs in onclick handlers are not links.
    "http://www.example.com/link-extraction-test-onclick-attr.html": (
        "http://www.example.com/link-extraction-test-onclick-attr.html",
        [],
    ),
    "http://www.example.com/link-extraction-test-unescaped-entities.xhtml": (
        "http://www.example.com/",
        [
            (REDIRECTED, "meta_refresh", "", "", False, False, "body"),
            ("/view?id=logo&action=edit", "a", "logo", "", False, False, "body"),
            (
                "http://www.example.com/search?q=examples&n=20",
                "a",
                "Examples & more",
                "",
                False,
                True,
                "body",
            ),
        ],
    ),
    # <ul> closes the <p> the <a> is in; the tree builder then reopens the
    # <a> inside the list ("reconstruct the active formatting elements"), as
    # browsers do: three <a> elements with the same href.
    "http://example.org/cc/link-extraction-test-anchor-text.html": (
        "http://example.org/cc/link-extraction-test-anchor-text.html",
        [
            ("https://example.org/", "a", "Anchor text with", "", False, False, "body"),
            (
                "https://example.org/",
                "a",
                "white space character entities and HTML block elements",
                "",
                False,
                False,
                "body",
            ),
            ("https://example.org/", "a", "", "", False, False, "body"),
        ],
    ),
}


def test_warc_has_the_nine_pages() -> None:
    assert sorted(WARC_PAGES) == sorted(WARC_EXPECTED)


@pytest.mark.parametrize("url", sorted(WARC_EXPECTED))
def test_warc_page(url: str) -> None:
    base, expected = WARC_EXPECTED[url]
    page = extract_links(WARC_PAGES[url], url)
    assert page.base_url == base
    assert (page.nofollow, page.noindex) == (False, False)
    got = [
        (link.href, link.kind, link.anchor, link.alt, link.image, link.nofollow, link.section)
        for link in page.links
    ]
    assert got == expected


def test_real_page_from_wget_capture() -> None:
    # archive.org's home page as wget saw it in 2013; lxml, another HTML
    # parser, finds as many links.
    import lxml.html

    html = read_warc(DATA / "IAH-urls-wget.warc")["https://archive.org/"]
    page = extract_links(html, "https://archive.org/")
    assert len(page.links) == len(lxml.html.fromstring(html).xpath("//a[@href]")) == 95
    assert (page.base_url, page.nofollow, page.noindex) == ("https://archive.org/", False, False)
    assert page.links[:3] == [
        RawLink("/", alt="Internet Archive", image=True),
        RawLink("/web/web.php", anchor="Web"),
        RawLink("/details/movies", anchor="Video"),
    ]
    assert sum(link.image for link in page.links) == 8


# -- robustness ---------------------------------------------------------------


def check_invariants(page: ExtractedPage, url: str) -> None:
    assert page.base_url == url or page.base_url.startswith(("http://", "https://"))
    for link in page.links:
        assert isinstance(link.href, str)
        assert link.kind in KINDS
        assert link.section in SECTIONS
        for text in (link.anchor, link.alt):
            assert len(text) <= MAX_TEXT
            assert text == " ".join(text.split())
        if link.image:
            assert link.kind == "a"
            assert link.anchor == ""
        if link.kind in ("area", "canonical", "meta_refresh"):
            assert link.anchor == ""
        if link.kind in ("canonical", "meta_refresh"):
            assert link.section == "body"


FRAGMENTS = [
    '<a href="/x">',
    "</a>",
    "<a href=",
    '"',
    "'",
    "<",
    ">",
    "&amp;",
    "&",
    "<!--",
    "-->",
    "<script>",
    "</script>",
    "<template>",
    "</template>",
    "<style>",
    "<textarea>",
    "<title>",
    "<nav>",
    "</nav>",
    '<div role="banner">',
    "<article><header>",
    "<img alt='i'>",
    '<base href="/b/">',
    '<meta name=robots content="none">',
    '<meta http-equiv=refresh content="0;url=/r">',
    '<link rel=canonical href="/c">',
    "<map><area href=/m alt=m>",
    "<table><tr><td>",
    "<svg>",
    "<math>",
    "<plaintext>",
    "<![CDATA[",
    "]]>",
    "\x00",
    "\ud800",
    "\r\n",
    "text ",
    "<select><option>",
    "<frameset>",
    "<noscript>",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=8), max_size=40))
def test_random_markup_never_raises(parts: list[str]) -> None:
    html = "".join(parts)
    check_invariants(extract_links(html, URL), URL)


@settings(max_examples=200, deadline=None)
@given(st.text(), st.text(max_size=40))
@example("\ud800<a href='\udfff'>\udc00</a>", "http://e.com/\ud800")
@example("\x00" * 10, "")
def test_any_text_never_raises(html: str, url: str) -> None:
    check_invariants(extract_links(html, url), url)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_mutated_real_pages_never_raise(data: st.DataObject) -> None:
    html = data.draw(st.sampled_from(sorted(WARC_PAGES.values())))
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(html)))
        end = data.draw(st.integers(pos, min(len(html), pos + 40)))
        html = html[:pos] + data.draw(st.sampled_from(FRAGMENTS) | st.text(max_size=4)) + html[end:]
    check_invariants(extract_links(html, URL), URL)


# Characters that survive HTML's input stream preprocessing unchanged:
# no surrogates, no controls (CR is normalized, NUL replaced or dropped).
TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=30)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(TEXT, TEXT, st.sampled_from(["", "nofollow", "ugc", "sponsored nofollow"])),
        max_size=12,
    )
)
def test_links_round_trip(specs: list[tuple[str, str, str]]) -> None:
    """Written links come back with their href, text and rel, in order."""
    html = "".join(
        f'<p><a href="{htmllib.escape(href)}" rel="{rel}">{htmllib.escape(text)}</a></p>'
        for href, text, rel in specs
    )
    links = extract_links(html, URL).links
    expected = [
        (href, " ".join(text.split())[:MAX_TEXT].rstrip(), "nofollow" in rel)
        for href, text, rel in specs
    ]
    assert [(link.href, link.anchor, link.nofollow) for link in links] == expected


@pytest.mark.parametrize(
    ("html", "href", "anchor"),
    [
        ('<a href="/a\x00b">x\x00y</a>', "/a\ufffdb", "xy"),
        ('<a href="/a\ud800b">x\udc00y</a>', "/a\ufffdb", "x\ufffdy"),
        ('\ufeff<a href="/bom">b</a>', "/bom", "b"),
        ('<a href="/cr\r\nlf">a\rb</a>', "/cr\nlf", "a b"),
    ],
)
def test_input_stream_oddities(html: str, href: str, anchor: str) -> None:
    link = only(html)
    assert (link.href, link.anchor) == (href, anchor)


def test_gigantic_attribute_and_text() -> None:
    href = "/" + "x" * 5_000_000
    link = only(f'<a href="{href}" rel="{"n " * 100_000}nofollow">{"word " * 200_000}</a>')
    assert link.href == href
    assert link.nofollow
    assert len(link.anchor) == MAX_TEXT


def test_many_links() -> None:
    html = "<ul>" + "".join(f'<li><a href="/p{i}">{i}</a>' for i in range(20_000)) + "</ul>"
    links = extract_links(html, URL).links
    assert [link.href for link in links] == [f"/p{i}" for i in range(20_000)]


@pytest.mark.parametrize(
    "html",
    [
        # Balanced: 100,000 nested <div>s would cost the parser ~45 s.
        "<nav>" + "<div>" * 100_000 + '<a href="/deep">deep</a>' + "</div>" * 100_000 + "</nav>",
        "<nav>" + "<div>" * 100_000 + '<a href="/deep">deep</a>',
        "<nav>" + "<div><section><ul>" * 30_000 + '<a href="/deep">deep</a>',
        # A deep stack, then many tags that each walk it.
        "<nav>" + "<ul>" * 600 + "</div>" * 100_000 + '<a href="/deep">deep</a>',
        "<nav>" + "<div>" * 600 + "<div></div>" * 100_000 + '<a href="/deep">deep</a>',
        "<nav>" + "<span>" * 100_000 + '<a href="/deep">deep</a>',
        "<nav>" + "<b><i><em>" * 30_000 + '<a href="/deep">deep</a>',
    ],
    ids=["balanced", "unclosed", "mixed", "end-tags", "siblings", "inline", "formatting"],
)
def test_deep_nesting_is_bounded(html: str) -> None:
    start = time.perf_counter()
    page = extract_links(html, URL)
    elapsed = time.perf_counter() - start
    assert [(link.href, link.anchor, link.section) for link in page.links] == [
        ("/deep", "deep", "nav")
    ]
    assert elapsed < 5, f"took {elapsed:.1f} s"


@pytest.mark.parametrize(
    ("html", "max_depth", "expected"),
    [
        ("<div><div><div>x</div></div></div>", 2, "<div><div>x</div></div>"),
        ("<DIV><div class=a><Div id='b'>x</DIV></div></div>", 1, "<DIV>x</div>"),
        ("<ul><li><ul><li>x</ul></ul>", 1, "<ul><li><li>x</ul>"),
        ("<div><p><p><p>x</div>", 1, "<div><p><p><p>x</div>"),
        ("<div><a><a><a>x</div>", 1, "<div><a><a><a>x</div>"),
        ("<div><span><b>x</b></span></div>", 3, "<div><span><b>x</b></span></div>"),
        ("<div></section></div>", 5, "<div></section></div>"),
        ("<div></div></div><div><div>x", 1, "<div></div></div><div>x"),
        ("<div><div></div><div></div></div>", 1, "<div></div>"),
        ('<div><div title="<div>">x</div></div>', 1, '<div>">x</div>'),
    ],
)
def test_limit_depth(html: str, max_depth: int, expected: str) -> None:
    assert limit_depth(html, max_depth=max_depth, scan_from=0) == expected


def test_limit_depth_leaves_small_documents_alone() -> None:
    html = "<div>" * (MAX_DEPTH + 10)
    assert limit_depth(html) is html
    assert limit_depth(html, scan_from=0).count("<div>") == MAX_DEPTH


# Whole tags only: the scan is lexical, and a "<div" inside an attribute
# value (href=<div>) is a tag to it. No SVG or MathML: an HTML <div> ends
# foreign content, so dropping one can turn a <script> into an SVG <script>.
# No <frameset>: whether it replaces the body depends on what came before.
TAGS = [
    f
    for f in FRAGMENTS
    if f.startswith("<") and f.endswith(">") and f not in ("<svg>", "<math>", "<frameset>")
]
TAGS += ["<div>", "</div>", "<ul>", "</ul>", "<span>", "</span>", "<section>", "text"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(TAGS), max_size=60), st.integers(0, 4))
def test_limit_depth_keeps_links(parts: list[str], max_depth: int) -> None:
    """Flattening deep markup keeps every link target: only container tags go.

    Below the limit, what may change is a link's section (with its landmark),
    raw text that holds a tag (a <textarea> inside a link), and how often the
    tree builder clones a misnested <a> across block elements.
    """
    html = "".join(parts)
    flat = limit_depth(html, max_depth=max_depth, scan_from=0)
    assert {(link.kind, link.href) for link in extract_links(flat, URL).links} == {
        (link.kind, link.href) for link in extract_links(html, URL).links
    }


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from([*TAGS, "<DIV>", "</Div>", "<b>", "</b>", "</nav>"]), max_size=80),
    st.integers(0, 6),
)
def test_depth_check_agrees_with_the_limit(parts: list[str], max_depth: int) -> None:
    html = "".join(parts)
    flat = limit_depth(html, max_depth=max_depth, scan_from=0)
    assert _too_deep(html, max_depth) == (flat != html)


@pytest.fixture
def walk_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sections by the memoized walk, as when the landmark pass runs over budget."""
    monkeypatch.setattr(_extract_sections, "_by_landmark", lambda candidates, budget: None)


@pytest.mark.parametrize(("markup", "section"), SECTION_CASES)
def test_section_by_walk(markup: str, section: str, walk_only: None) -> None:
    assert only(markup.format(a='<a href="/x">x</a>')).section == section


LANDMARKY = [
    "<header>",
    "</header>",
    "<footer>",
    "</footer>",
    "<nav>",
    "</nav>",
    "<aside>",
    "</aside>",
    "<main>",
    "</main>",
    "<article>",
    "</article>",
    "<section>",
    "</section>",
    "<div>",
    "</div>",
    '<div role="banner">',
    '<div role="navigation">',
    '<div role="article">',
    '<div role="region">',
    '<span role="contentinfo main">',
    '<p role="button">',
    '<a href="/x">x</a>',
    "<map><area href=/m>",
    '<link rel="canonical" href="/c">',
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(LANDMARKY), max_size=50))
def test_section_strategies_agree(parts: list[str]) -> None:
    html = "".join(parts)
    by_landmark = extract_links(html, URL).links
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_extract_sections, "_by_landmark", lambda candidates, budget: None)
        by_walk = extract_links(html, URL).links
    assert by_landmark == by_walk


@pytest.mark.parametrize(
    ("navs", "links"), [(500, 40_000), (3000, 2500), (20, 50_000)], ids=["deep", "deeper", "wide"]
)
def test_nested_landmarks_stay_linear(navs: int, links: int) -> None:
    html = "<nav>" * navs + '<a href="/x">x</a>' * links
    start = time.perf_counter()
    page = extract_links(html, URL)
    elapsed = time.perf_counter() - start
    assert len(page.links) == links
    assert {link.section for link in page.links} == {"nav"}
    assert elapsed < 2, f"took {elapsed:.1f} s"


@pytest.mark.parametrize("max_links", [0, 1, 3, 4, 10])
def test_max_links_keeps_the_first_links_and_counts_the_rest(max_links: int) -> None:
    html = (
        '<head><link rel=canonical href="/c"><meta http-equiv=refresh content="0;url=/r"></head>'
        '<a href="/a">A</a><map><area href="/m"></map><a href="/b">B</a>'
    )
    every = extract_links(html, URL)
    assert [link.href for link in every.links] == ["/c", "/r", "/a", "/m", "/b"]
    assert every.truncated == 0
    page = extract_links(html, URL, max_links=max_links)
    kept = len(every.links) if max_links == 0 else min(max_links, len(every.links))
    assert page.links == every.links[:kept]
    assert page.truncated == len(every.links) - kept

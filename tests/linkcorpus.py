"""The pages the browser conformance suite of link extraction runs on.

Real pages from the sample WARCs of webarchive-commons and pywb and Scrapy's
link-extractor sample pages (all in ``tests/data/pages/``, see ``ORIGIN.md``
there), and hand-made pages of parser edge cases. Each page is the bytes a
server sent and its ``Content-Type``: ``tests/record_browser_links.py``
serves exactly that to Chromium, and the tests build a Scrapy
``HtmlResponse`` of it.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DATA", "TRICKY_URL", "CorpusPage", "corpus", "read_warc"]

DATA = Path(__file__).parent / "data"
PAGES = DATA / "pages"
#: Where every hand-made page is served from.
TRICKY_URL = "http://ex.com/dir/page.html"


@dataclass(frozen=True)
class CorpusPage:
    """One document as a server sent it."""

    #: ``source/name``: ``webarchive-commons/...``, ``pywb/...``, ``scrapy/...``
    #: or ``tricky/...``.
    id: str
    url: str
    body: bytes
    #: The ``Content-Type`` header ("" for none).
    content_type: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


# -- WARC files -------------------------------------------------------------------

_HEADER_END = re.compile(rb"\r?\n\r?\n")


def _dechunk(body: bytes) -> bytes:
    """Undo chunked transfer coding (archives also store bodies de-chunked
    under the original header: those are returned as they are)."""
    if not re.match(rb"[0-9a-fA-F]+[ \t;]*[^\r\n]*\r\n", body[:64]):
        return body
    out = bytearray()
    pos = 0
    while (end := body.find(b"\r\n", pos)) >= 0:
        size = int(body[pos:end].split(b";")[0], 16)
        if size == 0:
            break
        out += body[end + 2 : end + 2 + size]
        pos = end + 2 + size + 2
    return bytes(out)


def read_warc(path: Path) -> list[tuple[str, str, bytes]]:
    """``(target URI, Content-Type, body)`` of the 200 HTML responses of a
    WARC file (gzipped or not), in file order."""
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    found: list[tuple[str, str, bytes]] = []
    pos = 0
    while (start := data.find(b"WARC/1.", pos)) >= 0:
        match = _HEADER_END.search(data, start)
        if match is None:
            break
        head = data[start : match.start()].decode("latin-1")
        length = re.search(r"(?im)^Content-Length:\s*(\d+)", head)
        block = data[match.end() : match.end() + (int(length[1]) if length else 0)]
        pos = match.end() + len(block)
        uri = re.search(r"(?im)^WARC-Target-URI:\s*<?([^\s>]+)", head)
        split = _HEADER_END.search(block)
        if not re.search(r"(?im)^WARC-Type:\s*response", head) or uri is None or split is None:
            continue
        http_head = block[: split.start()].decode("latin-1")
        ctype = re.search(r"(?im)^Content-Type:\s*([^\r\n]*)", http_head)
        if not re.match(r"HTTP/1\.[01] 200", http_head) or ctype is None:
            continue
        if "html" not in ctype[1].lower():
            continue
        body = block[split.end() :]
        if re.search(r"(?im)^Transfer-Encoding:\s*chunked", http_head):
            body = _dechunk(body)
        found.append((uri[1], ctype[1].strip(), body))
    return found


def _warc_pages(source: str, path: Path) -> list[CorpusPage]:
    pages: dict[str, CorpusPage] = {}
    for url, ctype, body in read_warc(path):
        # A URL captured twice: the first capture.
        pages.setdefault(url, CorpusPage(f"{source}/{url}", url, body, ctype))
    return list(pages.values())


# -- hand-made pages --------------------------------------------------------------

# Each: (name, markup, Content-Type). The markup is UTF-8 unless the
# Content-Type names another charset, or the page is built as bytes.
_DOC = "<!DOCTYPE html><html><head>{meta}<title>t</title>{head}</head><body>{body}</body></html>"


def _page(body: str, head: str = "", charset: str = "utf-8") -> str:
    # Declared, or Chromium would fall back to its locale's windows-1252.
    meta = f'<meta charset="{charset}">' if charset else ""
    return _DOC.format(meta=meta, head=head, body=body)


def _refresh(content: str, extra: str = "") -> str:
    return _page(f"<p>refresh{extra}</p>", f'<meta http-equiv="refresh" content="{content}">')


_TRICKY: list[tuple[str, str, str]] = [
    # Misnested and unclosed <a> (the adoption agency, reconstruction).
    ("unclosed-a", _page("<p><a href=/one>one<p>two<div>three</div>"), "text/html"),
    ("nested-a", _page("<a href=/outer>o<a href=/inner>i</a>r</a>"), "text/html"),
    ("a-across-blocks", _page("<a href=/x>in<div>block</div>after</a><a href=/y>y</a>"), ""),
    ("a-in-formatting", _page("<b><a href=/b>bold<i>it</b>al</i></a>"), "text/html"),
    (
        "a-in-table",
        _page("<table><a href=/fostered>f</a><tr><td><a href=/cell>c</a></td></tr></table>"),
        "text/html",
    ),
    ("a-in-select", _page("<select><option><a href=/opt>o</a></option></select>"), "text/html"),
    ("a-in-button", _page("<button><a href=/btn>b</a></button><a href=/after>a</a>"), ""),
    # Foreign content.
    ("svg-a", _page("<svg><a href=/svg><text>S</text></a></svg>"), "text/html"),
    ("svg-xlink", _page('<svg><a xlink:href="/xlink"><text>X</text></a></svg>'), "text/html"),
    ("math-a", _page("<math><a href=/math>m</a><mtext><a href=/mtext>t</a></mtext></math>"), ""),
    (
        "svg-base",
        _page('<svg><base href="http://evil.example/"></svg><a href=rel>r</a>'),
        "text/html",
    ),
    (
        "svg-foreignobject-base",
        _page('<svg><foreignObject><base href="/fo/"></foreignObject></svg><a href=rel>r</a>'),
        "text/html",
    ),
    ("svg-canonical", _page('<svg><link rel="canonical" href="/fake"/></svg><a href=/a>a</a>'), ""),
    ("svg-area", _page('<svg><map name=m><area href="/svg-area" alt=s></map></svg>'), ""),
    (
        "svg-script-in-nested-a",
        _page("<a href=/outer>out<svg><a href=/inner><script>var s=1</script>in</a></svg>er</a>"),
        "text/html",
    ),
    ("svg-title-in-a", _page('<a href="/x"><svg><title>Icon</title></svg>Menu</a>'), "text/html"),
    # Templates, noscript, comments, raw text.
    ("template", _page("<template><a href=/t>t</a></template><a href=/after>a</a>"), ""),
    (
        "template-in-head",
        _page(
            "<a href=rel>r</a>",
            '<template><base href="http://t.example/"><link rel=canonical href=/tc>'
            '<meta http-equiv=refresh content="0; url=/tr"></template>',
        ),
        "text/html",
    ),
    (
        "template-shadowroot",
        _page("<div><template shadowrootmode=open><a href=/shadow>s</a></template></div>"),
        "text/html",
    ),
    ("noscript", _page("<noscript><a href=/ns>no js</a></noscript><a href=/js>js</a>"), ""),
    (
        "noscript-head",
        _page("<a href=/a>a</a>", "<noscript><link rel=canonical href=/ns-canonical></noscript>"),
        "text/html",
    ),
    (
        "comments",
        _page(
            "<!-- <a href=/comment>c</a> --><!--[if IE]><a href=/cond>c</a><![endif]-->"
            "<![CDATA[<a href=/cdata>c</a>]]><a href=/after>a</a><!-- unclosed <a href=/u>"
        ),
        "text/html",
    ),
    (
        "raw-text",
        _page(
            "<script>document.write('<a href=/script>s</a>')</script>"
            "<style>/* <a href=/style> */</style><textarea><a href=/ta>t</a></textarea>"
            "<xmp><a href=/xmp>x</a></xmp><iframe><a href=/iframe>i</a></iframe>"
            "<noembed><a href=/noembed>n</a></noembed><noframes><a href=/nf>n</a></noframes>"
            "<a href=/after>a</a>"
        ),
        "text/html",
    ),
    ("plaintext", _page("<a href=/before>b</a><plaintext><a href=/p>p</a>"), "text/html"),
    ("title-in-body", _page("<title><a href=/title>t</a></title><a href=/a>a</a>"), ""),
    # <base> in odd places and schemes.
    ("base-in-body", _page("<p><base href=/in-body/><a href=rel>r</a>"), "text/html"),
    ("base-after-links", _page("<a href=rel>before</a><base href=/late/><a href=rel>a</a>"), ""),
    ("base-two", _page("<a href=rel>r</a>", "<base href=/first/><base href=/second/>"), ""),
    ("base-target-first", _page("<a href=rel>r</a>", "<base target=_blank><base href=/t/>"), ""),
    ("base-relative", _page("<a href=rel>r</a>", "<base href=../up/>"), "text/html"),
    (
        "base-ftp",
        _page("<a href=rel>r</a><a href=/abs>a</a>", "<base href=ftp://f.example/p/>"),
        "",
    ),
    ("base-mailto", _page("<a href=rel>r</a>", "<base href=mailto:a@example.com>"), ""),
    ("base-file", _page("<a href=rel>r</a>", "<base href=file:///tmp/>"), ""),
    ("base-foo", _page("<a href=rel>r</a>", "<base href=foo:bar>"), ""),
    ("base-javascript", _page("<a href=rel>r</a>", "<base href=javascript:alert(1)>"), ""),
    ("base-data", _page("<a href=rel>r</a>", '<base href="data:text/html,x">'), ""),
    ("base-unparsable", _page("<a href=rel>r</a>", '<base href="http://[::1">'), ""),
    ("base-scheme-relative", _page("<a href=rel>r</a>", "<base href=//cdn.example/>"), ""),
    ("base-whitespace", _page("<a href=rel>r</a>", '<base href="  https://e.org/x  ">'), ""),
    ("base-empty", _page("<a href=rel>r</a>", '<base href="">'), "text/html"),
    # Meta refresh variants (only the first refresh that takes effect shows).
    ("refresh-plain", _refresh("0; url=/r"), "text/html"),
    ("refresh-quoted", _refresh("0;URL='/quoted' trailing"), "text/html"),
    ("refresh-no-url-prefix", _refresh("1;/bare"), "text/html"),
    ("refresh-dot", _refresh(".5; url=/dot"), "text/html"),
    ("refresh-comma", _refresh("1.5, url=/comma"), "text/html"),
    ("refresh-urx", _refresh("0; urx=/y"), "text/html"),
    ("refresh-spaces", _refresh('0 ; url = "/spaced" '), "text/html"),
    ("refresh-self", _refresh("0"), "text/html"),
    ("refresh-empty-url", _refresh("0; url="), "text/html"),
    ("refresh-bad-delay", _refresh("soon; url=/bad"), "text/html"),
    (
        "refresh-first-bad",
        _page(
            "x",
            '<meta http-equiv=refresh content="-1; url=/neg">'
            '<meta http-equiv=refresh content="0; url=/second">',
        ),
        "text/html",
    ),
    (
        "refresh-unparsable-url",
        _page(
            "x",
            '<meta http-equiv=refresh content="0; url=http://[bad">'
            '<meta http-equiv=refresh content="0; url=/next">',
        ),
        "text/html",
    ),
    ("refresh-in-body", _page('<p><meta http-equiv="REFRESH" content="0;url=/in-body">'), ""),
    ("refresh-query", _refresh("0; url=/r?q=caf\u00e9"), "text/html; charset=windows-1252"),
    (
        "base-query",
        _page("<a href=''>self</a><a href=?x=\u00e9>q</a>", "<base href=/b?q=caf\u00e9>"),
        "text/html; charset=windows-1252",
    ),
    # Entities and whitespace in hrefs.
    (
        "href-entities",
        _page(
            '<a href="/q?a=1&amp;b=2&#x26;c&#61;3">e</a><a href="/q?a=1&copy=3">legacy</a>'
            '<a href="/q?x&copy;y">copy</a><a href="/q?n&notit;">notit</a><a href="/&nbsp;x">nb</a>'
        ),
        "text/html",
    ),
    (
        "href-whitespace",
        _page(
            '<a href="  /spaced  ">s</a><a href="/t\tab\nnl">t</a><a href="\x0c/ff">f</a>'
            '<a href="/in side">i</a><a href="/nul\x00x">n</a>'
        ),
        "text/html",
    ),
    (
        "href-odd",
        _page(
            '<a href="\\\\evil.example\\x">bs</a><a href="//other.example/p">pr</a>'
            '<a href="http:p">hp</a><a href="HTTP://UPPER.Example/P">up</a>'
            '<a href="http://user:pw@ex.com:80/p">ui</a><a href="http://[::1]:8080/">v6</a>'
            '<a href="http://0x7f.1/">v4</a><a href="http://bücher.example/ü">idn</a>'
        ),
        "text/html",
    ),
    (
        "href-non-http",
        _page(
            '<a href="javascript:void(0)">js</a><a href="mailto:a@ex.com">m</a>'
            '<a href="#frag">f</a><a href="">self</a><a href>bare</a><a>none</a>'
            '<a href="tel:+1">t</a><a href="data:text/html,x">d</a>'
        ),
        "text/html",
    ),
    # rel tokens.
    (
        "rel-variants",
        _page(
            '<a href=/1 rel="NoFollow">1</a><a href=/2 rel="  noopener\tnofollow\nSPONSORED ">2</a>'
            '<a href=/3 rel="nofollow&nbsp;ugc">3</a><a href=/4 rel="nofollow,ugc">4</a>'
            '<a href=/5 rel="ugc\x0bnofollow">5</a><a href=/6 rel="\x0cugc\rsponsored">6</a>'
            '<map><area href=/7 rel="nofollow" alt=seven></map><a href=/8 rel="nofollower">8</a>'
        ),
        "text/html",
    ),
    (
        "canonical-variants",
        _page(
            "<a href=/a>a</a><link rel=canonical href=/in-body>",
            '<link rel="CANONICAL" href="/c1"><link rel="alternate  canonical" href="/c2">'
            '<link rel="canonical"><link rel="canonical" href=""><link rel="canonical&nbsp;x" '
            'href="/nbsp"><link rel="canonical nofollow" href="/c3"><link rel=stylesheet href=/s>',
        ),
        "text/html",
    ),
    # Anchor text and images.
    (
        "anchor-text",
        _page(
            "<a href=/1>  lots \n\t of   space  </a><a href=/2>no&nbsp;break&#x3000;x</a>"
            "<a href=/3><b>Bold</b> <i>it</i></a><a href=/4><span>One</span><span>Two</span></a>"
            "<a href=/5>line<br>break</a><a href=/6>Text<script>var t=1;</script> more</a>"
            "<a href=/7><style>.a{}</style>Styled</a><a href=/8>Hi<template>x</template></a>"
            "<a href=/9>" + "word " * 80 + "</a>"
        ),
        "text/html",
    ),
    (
        "image-links",
        _page(
            '<a href=/1><img src=l.png alt="Logo"></a><a href=/2><img alt="first"><img alt=b></a>'
            '<a href=/3><img src=x><img alt="second"></a><a href=/4><span><img alt=w></span></a>'
            '<a href=/5><picture><source srcset=a.webp><img alt="pic"></picture></a>'
            '<a href=/6><img alt="logo"> Home</a><a href=/7><svg><circle r=1 /></svg></a>'
            '<map name=m><area href=/8 alt="  Region\n one "><area href=/9></map>'
        ),
        "text/html",
    ),
    # Sections.
    (
        "sections",
        _page(
            "<header><a href=/h>h</a><nav><a href=/hn>hn</a></nav></header>"
            "<main><article><header><a href=/ah>ah</a></header><a href=/m>m</a>"
            "<aside><a href=/ma>ma</a></aside></article></main>"
            "<section aria-label=named><aside><a href=/sa>sa</a></aside></section>"
            "<section><aside><a href=/ua>ua</a></aside>"
            "<footer><a href=/sf>sf</a></footer></section>"
            "<footer><a href=/f>f</a></footer><a href=/b>b</a>"
        ),
        "text/html",
    ),
    (
        "sections-aside",
        _page(
            "<main><aside><a href=/main-aside>1</a></aside></main>"
            "<section><aside aria-label=named><a href=/named>2</a></aside></section>"
            "<article><aside title=titled><a href=/titled>3</a></aside></article>"
            "<nav><aside><a href=/nav-aside>4</a></aside></nav>"
            "<aside><aside><a href=/aside-aside>5</a></aside></aside>"
            "<div role=region aria-label=r><aside><a href=/region-aside>6</a></aside></div>"
            "<section><main><aside><a href=/section-main-aside>7</a></aside></main></section>"
        ),
        "text/html",
    ),
    (
        "section-roles",
        _page(
            '<div role=banner><a href=/1>1</a></div><div role="NAVIGATION"><a href=/2>2</a></div>'
            '<div role="menubar navigation"><a href=/3>3</a></div><nav role=contentinfo>'
            "<a href=/4>4</a></nav><nav role=menubar><a href=/5>5</a></nav>"
            "<div role=search><a href=/6>6</a></div><article><div role=banner><a href=/7>7</a>"
            "</div></article><div role=complementary><a href=/8>8</a></div>"
        ),
        "text/html",
    ),
]

# Legacy encodings: (Content-Type charset or "", <meta charset> or "", BOM,
# encoding of the bytes, characters it has). Each page links with them in
# the path and the query, and with a snowman (which none but the UTFs has).
_ENCODINGS: list[tuple[str, str, bytes, str, str]] = [
    ("", "windows-1252", b"", "cp1252", "café€“”"),
    ("windows-1252", "", b"", "cp1252", "Müller"),
    ("iso-8859-1", "", b"", "cp1252", "déjà€"),
    ("", "iso-8859-2", b"", "iso8859-2", "łódź"),
    ("", "iso-8859-5", b"", "iso8859-5", "Москва"),
    ("", "iso-8859-7", b"", "iso8859-7", "Αθήνα"),
    ("", "iso-8859-15", b"", "iso8859-15", "€ŠŽ"),
    ("", "iso-8859-3", b"", "iso8859-3", "Ħaġar"),
    ("", "iso-8859-4", b"", "iso8859-4", "Ķekava"),
    ("", "iso-8859-6", b"", "iso8859-6", "مرحبا"),
    ("", "iso-8859-8", b"", "iso8859-8", "שלום"),
    ("", "iso-8859-10", b"", "iso8859-10", "Þórður"),
    ("", "iso-8859-13", b"", "iso8859-13", "Łódź"),
    ("", "iso-8859-14", b"", "iso8859-14", "Ŵŷ"),
    ("", "iso-8859-16", b"", "iso8859-16", "Știință"),
    ("", "x-mac-cyrillic", b"", "mac-cyrillic", "Привет"),
    ("windows-1250", "", b"", "cp1250", "Příliš"),
    ("", "windows-1251", b"", "cp1251", "Россия"),
    ("", "windows-1253", b"", "cp1253", "Ελλάδα"),
    ("", "windows-1254", b"", "cp1254", "İstanbul"),
    ("", "windows-1255", b"", "cp1255", "שלום"),
    ("", "windows-1256", b"", "cp1256", "مرحبا"),
    ("", "windows-1257", b"", "cp1257", "Rīga"),
    ("", "windows-1258", b"", "cp1258", "Việt"),
    ("", "windows-874", b"", "cp874", "ภาษาไทย"),
    ("koi8-r", "", b"", "koi8-r", "Новости"),
    ("", "koi8-u", b"", "koi8-u", "Україна"),
    ("", "ibm866", b"", "cp866", "Привет"),
    ("", "macintosh", b"", "mac-roman", "Café"),
    ("shift_jis", "", b"", "cp932", "日本語"),
    ("", "shift_jis", b"", "cp932", "東京①"),
    ("", "euc-jp", b"", "euc_jp", "日本"),
    ("iso-2022-jp", "", b"", "iso2022_jp", "日本"),
    ("", "euc-kr", b"", "cp949", "한국어"),
    ("gbk", "", b"", "gbk", "北京"),
    ("", "gb2312", b"", "gbk", "中文"),
    ("", "gb18030", b"", "gb18030", "中文€"),
    ("", "big5", b"", "big5hkscs", "臺灣"),
    ("", "", b"\xef\xbb\xbf", "utf-8", "café☃"),
    ("", "", b"\xff\xfe", "utf-16-le", "café"),
    ("", "", b"\xfe\xff", "utf-16-be", "café"),
    ("windows-1252", "", b"\xef\xbb\xbf", "utf-8", "bom☃"),
    ("utf-8", "windows-1252", b"", "utf-8", "header☃"),
    ("windows-1251", "utf-8", b"", "cp1251", "Россия"),
    ("", "", b"", "cp1252", "Été à Montréal : déjà la fête, café crème"),
]


def _encoded(header: str, meta: str, bom: bytes, codec: str, chars: str) -> tuple[str, bytes, str]:
    label = header or meta or (f"bom-{codec}" if bom else f"undeclared-{codec}")
    declared = [name for name, on in (("header", header), ("meta", meta), ("bom", bom)) if on]
    markup = _page(
        f'<a href="/{chars}?q={chars}&amp;s=&#9731;">{chars}</a>'
        f'<a href="?only={chars}#{chars}">query</a><a href="/p?q=\u2603">snow</a>',
        charset=meta,
    )
    body = bom + markup.encode(codec, "xmlcharrefreplace")
    ctype = f"text/html; charset={header}" if header else "text/html"
    return f"encoding-{label.lower()}-{'+'.join(declared) or 'none'}", body, ctype


def _tricky_pages() -> list[CorpusPage]:
    pages = []
    for name, markup, ctype in _TRICKY:
        charset = re.search(r"charset=([\w-]+)", ctype)
        body = markup.encode(charset[1] if charset else "utf-8", "xmlcharrefreplace")
        pages.append(CorpusPage(f"tricky/{name}", TRICKY_URL, body, ctype))
    for spec in _ENCODINGS:
        name, body, ctype = _encoded(*spec)
        pages.append(CorpusPage(f"tricky/{name}", TRICKY_URL, body, ctype))
    return pages


def corpus() -> list[CorpusPage]:
    """Every page, real ones first."""
    pages = _warc_pages("webarchive-commons", PAGES / "link-extraction-test.warc")
    pages += _warc_pages("webarchive-commons", PAGES / "IAH-urls-wget.warc")
    pages += _warc_pages("pywb", PAGES / "pywb" / "iana.warc.gz")
    pages += _warc_pages("pywb", PAGES / "pywb" / "example.warc")
    for path in sorted((PAGES / "scrapy").glob("*.html")):
        # As Scrapy's tests use them: no charset in the header.
        pages.append(
            CorpusPage(f"scrapy/{path.name}", "http://example.com/index", path.read_bytes(), "")
        )
    return pages + _tricky_pages()

"""The benchmark page corpus: realistic generated pages and real archived ones.

:func:`generate` builds pages shaped like today's sites from a fixed seed: a
``<head>`` with metas, a canonical link, stylesheets and inline scripts; a
``<header>`` with a ``<nav>`` menu; a ``<main>`` article whose paragraphs hold
inline links, image links and figures; an ``<aside>`` of related posts; a
``<footer>`` with many small links; comments, a ``<template>``, a
``<noscript>``. Links are relative, absolute, protocol-relative, with queries,
tracking parameters, fragments, entities, non-ASCII paths and IDN hosts, a few
``mailto:``/``javascript:``/``tel:`` ones, and some to files (``.pdf``,
``.jpg``) that Scrapy's ``LinkExtractor`` skips by default. Sizes run 10-100 KB
and 20-300 links per page.

:func:`read_warc` reads the HTML responses of a WARC file (plain or gzipped),
for real pages such as ``sample_archive/warcs/iana.warc.gz`` in the pywb
sdist or the wget capture in ``tests/data/pages/``.
"""

from __future__ import annotations

import gzip
import random
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Page", "generate", "read_warc"]

SEED = 20240611

# fmt: off
_WORDS = (
    "the", "of", "and", "to", "in", "is", "for", "on", "with", "as", "by", "at", "from", "that",
    "this", "be", "are", "was", "it", "or", "an", "backlink", "crawler", "graph", "web", "page",
    "site", "domain", "search", "engine", "index", "anchor", "link", "text", "content",
    "article", "news", "report", "update", "guide", "review", "product", "price", "market",
    "data", "model", "network", "server", "client", "request", "response", "cache", "storage",
    "database", "python", "open", "source", "release", "version", "feature", "security",
    "privacy", "policy", "terms", "über", "café", "naïve", "résumé", "straße", "東京", "данные",
)
# fmt: on
_HOSTS = (
    "example.com",
    "www.example.org",
    "news.example.net",
    "blog.example.io",
    "shop.example.co.uk",
    "alice.github.io",
    "cdn.example.com",
    "bücher.example",
    "xn--mnchen-3ya.example",
    "static.example.com",
    "EXAMPLE.COM",
    "example.com.",
)
_TRACKING = ("utm_source=news", "utm_medium=email", "gclid=abc123", "fbclid=IwAR0x", "ref=home")
_FILES = (".pdf", ".jpg", ".png", ".zip", ".mp4", ".docx")


@dataclass(slots=True)
class Page:
    """One document: its URL, its body as bytes, and the encoding of the body."""

    url: str
    body: bytes
    encoding: str = "utf-8"


def _words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(low, high)))


def _slug(rng: random.Random) -> str:
    return "-".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 5)))


def _href(rng: random.Random, host: str) -> str:
    """An href as sites write them, with the usual mix of forms."""
    roll = rng.random()
    path = "/".join(_slug(rng) for _ in range(rng.randint(1, 4)))
    if roll < 0.30:
        href = f"/{path}"
    elif roll < 0.40:
        href = f"{_slug(rng)}.html"
    elif roll < 0.45:
        href = f"../{path}/"
    elif roll < 0.70:
        href = f"https://{rng.choice(_HOSTS)}/{path}"
    elif roll < 0.75:
        href = f"//{rng.choice(_HOSTS)}/{path}"
    elif roll < 0.80:
        href = f"http://{host}/{path}"
    elif roll < 0.84:
        href = f"/{path}{rng.choice(_FILES)}"
    elif roll < 0.86:
        href = rng.choice(("mailto:info@example.com", "javascript:void(0)", "tel:+15550100"))
    elif roll < 0.88:
        href = f"#{_slug(rng)}"
    else:
        href = f"https://{rng.choice(_HOSTS)}/{path}/"
    if rng.random() < 0.25:
        params = [f"{rng.choice(_WORDS)}={rng.randint(0, 999)}" for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.4:
            params.append(rng.choice(_TRACKING))
        href += "?" + "&amp;".join(params)
    if rng.random() < 0.05:
        href += f"#{_slug(rng)}"
    return href


def _a(rng: random.Random, host: str, text: str | None = None) -> str:
    rel = ""
    roll = rng.random()
    if roll < 0.05:
        rel = ' rel="nofollow"'
    elif roll < 0.07:
        rel = ' rel="ugc nofollow"'
    elif roll < 0.08:
        rel = ' rel="sponsored noopener"'
    elif roll < 0.15:
        rel = ' rel="noopener noreferrer" target="_blank"'
    cls = f' class="link-{rng.randint(0, 9)}"' if rng.random() < 0.5 else ""
    return f'<a href="{_href(rng, host)}"{cls}{rel}>{text or _words(rng, 1, 6)}</a>'


def _img_link(rng: random.Random, host: str) -> str:
    return (
        f'<a href="{_href(rng, host)}"><img src="/img/{_slug(rng)}.jpg" '
        f'alt="{_words(rng, 0, 5)}" width="300" height="200" loading="lazy"></a>'
    )


def _script(rng: random.Random) -> str:
    body = ";\n".join(
        f"var {rng.choice(_WORDS).replace('ü', 'u')}_{i} = '<a href=\"/in-script-{i}\">x</a>'"
        for i in range(rng.randint(5, 60))
    )
    return f"<script>\n{body};\n</script>"


def _page(rng: random.Random, index: int) -> Page:
    host = rng.choice(_HOSTS[:6])
    url = f"https://{host}/{_slug(rng)}/{index}.html"
    target_links = rng.randint(20, 300)
    target_size = rng.randint(8_000, 92_000)
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_words(rng, 3, 10)}</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="description" content="{_words(rng, 10, 30)}">',
        f'<link rel="stylesheet" href="/css/{_slug(rng)}.css">',
        f'<link rel="canonical" href="{url}">',
        '<link rel="icon" href="/favicon.ico">',
    ]
    if rng.random() < 0.05:
        out.append('<meta name="robots" content="noindex, nofollow">')
    if rng.random() < 0.02:
        out.append('<meta http-equiv="refresh" content="30; url=/refreshed">')
    out.append(_script(rng))
    out.append("<style>body{margin:0} .nav a{color:#333} /* <a href='/css'> */</style>")
    out.append("</head><body>")
    links = 0
    # Header and navigation menu.
    menu = rng.randint(5, max(5, target_links // 6))
    out.append(
        '<header class="site-header"><a href="/" class="logo"><img src="/logo.svg" alt="Home"></a>'
    )
    out.append('<nav class="menu"><ul>')
    for _ in range(menu):
        out.append(f"<li>{_a(rng, host, _words(rng, 1, 2))}</li>")
    out.append("</ul></nav></header>")
    links += menu + 1
    footer_links = rng.randint(5, max(5, target_links // 5))
    aside_links = rng.randint(0, max(1, target_links // 8))
    body_links = max(1, target_links - links - footer_links - aside_links)
    out.append('<main id="content"><article><header><h1>' + _words(rng, 4, 12) + "</h1>")
    out.append(
        f'<p class="byline">By <a href="/author/{_slug(rng)}" rel="author">'
        f"{_words(rng, 2, 3)}</a></p></header>"
    )
    links += 1
    # Article paragraphs; filler text pads the page to its target size.
    paragraphs = rng.randint(8, 40)
    per_paragraph = body_links / paragraphs
    budget = 0.0
    # About 6.5 bytes a word and 130 a link; randint(f // 2, f) averages 0.75 f.
    filler = max(8, int((target_size - 4000 - 130 * target_links) / (paragraphs * 6.5 * 0.75)))
    for i in range(paragraphs):
        budget += per_paragraph
        parts = [_words(rng, filler // 2, filler)]
        while budget >= 1:
            budget -= 1
            roll = rng.random()
            if roll < 0.1:
                parts.append(_img_link(rng, host))
            else:
                parts.append(_a(rng, host))
            parts.append(_words(rng, 3, 20))
        tag = "p" if i % 7 else "blockquote"
        out.append(f"<{tag}>{' '.join(parts)}</{tag}>")
        if i % 9 == 4:
            out.append(f'<!-- <a href="/commented-out-{i}">old link</a> -->')
        if i % 11 == 5:
            out.append(
                f'<figure><img src="/img/{_slug(rng)}.png" alt="figure">'
                f"<figcaption>{_words(rng, 3, 9)} &amp; more &copy; 2024</figcaption></figure>"
            )
    out.append("</article></main>")
    out.append('<aside class="related"><h2>Related</h2><ul>')
    for _ in range(aside_links):
        out.append(f"<li>{_a(rng, host)}</li>")
    out.append("</ul></aside>")
    out.append('<template id="row"><a href="/template-row">row</a></template>')
    out.append('<noscript><a href="/no-js">Continue without JavaScript</a></noscript>')
    links += aside_links + 1
    out.append('<footer class="site-footer"><div class="cols">')
    for _ in range(footer_links):
        out.append(_a(rng, host, _words(rng, 1, 3)) + " ")
    out.append(f"</div><p>&copy; 2024 {_words(rng, 1, 3)}</p></footer>")
    out.append(_script(rng))
    out.append("</body></html>")
    body = "\n".join(out).encode("utf-8")
    while len(body) < 10 * 1024:
        body = body.replace(b"</main>", f"<p>{_words(rng, 100, 200)}</p></main>".encode(), 1)
    return Page(url, body)


def generate(count: int = 500, *, seed: int = SEED) -> list[Page]:
    """``count`` generated pages; the same ``seed`` gives the same pages."""
    rng = random.Random(seed)
    return [_page(rng, index) for index in range(count)]


_HEADER_END = re.compile(rb"\r?\n\r?\n")


def _dechunk(body: bytes) -> bytes:
    """Undo chunked transfer coding; archives often store bodies already
    de-chunked under the original header, so a body that does not start with
    a chunk size is returned as it is."""
    if not re.match(rb"[0-9a-fA-F]+[ \t;]*[^\r\n]*\r\n", body[:64]):
        return body
    out = bytearray()
    pos = 0
    while pos < len(body):
        end = body.find(b"\r\n", pos)
        if end < 0:
            break
        try:
            size = int(body[pos:end].split(b";")[0].strip() or b"0", 16)
        except ValueError:
            break
        if size == 0:
            break
        out += body[end + 2 : end + 2 + size]
        pos = end + 2 + size + 2
    return bytes(out)


def read_warc(path: str | Path) -> list[Page]:
    """The HTML responses of a WARC file, gzipped or not, with their bodies."""
    path = Path(path)
    if path.suffix == ".gz":
        with gzip.open(path) as stream:
            data = stream.read()
    else:
        data = path.read_bytes()
    pages: list[Page] = []
    pos = 0
    while True:
        start = data.find(b"WARC/1.", pos)
        if start < 0:
            break
        match = _HEADER_END.search(data, start)
        if match is None:
            break
        head = data[start : match.start()].decode("latin-1")
        length = re.search(r"(?im)^Content-Length:\s*(\d+)", head)
        size = int(length.group(1)) if length else 0
        block = data[match.end() : match.end() + size]
        pos = match.end() + size
        if not re.search(r"(?im)^WARC-Type:\s*response", head):
            continue
        uri = re.search(r"(?im)^WARC-Target-URI:\s*<?([^\s>]+)", head)
        split = _HEADER_END.search(block)
        if uri is None or split is None:
            continue
        http_head = block[: split.start()].decode("latin-1")
        body = block[split.end() :]
        ctype = re.search(r"(?im)^Content-Type:\s*([^\r\n]*)", http_head)
        if ctype is None or "html" not in ctype.group(1).lower() or not body:
            continue
        if re.search(r"(?im)^Transfer-Encoding:\s*chunked", http_head):
            body = _dechunk(body)
        if re.search(r"(?im)^Content-Encoding:\s*gzip", http_head):
            body = gzip.decompress(body)
        charset = re.search(r"charset=([\w-]+)", ctype.group(1), re.I)
        pages.append(Page(uri.group(1), body, charset.group(1).lower() if charset else "utf-8"))
    return pages

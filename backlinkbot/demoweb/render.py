"""Write a :class:`~backlinkbot.demoweb.model.Page` as HTML.

The HTML follows the page's structure exactly: head links first, then the
blocks in order, so document order is the order of :func:`walk`, which the
ground truth uses.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from html import escape

from backlinkbot.demoweb.model import Block, Link, Page, Text
from backlinkbot.demoweb.spelling import spell

__all__ = ["LANDMARK_ROLES", "render_page", "walk"]

#: The ARIA role of each landmark section (WAI-ARIA 1.2, landmark roles).
LANDMARK_ROLES = {
    "header": "banner",
    "nav": "navigation",
    "main": "main",
    "aside": "complementary",
    "footer": "contentinfo",
}


def walk(page: Page) -> Iterator[tuple[Link, str]]:
    """Yield ``(link, section)`` in document order."""
    for link in page.head:
        # <head> is outside every landmark.
        yield link, "body"
    for block in page.blocks:
        yield from _walk_block(block, "body")


def _walk_block(block: Block, section: str) -> Iterator[tuple[Link, str]]:
    inner = block.section or section
    for item in block.items:
        if isinstance(item, Link):
            yield item, inner
        elif isinstance(item, Block):
            yield from _walk_block(item, inner)


def render_page(page: Page, *, unicode_hosts: Mapping[str, str]) -> bytes:
    """The page's HTML document, UTF-8 encoded."""
    base = page.base_url or page.url
    out = ['<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">']
    if page.base_href is not None:
        out.append(f'<base href="{escape(page.base_href)}">')
    out.append(f"<title>{escape(page.title)}</title>")
    out.append('<meta name="viewport" content="width=device-width, initial-scale=1">')
    if page.meta_nofollow:
        out.append('<meta name="robots" content="nofollow">')
    out.append('<link rel="stylesheet" href="/static/site.css">')
    for link in page.head:
        href = spell(link.dst, base=base, style=link.spelling, unicode_hosts=unicode_hosts)
        if link.kind == "canonical":
            out.append(f'<link rel="canonical" href="{escape(href)}">')
        elif link.kind == "meta_refresh":
            out.append(f'<meta http-equiv="refresh" content="0; url={escape(href)}">')
        else:
            raise ValueError(f"a {link.kind!r} link cannot go in <head>")
    out.append("</head>\n<body>")
    counter = [0]
    for block in page.blocks:
        out.append(_render_block(block, base, unicode_hosts, counter))
    out.append('<script src="/static/site.js"></script>\n</body>\n</html>\n')
    return "\n".join(out).encode("utf-8")


def _render_block(
    block: Block, base: str, unicode_hosts: Mapping[str, str], counter: list[int]
) -> str:
    if block.section is None or block.section == "body":
        start, end = '<div class="box">', "</div>"
    elif block.role:
        start, end = f'<div role="{LANDMARK_ROLES[block.section]}">', "</div>"
    else:
        start, end = f"<{block.section}>", f"</{block.section}>"
    out = [start]
    for item in block.items:
        if isinstance(item, Text):
            out.append(item.html)
        elif isinstance(item, Block):
            out.append(_render_block(item, base, unicode_hosts, counter))
        else:
            out.append(_render_link(item, base, unicode_hosts, counter))
    out.append(end)
    return "\n".join(out)


def _render_link(
    link: Link, base: str, unicode_hosts: Mapping[str, str], counter: list[int]
) -> str:
    href = escape(spell(link.dst, base=base, style=link.spelling, unicode_hosts=unicode_hosts))
    rel = f' rel="{escape(link.rel)}"' if link.rel else ""
    if link.kind == "area":
        counter[0] += 1
        name = f"map{counter[0]}"
        return (
            f'<p><img src="/img/{name}.png" alt="" usemap="#{name}" width="100" height="50">'
            f'<map name="{name}"><area shape="rect" coords="0,0,100,50" href="{href}"'
            f' alt="{escape(link.alt)}"{rel}></map></p>'
        )
    if link.kind != "a":
        raise ValueError(f"a {link.kind!r} link cannot go in <body>")
    if link.image_alt is not None:
        content = f'<img src="/img/banner.png" alt="{escape(link.image_alt)}">'
    elif link.anchor_html is not None:
        content = link.anchor_html
    else:
        content = escape(link.anchor)
    return f'<p><a href="{href}"{rel}>{content}</a></p>'

"""The test web's other sites: robots cases, redirects, canonical and
refresh links, image maps, the PDF, broken hrefs, rel variants, https links,
relative spellings and difficult anchors.
"""

from __future__ import annotations

import random

from backlinkbot.demoweb.builder import WebBuilder
from backlinkbot.demoweb.common import paragraph, url
from backlinkbot.demoweb.model import Block, File, Link, Redirect, Text
from backlinkbot.demoweb.profile_test.sites import (
    ACME,
    ALICE,
    BERG,
    BOB,
    BUCH,
    FREE,
    KANGA,
    PAIN,
    RIVER,
    TOKYO,
    UK,
    UKBLOG,
)
from backlinkbot.demoweb.profile_test.sites import page as _page

__all__ = ["add_others"]

_PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"% http://www.acme.com/from-a-pdf is not a link\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)

# Hrefs that are not links to pages (docs/URL_NORMALIZATION.md: scheme, length).
_BROKEN = [
    "javascript:void(0)",
    "mailto:alice@example.com",
    "tel:+44-20-7946-0000",
    "data:text/html,&lt;a href=x&gt;hi&lt;/a&gt;",
    "ftp://ftp.freedata.org/pub/",
    "http://exa mple.com/",
    "http://[::1",
    "http://alice.github.io/" + "long-" * 420,
]


def add_others(b: WebBuilder, rng: random.Random) -> None:
    """Add the pages of every site but the hub's."""
    _acme_and_friends(b, rng)
    _others(b, rng)


def _acme_and_friends(b: WebBuilder, rng: random.Random) -> None:
    for path, title in [
        ("/pricing", "Pricing"),
        ("/docs/", "Documentation"),
        ("/docs/guide", "Guide"),
        ("/products/rocket-skates", "Rocket skates"),
        ("/tmp/cache", "Cache"),
    ]:
        _page(b, ACME, path, title, Block("main", [paragraph(rng)]))
    for path in ("/private/roadmap", "/drafts-2025"):
        _page(
            b,
            ACME,
            path,
            "Internal",
            Block(
                "main",
                [
                    Link(url(FREE), "Not an edge: robots.txt forbids this page"),
                ],
            ),
        )
    _page(b, FREE, "/members/join", "Join", Block("main", [Link(url(ACME), "Acme")]))
    _page(b, FREE, "/members/list", "Members", Block("main", [Link(url(BOB), "Bob")]))
    b.add_file(File(url(FREE, "/reports/annual-2024.pdf"), "application/pdf", _PDF))
    b.add_redirect(Redirect(url(FREE, "/go?to=bergwerk"), url(BERG), 302, location=None))
    _page(
        b,
        BERG,
        "/produkte/hammer",
        "Hammer",
        Block("main", [paragraph(rng), Link(url(FREE, "/go?to=bergwerk"), "Weiter")]),
        head=[Link(url(ACME, "/products/rocket-skates"), kind="canonical", spelling="port")],
    )
    _page(
        b,
        BERG,
        "/weiterleitung",
        "Weiterleitung",
        Block("main", [Text("<p>Sie werden weitergeleitet.</p>")]),
        head=[Link(url(KANGA), kind="meta_refresh")],
    )
    _page(
        b,
        KANGA,
        "/map",
        "Map",
        Block(
            "main",
            [
                Link(url(BERG), kind="area", alt="Germany"),
                Link(url(TOKYO), kind="area", alt="Japan", rel="nofollow"),
                Link(url(BUCH, "/katalog"), kind="area", alt="", spelling="idn"),
            ],
            role=True,
        ),
    )
    _page(b, KANGA, "/shop?category=kites&sort=price", "Kites", Block("main", [paragraph(rng)]))
    _page(
        b,
        KANGA,
        "/forum/thread-42",
        "Forum",
        Block("main", [paragraph(rng)]),
        Block(
            "aside",
            [
                Link(url(BOB), "my lab", rel="ugc"),
                Link(url(PAIN), "bread!", rel="ugc nofollow"),
            ],
            role=True,
        ),
    )
    _page(b, KANGA, "/admin/login", "Admin", Block("main", [Link(url(PAIN), "Not an edge")]))


def _others(b: WebBuilder, rng: random.Random) -> None:
    hidden = url(TOKYO, "/hidden")
    _page(
        b,
        ALICE,
        "/broken",
        "Things that are not links",
        Block(
            "main",
            [
                *(Text(f'<p><a href="{h}">not a page</a></p>') for h in _BROKEN),
                Text(f'<!-- <a href="{hidden}">commented out</a> -->'),
                Text(f"<script>document.write('<a href=\"{hidden}\">script</a>');</script>"),
                Text(f'<template><a href="{hidden}">template</a></template>'),
                Text('<p><a name="anchor-only">no href</a></p>'),
                Text(f'<link rel="alternate" hreflang="de" href="{url(BERG)}">'),
                Text(f'<p><img src="{url(ACME, "/img/logo.png")}" alt="an image, not a link"></p>'),
                Link(url(BOB), "Bob, for real"),
            ],
        ),
    )
    _page(
        b,
        ALICE,
        "/links",
        "Links",
        Block(
            "main",
            [
                Link(url(BOB), "Bob's lab"),
                Link(url(BUCH), "B\u00fccher \u00fcber Caf\u00e9s", spelling="idn+fragment"),
                Link(url(UK, "/partners"), "Partners of Example"),
                Link(url(UKBLOG, "/links"), "Blogroll"),
            ],
        ),
    )
    _page(
        b,
        BOB,
        "/sponsors",
        "Sponsors",
        Block(
            "main",
            [
                Link(url(ALICE), "Alice", rel="sponsored"),
                Link(url(ACME), "Acme", rel="SPONSORED  NoFollow"),
            ],
        ),
    )
    _page(
        b,
        BUCH,
        "/katalog",
        "Katalog",
        Block(
            "main",
            [
                Link(url(TOKYO, "/blog/spring"), "Fr\u00fchling in Tokio"),
                Link(url(BUCH), "Zur\u00fcck", spelling="relative"),
            ],
        ),
    )
    _page(
        b,
        PAIN,
        "/liens",
        "Liens",
        Block(
            "main",
            [
                Link(url(ACME), "Acme", rel="noopener"),
                Link(url(FREE), "Donn\u00e9es", rel=" UGC "),
                Link("https://docs.rivertech.io/account", "Mon compte", spelling="port"),
                Link("https://docs.rivertech.io/login", "Connexion", spelling="upper"),
                Link(url(BERG, "/produkte/hammer"), "Marteau", rel="nofollow ugc sponsored"),
                Link(url(BERG, "/weiterleitung"), "Redirection"),
            ],
        ),
    )
    _page(
        b,
        RIVER,
        "/guide/install",
        "Install",
        Block(
            "main",
            [
                Link(url(RIVER, "/guide/configure"), "Configure", spelling="sibling"),
                Link(url(RIVER, "/api/v2/"), "API", spelling="relative"),
                Link(url(ALICE, "/links"), "Alice's links", spelling="dotseg+space"),
            ],
        ),
    )
    _page(b, RIVER, "/guide/configure", "Configure", Block("main", [paragraph(rng)]))
    _page(
        b,
        RIVER,
        "/api/v2/",
        "API v2",
        Block(
            "main",
            [
                Link(url(RIVER, "/guide/install"), "Install", spelling="relative"),
            ],
        ),
    )
    long_words = " ".join(f"word{i:02d}" for i in range(60))  # 419 characters
    _page(
        b,
        TOKYO,
        "/blog/spring",
        "Spring",
        Block(
            "main",
            [
                Link(
                    url(ACME, "/products/rocket-skates"),
                    long_words[:256],
                    anchor_html=f"\n  {long_words.replace(' ', '  ')}\n",
                ),
                Link(
                    url(FREE),
                    'Fish & Chips \u2013 "fresh"',
                    anchor_html="Fish &amp; Chips &#8211; &quot;fresh&quot;",
                ),
                Link(
                    url(BERG),
                    "Read more about tools",
                    anchor_html="<span>Read</span> <em>more</em>\n about <b>tools</b>",
                ),
                Link(url(PAIN, "/liens"), "Petit Pain", spelling="utm+fragment"),
            ],
        ),
    )

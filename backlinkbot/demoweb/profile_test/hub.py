"""The test web's hub (www.example.co.uk) and its sister blog.

The directory page links every other site's front door in a different
spelling; the partners page exercises the merge rules; there are a 2-hop
redirect chain across three sites, a redirect within the blog, a page with
``<meta name=robots content=nofollow>``, one served with
``X-Robots-Tag: nofollow`` and one whose ``<base href>`` points to another
host.
"""

from __future__ import annotations

import random

from backlinkbot.demoweb.builder import WebBuilder
from backlinkbot.demoweb.common import paragraph, url
from backlinkbot.demoweb.model import Block, Link, Redirect, Text
from backlinkbot.demoweb.profile_test.sites import (
    ACME,
    ALICE,
    BERG,
    BOB,
    BUCH,
    FREE,
    GONE,
    KANGA,
    PAIN,
    RIVER,
    TINY,
    TOKYO,
    UK,
    UKBLOG,
)
from backlinkbot.demoweb.profile_test.sites import page as _page

__all__ = ["add_blog", "add_hub"]


def add_hub(b: WebBuilder, rng: random.Random) -> None:
    # Every other site's front door, each spelled differently; all dofollow.
    directory = [
        Link(url(ACME), "Acme", spelling="upper"),
        Link(url(FREE), "Free Data", spelling="port"),
        Link(url(BERG), "Bergwerk", spelling="dot"),
        Link(url(KANGA), "Kangaroo Kites", spelling="protocol"),
        Link(url(ALICE), "Alice", spelling="fragment"),
        Link(url(BOB), "Bob", spelling="utm"),
        Link(url(BUCH), "B\u00fccher", spelling="idn"),
        Link(url(PAIN), "Petit Pain", spelling="space"),
        Link(url(RIVER), "Rivertech", spelling="gclid"),
        Link(url(TOKYO), "Tokyo Garden", spelling="dotseg"),
        Link(url(UKBLOG), "Our blog", spelling="msclkid"),
        Link(url(TINY, "/x/7"), "Short link"),
        Link(url(GONE), "Gone Away"),
        Link(url(FREE, "/reports/annual-2024.pdf"), "Annual report (PDF)", spelling="fbclid"),
        Link("https://docs.rivertech.io/login", "Rivertech login"),
        Link(url(ACME, "/discontinued"), "Discontinued product"),
    ]
    _page(
        b,
        UK,
        "/directory",
        "Directory",
        Block("main", directory),
        Block(
            "aside", [Link(url(UK, "/search?lang=en&q=kites"), "Kites", spelling="root+unsorted")]
        ),
    )
    _page(
        b,
        UK,
        "/search?lang=en&q=kites",
        "Search: kites",
        Block(
            "main",
            [
                paragraph(rng),
                Link(
                    url(KANGA, "/shop?category=kites&sort=price"),
                    "Kites by price",
                    spelling="utm+unsorted",
                ),
                Text("<p>No more results.</p>"),
            ],
        ),
    )
    b.add_redirect(
        Redirect(
            url(UK, "/out/acme"), url(TINY, "/x/7"), 301, location="HTTP://GO.TINYLINK.NET/x/7"
        )
    )
    b.add_redirect(Redirect(url(TINY, "/x/7"), url(ACME, "/pricing"), 302))
    # Merge rules: several links from one page to one target make one edge.
    _page(
        b,
        UK,
        "/partners",
        "Partners",
        Block(
            "header",
            [Link(url(ACME, "/pricing"), image_alt="Acme logo", rel="nofollow")],
            role=True,
        ),
        Block(
            "main",
            [
                paragraph(rng),
                Link(url(ACME, "/pricing"), "Acme pricing", spelling="fragment"),
                Link(url(ACME, "/pricing"), "Pricing again", rel="nofollow ugc", spelling="utm"),
                Link(url(FREE), "Free Data", rel="NoFollow"),
                Link(url(FREE), "Open data portal", rel="nofollow ugc", spelling="upper"),
                Link(url(KANGA, "/map"), kind="area", alt="Kangaroo map"),
                Link(url(KANGA, "/map"), "Map of Australia", spelling="port"),
            ],
        ),
        Block(
            "aside",
            [
                Link(url(BERG), image_alt="", rel="sponsored"),
                Link(
                    url(BERG), image_alt="Bergwerk banner", rel="sponsored nofollow", spelling="dot"
                ),
            ],
        ),
        Block(
            None,
            [
                Link(url(TOKYO), "Tokyo Garden", rel="noopener noreferrer"),
                Link(url(TOKYO), "", anchor_html="   ", spelling="fragment"),
            ],
        ),
    )
    _page(
        b,
        UK,
        "/about",
        "About us",
        Block(
            "main",
            [
                paragraph(rng),
                Link(url(ACME), "Acme, our sponsor"),
                Link(url(FREE, "/members/join"), "Join Free Data"),
            ],
        ),
        meta_nofollow=True,
    )
    _page(
        b,
        UK,
        "/cgi-bin/search",
        "Search (blocked)",
        Block(
            "main",
            [
                Link(url(BERG, "/never-linked"), "Not an edge: robots.txt forbids this page"),
            ],
        ),
    )


def add_blog(b: WebBuilder, rng: random.Random) -> None:
    _page(
        b,
        UKBLOG,
        "/new-post",
        "A new post",
        Block(
            "main",
            [
                paragraph(rng),
                Link(url(ACME, "/docs/guide"), "the Acme guide", spelling="sibling"),
                Link(url(ACME, "/pricing"), "Acme's prices", spelling="relative"),
                Link(url(UKBLOG), "Blog home"),
            ],
        ),
        base_href="http://www.acme.com/docs/",
        base_url=url(ACME, "/docs/"),
    )
    b.add_redirect(
        Redirect(url(UKBLOG, "/old-post"), url(UKBLOG, "/new-post"), 301, location="/new-post")
    )
    _page(
        b,
        UKBLOG,
        "/x-robots",
        "Served with X-Robots-Tag",
        Block(
            "main",
            [
                Link(url(BERG), "Bergwerk tools"),
                Link(url(KANGA), "Kangaroo", rel="ugc"),
                Link(url(UK), "Main site"),
            ],
        ),
        header_nofollow=True,
    )
    _page(
        b,
        UKBLOG,
        "/links",
        "Blogroll",
        Block(
            "nav",
            [
                Link(url(UK), "Example UK home"),
                Link(url(UK, "/directory"), "Directory"),
                Link(url(ALICE), "Alice", spelling="upper+port+fragment"),
                Link(url(UKBLOG, "/old-post"), "An old post"),
            ],
        ),
        Block("footer", [Link(url(BOB), "Bob", rel="sponsored")], role=True),
    )

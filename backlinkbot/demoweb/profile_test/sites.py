"""The hosts of the test web, their robots.txt files, and a page helper."""

from __future__ import annotations

from typing import Any

from backlinkbot.demoweb.builder import WebBuilder
from backlinkbot.demoweb.common import chrome_page
from backlinkbot.demoweb.model import Block, Site

__all__ = [
    "ACME",
    "ALICE",
    "BERG",
    "BOB",
    "BUCH",
    "FREE",
    "GONE",
    "KANGA",
    "NAMES",
    "PAIN",
    "RIVER",
    "TINY",
    "TOKYO",
    "UK",
    "UKBLOG",
    "add_sites",
    "page",
]

UK, UKBLOG = "www.example.co.uk", "blog.example.co.uk"
ACME, FREE, BERG = "www.acme.com", "www.freedata.org", "www.bergwerk.de"
KANGA, ALICE, BOB = "www.kangaroo.com.au", "alice.github.io", "bob.github.io"
BUCH, PAIN, RIVER = "xn--bcher-kva.de", "www.petitpain.fr", "docs.rivertech.io"
TOKYO, TINY, GONE = "www.tokyo-garden.co.jp", "go.tinylink.net", "www.gone-away.net"

NAMES = {
    UK: "Example UK",
    UKBLOG: "Example UK Blog",
    ACME: "Acme",
    FREE: "Free Data",
    BERG: "Bergwerk",
    KANGA: "Kangaroo Kites",
    ALICE: "Alice's notes",
    BOB: "Bob's lab",
    BUCH: "B\u00fccher",
    PAIN: "Petit Pain",
    RIVER: "Rivertech Docs",
    TOKYO: "Tokyo Garden",
}


def add_sites(b: WebBuilder) -> None:
    b.add_site(
        Site(
            UK,
            "example.co.uk",
            robots="User-agent: *\nDisallow: /cgi-bin/\n",
            rules=[("/cgi-bin/", False)],
        )
    )
    b.add_site(Site(UKBLOG, "example.co.uk"))
    b.add_site(
        Site(
            ACME,
            "acme.com",
            robots=(
                "# Acme robots policy\nUser-agent: Googlebot\nDisallow: /\n\n"
                "User-agent: backlinkbot\nDisallow: /private/\nDisallow: /drafts\n\n"
                "User-agent: *\nDisallow: /tmp/\n"
            ),
            # The "*" group does not apply: backlinkbot has a group of its own.
            rules=[("/private/", False), ("/drafts", False)],
        )
    )
    b.add_site(
        Site(
            FREE,
            "freedata.org",
            robots="User-agent: *\nDisallow: /members/\nAllow: /members/join\n",
            rules=[("/members/", False), ("/members/join", True)],
        )
    )
    b.add_site(Site(BERG, "bergwerk.de"))
    b.add_site(
        Site(
            KANGA,
            "kangaroo.com.au",
            robots="User-agent: BacklinkBot\nDisallow: /admin/\n\nUser-agent: *\nDisallow: /\n",
            rules=[("/admin/", False)],
        )
    )
    b.add_site(Site(ALICE, "alice.github.io"))
    b.add_site(Site(BOB, "bob.github.io", robots="User-agent: *\nAllow: /\n"))
    b.add_site(Site(BUCH, "xn--bcher-kva.de", unicode_host="b\u00fccher.de"))
    b.add_site(Site(PAIN, "petitpain.fr", robots="User-agent: otherbot\nDisallow: /\n"))
    b.add_site(Site(RIVER, "rivertech.io", robots="User-agent: backlinkbot\nDisallow:\n"))
    b.add_site(Site(TOKYO, "tokyo-garden.co.jp"))
    b.add_site(Site(TINY, "tinylink.net"))
    b.add_dead_host(GONE, domain="gone-away.net")


def page(b: WebBuilder, host: str, path: str, title: str, *blocks: Block, **kw: Any) -> None:
    chrome_page(b, b.sites[host], path, title, *blocks, name=NAMES[host], **kw)

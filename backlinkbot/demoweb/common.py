"""Page scaffolding shared by the profiles: chrome, filler text, home pages."""

from __future__ import annotations

import random
from collections.abc import Sequence

from backlinkbot.demoweb.builder import WebBuilder
from backlinkbot.demoweb.model import Block, Link, Page, Site, Text

__all__ = ["add_homes", "chrome_page", "paragraph", "url"]

_WORDS = [
    "garden",
    "river",
    "market",
    "letter",
    "summer",
    "window",
    "harbour",
    "engine",
    "bicycle",
    "lantern",
    "meadow",
    "orchard",
    "station",
    "kitchen",
    "journal",
    "island",
    "compass",
    "thunder",
    "village",
    "ladder",
    "copper",
    "pepper",
    "canvas",
    "whistle",
    "valley",
    "forest",
    "bridge",
    "signal",
    "harvest",
    "pocket",
    "velvet",
    "marble",
    "candle",
]


def url(host: str, path: str = "/") -> str:
    """The normalized ``http://`` URL of ``path`` on ``host``."""
    return f"http://{host}{path}"


def paragraph(rng: random.Random, *, sentences: int = 2) -> Text:
    """A paragraph of filler prose without links."""
    out = []
    for _ in range(sentences):
        words = rng.choices(_WORDS, k=rng.randint(6, 11))
        out.append(" ".join(words).capitalize() + ".")
    return Text(f"<p>{' '.join(out)}</p>")


def chrome_page(
    b: WebBuilder,
    site: Site,
    path: str,
    title: str,
    *content: Block,
    name: str,
    head: Sequence[Link] = (),
    base_href: str | None = None,
    base_url: str | None = None,
    meta_nofollow: bool = False,
    header_nofollow: bool = False,
) -> Page:
    """Add a page with the site's header (logo linking home) and footer.

    Internal chrome links are root-relative, or absolute when the page has a
    ``<base href>`` (which may point to another host).
    """
    page = Page(
        url=url(site.host, path),
        title=title,
        head=list(head),
        base_href=base_href,
        base_url=base_url,
        meta_nofollow=meta_nofollow,
        header_nofollow=header_nofollow,
    )
    spelling = "absolute" if page.base_url else "root"
    logo = Link(url(site.host), image_alt=f"{name} logo", spelling=spelling)
    page.blocks = [
        Block("header", [logo, Text(f"<h1>{title}</h1>")]),
        *content,
        Block("footer", [Text(f"<p>&copy; 2025 {name}</p>")]),
    ]
    return b.add_page(page)


def add_homes(b: WebBuilder, rng: random.Random, names: dict[str, str]) -> None:
    """Give each named site a home page whose nav links to all its URLs.

    Every resource of a site is thereby reachable by a dofollow ``<a>`` from
    its home page, whichever other links point to it.
    """
    for host, name in names.items():
        site = b.sites[host]
        paths = sorted(
            u.removeprefix(f"http://{host}")
            for u in (*b.pages, *b.redirects, *b.files)
            if u.startswith(f"http://{host}/")
        )
        nav = [Link(url(host, p), anchor=_nav_label(p), spelling="root") for p in paths]
        chrome_page(
            b,
            site,
            "/",
            f"{name} \N{EN DASH} home",
            Block("nav", nav, role=rng.random() < 0.3),
            Block("main", [paragraph(rng, sentences=3)]),
            name=name,
        )


def _nav_label(path: str) -> str:
    label = path.strip("/").rsplit("/", 1)[-1].split("?", 1)[0] or "home"
    return label.replace("-", " ").replace("_", " ").capitalize()

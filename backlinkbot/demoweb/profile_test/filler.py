"""Seed-chosen articles that make the test web less uniform."""

from __future__ import annotations

import random

from backlinkbot.demoweb.builder import WebBuilder
from backlinkbot.demoweb.common import paragraph, url
from backlinkbot.demoweb.model import Block, Link, Text
from backlinkbot.demoweb.profile_test.sites import BUCH, NAMES, TINY
from backlinkbot.demoweb.profile_test.sites import page as _page

__all__ = ["add_filler"]


def add_filler(b: WebBuilder, rng: random.Random) -> None:
    """A few articles per site with seed-chosen links between sites."""
    hosts = [h for h in NAMES if h != TINY]
    targets = sorted({*b.pages, *(url(h) for h in hosts)})
    styles = [
        "absolute",
        "protocol",
        "upper",
        "port",
        "dot",
        "fragment",
        "utm",
        "gclid",
        "space",
        "dotseg",
        "upper+port",
        "fragment+utm",
    ]
    rels = ["", "", "", "", "nofollow", "noopener", "ugc", "sponsored", "nofollow ugc"]
    for host in hosts:
        for n in range(rng.randint(3, 5)):
            links: list[Link | Text | Block] = [paragraph(rng)]
            for _ in range(rng.randint(1, 3)):
                dst = rng.choice(targets)
                style = rng.choice(styles)
                if "idn" not in style and _host(dst) == BUCH and rng.random() < 0.5:
                    style += "+idn"
                links.append(
                    Link(dst, f"{NAMES[_host(dst)]} article", rel=rng.choice(rels), spelling=style)
                )
            section = rng.choice(["main", "aside", None])
            _page(
                b,
                host,
                f"/articles/{n + 1}",
                f"Article {n + 1}",
                Block(section, links, role=rng.random() < 0.3),
            )


def _host(u: str) -> str:
    return u.split("/", 3)[2]

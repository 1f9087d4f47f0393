"""The "test" profile: a small web that exercises every rule of the design.

Fourteen hosts on several public suffixes (two of them under one registrable
domain, two under the private suffix ``github.io``, one IDN, one dead), with
every href spelling, rel variant, landmark, merge rule, redirect, robots.txt
case and non-link the crawler must get right. The special pages are written
by hand; ``seed`` only varies the filler articles and their links.
"""

from __future__ import annotations

import random

from backlinkbot.demoweb.builder import WebBuilder
from backlinkbot.demoweb.common import add_homes, url
from backlinkbot.demoweb.profile_test.filler import add_filler
from backlinkbot.demoweb.profile_test.hub import add_blog, add_hub
from backlinkbot.demoweb.profile_test.others import add_others
from backlinkbot.demoweb.profile_test.sites import ALICE, NAMES, UK, add_sites

__all__ = ["build_test_web"]


def build_test_web(seed: int) -> WebBuilder:
    """Describe the test web; ``build()`` on the result makes it."""
    rng = random.Random(f"test:{seed}")
    b = WebBuilder(profile="test", seed=seed)
    add_sites(b)
    add_hub(b, rng)
    add_blog(b, rng)
    add_others(b, rng)
    add_filler(b, rng)
    add_homes(b, rng, NAMES)
    b.seeds = [url(UK), url(ALICE)]
    return b

"""Generate a synthetic web with its exact crawl ground truth.

>>> web = generate_web(profile="test", seed=1)
>>> web.seeds
['http://www.example.co.uk/', 'http://alice.github.io/']
>>> web.resources["http://www.acme.com/robots.txt"].status
200
"""

from __future__ import annotations

from collections.abc import Callable

from backlinkbot.demoweb.builder import WebBuilder
from backlinkbot.demoweb.model import SyntheticWeb
from backlinkbot.demoweb.profile_demo import build_demo_web
from backlinkbot.demoweb.profile_test import build_test_web

__all__ = ["PROFILES", "generate_web"]

#: Profile name -> a function of the seed that describes the web.
PROFILES: dict[str, Callable[[int], WebBuilder]] = {
    "test": build_test_web,
    "demo": build_demo_web,
}


def generate_web(*, profile: str = "test", seed: int = 1) -> SyntheticWeb:
    """Build the web of ``profile``; the same ``(profile, seed)`` gives the same web."""
    try:
        describe = PROFILES[profile]
    except KeyError:
        raise ValueError(
            f"unknown profile {profile!r}, expected one of {sorted(PROFILES)}"
        ) from None
    return describe(seed).build()

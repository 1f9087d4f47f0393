"""The building blocks of a synthetic web and the web itself.

A profile describes its sites with these types: each :class:`Page` is an
ordered tree of :class:`Block` landmarks holding :class:`Link` specifications
and plain :class:`Text`. A link names its target by the *normalized* URL first;
how it is spelled in the HTML (relative, upper case, with tracking
parameters…) is chosen separately, so the ground truth never depends on
parsing what was written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Block",
    "File",
    "Link",
    "Page",
    "Redirect",
    "Resource",
    "Site",
    "SyntheticWeb",
    "Text",
]


@dataclass(frozen=True, slots=True)
class Resource:
    """What the server answers for one URL."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(slots=True)
class Link:
    """One link as the generator means it.

    ``dst`` is the normalized target; ``spelling`` says how ``href`` is
    written (see :mod:`backlinkbot.demoweb.spelling`). ``anchor`` is the
    expected anchor text and ``anchor_html`` how it is written (escaped
    ``anchor`` when ``None``). ``image_alt`` not ``None`` makes the ``<a>``
    hold a single ``<img>`` and nothing else. ``alt`` is the ``<area>`` alt.
    """

    dst: str
    anchor: str = ""
    kind: str = "a"
    rel: str = ""
    spelling: str = "absolute"
    anchor_html: str | None = None
    image_alt: str | None = None
    alt: str = ""

    @property
    def rel_tokens(self) -> set[str]:
        # rel is a case-insensitive, space-separated token list (HTML
        # "link types").
        return set(self.rel.lower().split())


@dataclass(slots=True)
class Text:
    """HTML written as is; it must carry no link that counts."""

    html: str


@dataclass(slots=True)
class Block:
    """An element around links: a landmark when ``section`` is set.

    ``role`` writes the landmark as ``<div role=...>`` instead of the HTML
    element (``<nav>``, ``<footer>``…); ``section=None`` is a plain ``<div>``
    that inherits its parent's section.
    """

    section: str | None
    items: Sequence[Link | Text | Block] = ()
    role: bool = False


@dataclass(slots=True)
class Page:
    """An HTML page at a normalized URL.

    ``head`` holds the ``<link rel=canonical>`` and ``<meta http-equiv=
    refresh>`` links, which come before the body in document order.
    ``base_href`` is written as ``<base href>`` and ``base_url`` is its
    normalized meaning, the URL relative links resolve against.
    """

    url: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    head: list[Link] = field(default_factory=list)
    base_href: str | None = None
    base_url: str | None = None
    meta_nofollow: bool = False
    header_nofollow: bool = False


@dataclass(slots=True)
class Redirect:
    """A 3xx answer at ``url`` whose ``Location`` means ``dst``."""

    url: str
    dst: str
    status: int = 301
    location: str | None = None


@dataclass(slots=True)
class File:
    """A non-HTML resource."""

    url: str
    content_type: str
    body: bytes


@dataclass(slots=True)
class Site:
    """One host: its pages and its robots.txt.

    ``robots`` is the robots.txt text (``None``: the file is a 404) and
    ``rules`` the ``(path prefix, allowed)`` rules of the group that applies
    to the ``backlinkbot`` token, evaluated longest match first (RFC 9309,
    section 2.2.2) — written by hand next to ``robots`` so that the ground
    truth does not come from a robots.txt parser.
    """

    host: str
    domain: str
    unicode_host: str | None = None
    robots: str | None = None
    rules: list[tuple[str, bool]] = field(default_factory=list)

    def allows(self, path: str) -> bool:
        """Whether ``backlinkbot`` may fetch ``path`` (path and query)."""
        best: tuple[int, bool] = (-1, True)
        for prefix, allowed in self.rules:
            # On equal length the allow rule wins (RFC 9309, 2.2.2).
            if path.startswith(prefix) and (len(prefix), allowed) > best:
                best = (len(prefix), allowed)
        return best[1]


@dataclass(slots=True)
class SyntheticWeb:
    """A finite web of several hosts with its exact crawl ground truth.

    ``resources`` maps each normalized URL the server knows to its answer;
    ``dead_hosts`` never answer. ``expected_pages`` maps every URL a crawl
    from ``seeds`` fetches to its ``status`` (``None`` when the connection
    fails) and ``content_type`` (media type without parameters, lower case;
    ``""`` without a response). ``expected_edges`` are the external edges
    from the fetched pages in the ``links`` collection's shape, and
    ``internal_edges`` the same-domain ones.
    """

    profile: str
    seed: int
    resources: dict[str, Resource]
    hosts: set[str]
    dead_hosts: set[str]
    seeds: list[str]
    expected_edges: list[dict[str, Any]]
    expected_pages: dict[str, dict[str, Any]]
    internal_edges: list[dict[str, Any]]
    disallowed: set[str]
    domains: dict[str, str]
    demo_target: str | None = None

    def truth(self) -> dict[str, Any]:
        """The ground truth as plain JSON-serializable data."""
        return {
            "profile": self.profile,
            "seed": self.seed,
            "seeds": list(self.seeds),
            "demo_target": self.demo_target,
            "dead_hosts": sorted(self.dead_hosts),
            "disallowed": sorted(self.disallowed),
            "expected_pages": dict(sorted(self.expected_pages.items())),
            "expected_edges": list(self.expected_edges),
            "internal_edges": list(self.internal_edges),
        }

"""The items that flow from the spider through the pipelines to the sink.

The spider yields one :class:`PageItem` per fetched URL, its links already
turned into :class:`Edge` objects (one per link found, in document order);
the dedup pipeline merges the edges to one target, the sink stores them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["KINDS", "SECTIONS", "Edge", "PageItem", "RawLink"]

#: Where a link comes from (docs/LINK_EXTRACTION.md).
KINDS = ("a", "area", "canonical", "meta_refresh", "redirect")
#: Where on the page a link sits: the nearest landmark ancestor.
SECTIONS = ("header", "nav", "footer", "aside", "main", "body")


@dataclass(slots=True)
class RawLink:
    """One link as found in a document (or a redirect): ``href`` as written
    and what the markup says about the link."""

    href: str
    kind: str = "a"
    anchor: str = ""
    alt: str = ""
    image: bool = False
    nofollow: bool = False
    ugc: bool = False
    sponsored: bool = False
    section: str = "body"


#: A link's attributes at their defaults, which are also an edge's.
_LINK = RawLink("")


@dataclass(slots=True)
class Edge:
    """One link of a page placed in the graph: its normalized source and
    target, their hosts and registrable domains, and the link's attributes."""

    src: str
    dst: str
    src_host: str
    dst_host: str
    src_domain: str
    dst_domain: str
    anchor: str = _LINK.anchor
    alt: str = _LINK.alt
    image: bool = _LINK.image
    kind: str = _LINK.kind
    nofollow: bool = _LINK.nofollow
    ugc: bool = _LINK.ugc
    sponsored: bool = _LINK.sponsored
    section: str = _LINK.section

    @property
    def external(self) -> bool:
        """Source and target have different registrable domains."""
        return self.src_domain != self.dst_domain

    @classmethod
    def of(cls, link: RawLink, *, src: str, dst: str, src_host: str, dst_host: str,
           src_domain: str, dst_domain: str, nofollow: bool) -> Edge:  # fmt: skip
        """The edge of ``link``, found on page ``src`` and pointing to ``dst``
        (``nofollow`` also when the page is)."""
        return cls(
            src, dst, src_host, dst_host, src_domain, dst_domain, link.anchor, link.alt,
            link.image, link.kind, nofollow, link.ugc, link.sponsored, link.section,
        )  # fmt: skip


@dataclass(slots=True)
class PageItem:
    """A fetched URL: what the server answered and the links it carries.

    ``url`` is the normalized URL that was requested; ``host`` and ``domain``
    are its host and registrable domain. ``edges`` holds one :class:`Edge`
    per link whose URL normalizes, in document order, until the dedup
    pipeline merges those to one target; ``links_rejected`` counts the others.
    ``nofollow`` and ``noindex`` are the page-level robots directives
    (``<meta name=robots>`` or ``X-Robots-Tag``); every edge of a nofollow
    page is nofollow.
    """

    url: str
    status: int | None
    fetched_at: datetime
    content_type: str = ""
    redirect_to: str | None = None
    ip: str | None = None
    error: str | None = None
    nofollow: bool = False
    noindex: bool = False
    edges: list[Edge] = field(default_factory=list)
    host: str = ""
    domain: str = ""
    links_rejected: int = 0
    #: Links past ``BACKLINKBOT_MAX_PAGE_LINKS``, left out of ``links``.
    links_truncated: int = 0

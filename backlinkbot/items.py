"""The items that flow from the spider through the pipelines to the sink.

The spider yields one :class:`PageItem` per fetched URL. It carries the page's
metadata and every link found on it as a :class:`RawLink` (the ``href`` as
written, plus the attributes the extractor read). The pipelines then turn the
raw links into :class:`Edge` objects: ``pipelines.normalize`` resolves and
normalizes URLs, ``pipelines.dedup`` merges several links from one page to
the same target into one edge, and ``pipelines.mongo`` stores page and edges.

One item per page (not per link) keeps the per-item overhead of Scrapy off the
hot path and gives the sink the page's whole link set, which it needs to tell
new, unchanged and lost links apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["KINDS", "SECTIONS", "Edge", "PageItem", "RawLink"]

#: Where a link comes from (DESIGN.md, "Link semantics").
KINDS = ("a", "area", "canonical", "meta_refresh", "redirect")
#: Where on the page a link sits: the nearest landmark ancestor.
SECTIONS = ("header", "nav", "footer", "aside", "main", "body")


@dataclass(slots=True)
class RawLink:
    """One link as found in a document (or a redirect), before normalization."""

    href: str
    kind: str = "a"
    anchor: str = ""
    alt: str = ""
    image: bool = False
    nofollow: bool = False
    ugc: bool = False
    sponsored: bool = False
    section: str = "body"


@dataclass(slots=True)
class Edge:
    """One (source page, target URL) pair with its merged attributes."""

    src: str
    dst: str
    src_host: str
    dst_host: str
    src_domain: str
    dst_domain: str
    anchor: str = ""
    alt: str = ""
    image: bool = False
    kind: str = "a"
    nofollow: bool = False
    ugc: bool = False
    sponsored: bool = False
    section: str = "body"

    @property
    def external(self) -> bool:
        """Source and target have different registrable domains."""
        return self.src_domain != self.dst_domain


@dataclass(slots=True)
class PageItem:
    """A fetched URL: what the server answered and the links it carries.

    ``url`` is the normalized URL that was requested. ``base_url`` is what
    relative links resolve against (the document URL or its ``<base href>``).
    ``links`` holds :class:`RawLink` objects when the spider yields the item
    and :class:`Edge` objects after the normalize and dedup pipelines.
    """

    url: str
    status: int | None
    fetched_at: datetime
    content_type: str = ""
    base_url: str = ""
    redirect_to: str | None = None
    ip: str | None = None
    error: str | None = None
    depth: int = 0
    #: ``<meta name=robots content=nofollow>`` or ``X-Robots-Tag: nofollow``.
    nofollow: bool = False
    noindex: bool = False
    links: list[RawLink] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    host: str = ""
    domain: str = ""
    #: Links seen on the page before deduplication, and how many were rejected.
    links_found: int = 0
    links_rejected: int = 0
    #: Links past ``BACKLINKBOT_MAX_PAGE_LINKS``, left out of ``links``.
    links_truncated: int = 0

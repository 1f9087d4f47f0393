"""The API's response documents, with the field names of docs/SCHEMA.md.

They make the OpenAPI document's schemas; a field a stored document lacks
is left out of its row (as in the CLI's JSON), never invented.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AnchorRow", "AnchorsPage", "BacklinksPage", "BrokenBacklinksPage", "BrokenLinkRow",
    "Error", "History", "HistoryRow", "IntersectPage", "IntersectRow", "LinkRow",
    "OutgoingDomainRow", "OutgoingDomainsPage", "Overview", "ReferringDomainRow",
    "ReferringDomainsPage", "TopPageRow", "TopPagesPage",
]  # fmt: skip

Kind = Literal["url", "host", "domain"]


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LinkRow(_Row):
    """One edge of ``links`` (docs/SCHEMA.md), without its ``_id``."""

    src: str
    dst: str
    src_host: str | None = None
    dst_host: str | None = None
    src_domain: str | None = None
    dst_domain: str | None = None
    anchor: str | None = None
    alt: str | None = None
    image: bool | None = None
    kind: str | None = None
    nofollow: bool | None = None
    ugc: bool | None = None
    sponsored: bool | None = None
    section: str | None = None
    src_ip: str | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    unconfirmed_since: datetime | None = None
    unconfirmed_reason: str | None = None
    lost_at: datetime | None = None
    lost_reason: str | None = None
    nofollow_since: datetime | None = None
    restored: int | None = None


class BrokenLinkRow(LinkRow):
    """A live link to a broken page: the page's fetch ``status`` (null: no
    answer) and network ``error``."""

    status: int | None = None
    error: str | None = None


class ReferringDomainRow(_Row):
    domain: str
    links: int = Field(description="live links from the domain")
    dofollow: int
    first_seen: datetime | None = Field(None, description="first_seen of its oldest live link")
    rating: float | None = None


class AnchorRow(_Row):
    anchor: str = Field(description='anchor text; image links as "[img] alt"')
    links: int
    dofollow: int
    referring_domains: int
    share: float = Field(description="share of the live backlinks")


class TopPageRow(_Row):
    url: str
    links: int
    dofollow: int
    referring_domains: int
    status: int | None = Field(None, description="the page's HTTP status; null if not fetched")


class OutgoingDomainRow(_Row):
    domain: str
    links: int
    dofollow: int


class IntersectRow(_Row):
    domain: str
    links: list[int] = Field(description="live links to each target, in the order given")
    total: int
    rating: float | None = None


class _Page(BaseModel):
    target: str
    by: Kind
    next: str | None = Field(None, description="cursor of the next page; null on the last")


class BacklinksPage(_Page):
    rows: list[LinkRow]


class BrokenBacklinksPage(_Page):
    rows: list[BrokenLinkRow]


class ReferringDomainsPage(_Page):
    rows: list[ReferringDomainRow]


class AnchorsPage(_Page):
    rows: list[AnchorRow]


class TopPagesPage(_Page):
    rows: list[TopPageRow]


class OutgoingDomainsPage(_Page):
    rows: list[OutgoingDomainRow]


class IntersectPage(BaseModel):
    targets: list[str]
    exclude: list[str]
    rows: list[IntersectRow]
    next: str | None = None


class Overview(BaseModel):
    """A ``domains`` document's counts (docs/SCHEMA.md), for a host or URL
    counted from its links, and its rating and PageRank position."""

    target: str
    by: Kind
    backlinks: int
    backlinks_dofollow: int
    backlinks_nofollow: int
    referring_domains: int
    referring_hosts: int
    referring_ips: int
    referring_subnets: int
    new_7d: int
    new_30d: int
    lost_7d: int
    lost_30d: int
    counted_at: datetime | None = None
    rating: float | None = None
    pagerank: float | None = None
    pagerank_position: int | None = Field(None, description="1 = the highest PageRank")


class HistoryRow(BaseModel):
    day: date
    backlinks: int = Field(description="live backlinks at the end of the day (UTC)")
    referring_domains: int
    new: int = Field(description="links first seen that day")
    lost: int = Field(description="links lost that day")


class History(BaseModel):
    target: str
    by: Kind
    days: int
    rows: list[HistoryRow]


class Error(BaseModel):
    error: str
    detail: list[str] = []

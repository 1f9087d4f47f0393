"""The explorer's tables: one listing of the graph each, paged by cursor.

The API's endpoints and the report's tabs both come from here, over the
same :class:`~backlinkbot.storage.queries.Graph` calls as the CLI. Link
listings page on the server (``skip``/``limit``, or after a referring domain
for one link per domain); summaries (referring domains, anchors, pages,
domains) are computed whole and sliced.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import astuple, dataclass
from datetime import datetime
from typing import Any

from backlinkbot.storage.queries import LINK_COLUMNS, Graph, Target

from .pagination import decode_cursor, encode_cursor, listing_scope

__all__ = ["COLUMNS", "TABLES", "Options", "Page", "all_rows", "intersect_page", "page"]

#: Table name (the API path) → what it lists.
TABLES = {
    "backlinks": "backlinks",
    "referring-domains": "referring domains",
    "anchors": "anchors",
    "top-pages": "top linked pages",
    "broken-backlinks": "broken backlinks",
    "outgoing-domains": "outgoing domains",
}
#: CSV columns of each table.
COLUMNS: dict[str, tuple[str, ...]] = {
    "backlinks": LINK_COLUMNS,
    "broken-backlinks": (*LINK_COLUMNS, "status", "error"),
    "referring-domains": ("domain", "links", "dofollow", "first_seen", "rating"),
    "anchors": ("anchor", "links", "dofollow", "referring_domains", "share"),
    "top-pages": ("url", "links", "dofollow", "referring_domains", "status"),
    "outgoing-domains": ("domain", "links", "dofollow"),
    "intersect": ("domain", "total", "rating"),
    "history": ("day", "backlinks", "referring_domains", "new", "lost"),
}
#: Rows a CSV export holds at most.
EXPORT_ROWS = 100_000


@dataclass(frozen=True)
class Options:
    """A table's filters (each table reads those it has)."""

    status: str = "live"
    since: datetime | None = None
    dofollow: bool = False
    kind: str | None = None
    section: str | None = None
    one_per_domain: bool = False
    oldest_first: bool = False
    sort: str = "links"


@dataclass
class Page:
    rows: list[dict[str, Any]]
    next: str | None


def _stream(
    graph: Graph, name: str, target: Target, options: Options, skip: int = 0
) -> Iterable[dict[str, Any]]:
    """Every row of the table from ``skip`` on."""
    if name == "backlinks":
        if options.one_per_domain:
            if options.status != "live" or options.since or options.kind or options.section:
                raise ValueError("one link per domain lists live links, without other filters")
            return graph.one_per_domain(target, dofollow=options.dofollow)
        return graph.links(
            target, status=options.status, since=options.since, dofollow=options.dofollow,
            kind=options.kind, section=options.section, oldest_first=options.oldest_first,
            skip=skip,
        )  # fmt: skip
    if name == "broken-backlinks":
        return graph.broken_backlinks(target, skip=skip)
    if name == "referring-domains":
        rows = graph.referring_domains(target, dofollow=options.dofollow, sort=options.sort)
    elif name == "anchors":
        rows = graph.anchors(target, dofollow=options.dofollow)
    elif name == "top-pages":
        rows = graph.top_pages(target)
    elif name == "outgoing-domains":
        rows = graph.outgoing_domains(target)
    else:
        raise ValueError(f"no table {name!r}")
    return rows[skip:]


def _paged(rows: Iterable[dict[str, Any]], limit: int, scope: str, offset: int) -> Page:
    taken = list(itertools.islice(rows, limit + 1))
    more = len(taken) > limit
    return Page(taken[:limit], encode_cursor(scope, offset=offset + limit) if more else None)


def page(
    graph: Graph, name: str, target: Target, options: Options, cursor: str | None, limit: int
) -> Page:
    """One page of a table; ValueError for a bad cursor or filter."""
    scope = listing_scope([name, target.kind, target.value, *astuple(options)])
    position = decode_cursor(cursor, scope)
    if name == "backlinks" and options.one_per_domain:
        _stream(graph, name, target, options)  # checks the filters
        rows = list(graph.one_per_domain(target, dofollow=options.dofollow,
                                         after=position.get("after"), limit=limit + 1))  # fmt: skip
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(rows, encode_cursor(scope, after=rows[-1]["src_domain"]) if more else None)
    if "after" in position:
        raise ValueError("the cursor belongs to another listing")
    offset = position.get("offset", 0)
    return _paged(_stream(graph, name, target, options, skip=offset), limit, scope, offset)


def all_rows(graph: Graph, name: str, target: Target, options: Options) -> Iterator[dict[str, Any]]:
    """The table's rows for a CSV export (at most ``EXPORT_ROWS``)."""
    return itertools.islice(_stream(graph, name, target, options), EXPORT_ROWS)


def intersect_page(
    graph: Graph,
    targets: Sequence[Target],
    exclude: Sequence[Target],
    cursor: str | None,
    limit: int | None,
) -> Page:
    """Link intersect, a page of it (all of it for ``limit=None``)."""
    rows = graph.intersect(targets, exclude)
    if limit is None:
        return Page(rows[:EXPORT_ROWS], None)
    parts = ["intersect", *(t.value for t in targets), "-", *(t.value for t in exclude)]
    scope = listing_scope(parts)
    position = decode_cursor(cursor, scope)
    if "after" in position:
        raise ValueError("the cursor belongs to another listing")
    offset = position.get("offset", 0)
    return _paged(iter(rows[offset:]), limit, scope, offset)

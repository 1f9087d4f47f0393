"""``/api/v1``: the graph as JSON (or CSV), one endpoint per table.

Every endpoint takes ``target`` (a domain, host or URL, read as the CLI
reads it; ``by`` overrides) and answers with the rows of one
:mod:`.tables` listing and the cursor of the next page. Parameters are typed
and bounded; a bad one is a 400 (the app's handlers), a query over its time
limit a 503.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from backlinkbot.commands.backlinks import csv_lines
from backlinkbot.items import KINDS, SECTIONS
from backlinkbot.storage.queries import LINK_STATUSES, Graph, Target, parse_since, parse_target

from . import models, tables

__all__ = ["MAX_LIMIT", "MAX_TARGETS", "router"]

#: Rows a page holds at most.
MAX_LIMIT = 500
#: Targets (and excluded targets) of a link intersect at most.
MAX_TARGETS = 10
#: Longest target text.
MAX_TARGET_LENGTH = 2048
MAX_DAYS = 3650

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": models.Error, "description": "a parameter is missing, unknown or invalid"},
    401: {"model": models.Error, "description": "the API token is missing or wrong"},
    503: {"model": models.Error, "description": "the database did not answer in time"},
}
router = APIRouter(prefix="/api/v1", responses=ERRORS)

By = Literal["url", "host", "domain"]
TargetText = Annotated[str, Query(min_length=1, max_length=MAX_TARGET_LENGTH,
                                  description="a domain, host or URL")]  # fmt: skip
ByParam = Annotated[By | None, Query(description="how to read target (default: as the CLI)")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="rows per page")]
Cursor = Annotated[str | None, Query(max_length=512, description="`next` of the page before")]
Format = Annotated[Literal["json", "csv"], Query(description="csv: every row, no paging")]
Dofollow = Annotated[bool, Query(description="dofollow links only")]
SINCE_PATTERN = r"^[0-9][0-9:+\-.TZ ]*d?$"
Since = Annotated[str | None, Query(max_length=40, pattern=SINCE_PATTERN,
                                    description="an ISO date or time, or Nd")]  # fmt: skip


class BadRequest(ValueError):
    """A request whose parameters the graph cannot answer (a 400)."""


def graph_of(request: Request) -> Graph:
    graph: Graph = request.app.state.graph
    return graph


GraphDep = Annotated[Graph, Depends(graph_of)]


def read_target(text: str, by: str | None = None) -> Target:
    try:
        return parse_target(text, kind=by)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def target_of(target: TargetText, by: ByParam = None) -> Target:
    return read_target(target, by)


TargetDep = Annotated[Target, Depends(target_of)]


def _filename(name: str, target: Target) -> str:
    return f"{name}-{re.sub(r'[^A-Za-z0-9.-]+', '_', target.value)[:80]}.csv"


def csv_response(name: str, filename: str, rows: Iterable[dict[str, Any]]) -> StreamingResponse:
    columns = tables.COLUMNS[name]
    return StreamingResponse(
        csv_lines(rows, columns, neutralize=True),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _table(
    graph: Graph, name: str, target: Target, options: tables.Options, cursor: str | None,
    limit: int, fmt: str,
) -> Any:  # fmt: skip
    try:
        if fmt == "csv":
            rows = tables.all_rows(graph, name, target, options)
            return csv_response(name, _filename(name, target), rows)
        page = tables.page(graph, name, target, options, cursor, limit)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return {"target": target.value, "by": target.kind, "rows": page.rows, "next": page.next}


@router.get("/overview", response_model=models.Overview, summary="counts, rating, position")
def overview(graph: GraphDep, target: TargetDep) -> Any:
    return graph.overview(target)


@router.get("/backlinks", response_model=models.BacklinksPage, response_model_exclude_unset=True,
            summary="live, lost or new backlinks")  # fmt: skip
def backlinks(
    graph: GraphDep,
    target: TargetDep,
    status: Annotated[Literal[LINK_STATUSES], Query()] = "live",  # type: ignore[valid-type]
    since: Since = None,
    dofollow: Dofollow = False,
    kind: Annotated[Literal[KINDS] | None, Query()] = None,  # type: ignore[valid-type]
    section: Annotated[Literal[SECTIONS] | None, Query()] = None,  # type: ignore[valid-type]
    one_per_domain: Annotated[bool, Query(description="the best live link of each domain")] = False,
    order: Annotated[Literal["newest", "oldest"], Query()] = "newest",
    limit: Limit = 50,
    cursor: Cursor = None,
    format: Format = "json",
) -> Any:
    options = link_options(status, since, dofollow, kind, section, one_per_domain, order)
    return _table(graph, "backlinks", target, options, cursor, limit, format)


def link_options(
    status: str, since: str | None, dofollow: bool, kind: str | None, section: str | None,
    one_per_domain: bool, order: str,
) -> tables.Options:  # fmt: skip
    try:
        moment = parse_since(since) if since else None
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    if order == "oldest" and status != "live":
        raise BadRequest("order=oldest lists live links only")
    return tables.Options(status=status, since=moment, dofollow=dofollow, kind=kind,
                          section=section, one_per_domain=one_per_domain,
                          oldest_first=order == "oldest")  # fmt: skip


@router.get("/referring-domains", response_model=models.ReferringDomainsPage,
            summary="referring domains with their live links")  # fmt: skip
def referring_domains(
    graph: GraphDep,
    target: TargetDep,
    dofollow: Dofollow = False,
    sort: Annotated[Literal["links", "rating"], Query()] = "links",
    limit: Limit = 50,
    cursor: Cursor = None,
    format: Format = "json",
) -> Any:
    options = tables.Options(dofollow=dofollow, sort=sort)
    return _table(graph, "referring-domains", target, options, cursor, limit, format)


@router.get("/anchors", response_model=models.AnchorsPage, summary="anchor-text distribution")
def anchors(
    graph: GraphDep, target: TargetDep, dofollow: Dofollow = False, limit: Limit = 50,
    cursor: Cursor = None, format: Format = "json",
) -> Any:  # fmt: skip
    options = tables.Options(dofollow=dofollow)
    return _table(graph, "anchors", target, options, cursor, limit, format)


@router.get("/top-pages", response_model=models.TopPagesPage, summary="most linked pages")
def top_pages(
    graph: GraphDep, target: TargetDep, limit: Limit = 50, cursor: Cursor = None,
    format: Format = "json",
) -> Any:  # fmt: skip
    return _table(graph, "top-pages", target, tables.Options(), cursor, limit, format)


@router.get("/broken-backlinks", response_model=models.BrokenBacklinksPage,
            response_model_exclude_unset=True,
            summary="live links to pages that answered 4xx/5xx or did not answer")  # fmt: skip
def broken_backlinks(
    graph: GraphDep, target: TargetDep, limit: Limit = 50, cursor: Cursor = None,
    format: Format = "json",
) -> Any:  # fmt: skip
    return _table(graph, "broken-backlinks", target, tables.Options(), cursor, limit, format)


@router.get("/outgoing-domains", response_model=models.OutgoingDomainsPage,
            summary="domains the target links to")  # fmt: skip
def outgoing_domains(
    graph: GraphDep, target: TargetDep, limit: Limit = 50, cursor: Cursor = None,
    format: Format = "json",
) -> Any:  # fmt: skip
    return _table(graph, "outgoing-domains", target, tables.Options(), cursor, limit, format)


@router.get("/history", response_model=models.History, summary="per-day counts")
def history(
    graph: GraphDep,
    target: TargetDep,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS, description="days up to today")] = 90,
    format: Format = "json",
) -> Any:
    rows = graph.history(target, days=days)
    if format == "csv":
        return csv_response("history", _filename("history", target), rows)
    return {"target": target.value, "by": target.kind, "days": days, "rows": rows}


TargetList = Annotated[list[str], Query(min_length=1, max_length=MAX_TARGETS,
                                        description="sites linked to")]  # fmt: skip
ExcludeList = Annotated[list[str], Query(max_length=MAX_TARGETS,
                                         description="sites not linked to")]  # fmt: skip


def intersect_targets(texts: list[str]) -> list[Target]:
    for text in texts:
        if not text.strip() or len(text) > MAX_TARGET_LENGTH:
            raise BadRequest(f"expected 1 to {MAX_TARGET_LENGTH} characters per target")
    return [read_target(t) for t in texts]


@router.get("/intersect", response_model=models.IntersectPage,
            summary="domains linking to every target and to no excluded one")  # fmt: skip
def intersect(
    graph: GraphDep,
    target: TargetList,
    exclude: ExcludeList = [],  # noqa: B006 (FastAPI copies defaults)
    limit: Limit = 50,
    cursor: Cursor = None,
    format: Format = "json",
) -> Any:
    targets, excluded = intersect_targets(target), intersect_targets(exclude)
    try:
        page = tables.intersect_page(graph, targets, excluded, cursor,
                                     None if format == "csv" else limit)  # fmt: skip
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    if format == "csv":
        return csv_response("intersect", _filename("intersect", targets[0]), page.rows)
    return {"targets": [t.value for t in targets], "exclude": [t.value for t in excluded],
            "rows": page.rows, "next": page.next}  # fmt: skip

"""The web report: HTML pages over the same tables as the API.

``/`` searches and lists the most linked domains, ``/report`` shows one
target's tab (overview with its charts, backlinks, referring domains,
anchors, top pages, lost links, broken backlinks, outgoing domains),
``/intersect`` the link intersect. Jinja2 escapes everything it writes;
only http(s) URLs become links. Forms send empty fields for unset filters,
so the filters here are read as text and checked against their choices.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from backlinkbot.items import KINDS, SECTIONS
from backlinkbot.storage.queries import LINK_STATUSES, Graph, Target, anchor_text

from . import api, charts, tables
from .api import ByParam, Cursor, Dofollow, GraphDep, Limit

__all__ = ["TABS", "error_page", "router"]

router = APIRouter(include_in_schema=False)

#: Tab name → its title; each but the overview shows one table.
TABS = {
    "overview": "Overview",
    "backlinks": "Backlinks",
    "referring-domains": "Referring domains",
    "anchors": "Anchors",
    "top-pages": "Top pages",
    "lost": "Lost links",
    "broken-backlinks": "Broken backlinks",
    "outgoing-domains": "Outgoing domains",
}
#: Days of history the overview charts.
CHART_DAYS = 90
Text = Annotated[str | None, Query(max_length=api.MAX_TARGET_LENGTH)]
Choice = Annotated[str | None, Query(max_length=40)]


def _number(value: Any) -> str:
    if value is None:
        return "\N{EN DASH}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _when(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if isinstance(value, datetime) else ""


def _is_web_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def _query(path: str, **params: Any) -> str:
    """``path`` with the parameters that are set (lists repeat)."""
    pairs = []
    for name, value in params.items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs += [(name, v) for v in values if v not in (None, "", False)]
    return f"{path}?{urlencode(pairs)}" if pairs else path


env = jinja2.Environment(
    loader=jinja2.PackageLoader("backlinkbot.explorer", "templates"),
    autoescape=True,  # text from crawled pages is always escaped
    undefined=jinja2.StrictUndefined,
)
env.filters.update(number=_number, when=_when)
env.tests["web_url"] = _is_web_url
env.globals.update(query=_query, anchor_text=anchor_text, tabs=TABS, kinds=KINDS, sections=SECTIONS,
                   statuses=LINK_STATUSES)  # fmt: skip


def render(name: str, code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(env.get_template(name).render(**context), status_code=code)


def error_page(status: int, message: str, detail: list[str]) -> HTMLResponse:
    return render("error.html", status, status=status, message=message, detail=detail)


def _choice(value: str | None, allowed: tuple[str, ...], name: str) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise api.BadRequest(f"{name}: expected one of {', '.join(allowed)}")
    return value


@router.get("/", response_class=HTMLResponse)
def index(graph: GraphDep) -> HTMLResponse:
    return render("index.html", domains=graph.most_linked_domains(limit=25))


@router.get("/report", response_class=HTMLResponse)
def report(
    graph: GraphDep,
    target: Text = None,
    by: ByParam = None,
    tab: Choice = "overview",
    status: Choice = None,
    since: Annotated[str | None, Query(max_length=40)] = None,
    dofollow: Dofollow = False,
    kind: Choice = None,
    section: Choice = None,
    one_per_domain: bool = False,
    order: Choice = None,
    sort: Choice = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    days: Annotated[int, Query(ge=1, le=api.MAX_DAYS)] = CHART_DAYS,
) -> HTMLResponse:
    if not target or not target.strip():
        return index(graph)
    tab = _choice(tab, tuple(TABS), "tab") or "overview"
    where = api.read_target(target, by)
    context: dict[str, Any] = {"target": where, "text": target, "by": by, "tab": tab,
                               "limit": limit}  # fmt: skip
    if tab == "overview":
        context.update(_overview(graph, where, days))
        return render("overview.html", **context)
    status = "lost" if tab == "lost" else _choice(status, LINK_STATUSES, "status") or "live"
    filters = {
        "status": status, "since": since or None, "dofollow": dofollow,
        "kind": _choice(kind, KINDS, "kind"), "section": _choice(section, SECTIONS, "section"),
        "one_per_domain": one_per_domain, "order": _choice(order, ("newest", "oldest"), "order"),
        "sort": _choice(sort, ("links", "rating"), "sort"),
    }  # fmt: skip
    name = "backlinks" if tab == "lost" else tab
    options = _options(filters)
    try:
        page = tables.page(graph, name, where, options, cursor, limit)
    except ValueError as exc:
        raise api.BadRequest(str(exc)) from None
    context.update(filters=filters, table=name, rows=page.rows, next=page.next,
                   cursor=cursor, csv=_csv_link(name, where, by, filters))  # fmt: skip
    return render("table.html", **context)


def _options(filters: dict[str, Any]) -> tables.Options:
    options = api.link_options(
        filters["status"], filters["since"], filters["dofollow"], filters["kind"],
        filters["section"], filters["one_per_domain"], filters["order"] or "newest",
    )  # fmt: skip
    return tables.Options(**{**options.__dict__, "sort": filters["sort"] or "links"})


def _csv_link(name: str, target: Target, by: str | None, filters: dict[str, Any]) -> str:
    keep = {
        "backlinks": ("status", "since", "dofollow", "kind", "section", "one_per_domain",
                      "order"),
        "referring-domains": ("dofollow", "sort"),
        "anchors": ("dofollow",),
    }.get(name, ())  # fmt: skip
    params = {k: ("true" if filters[k] is True else filters[k]) for k in keep}
    return _query(f"/api/v1/{name}", target=target.value, by=target.kind, format="csv", **params)


def _overview(graph: Graph, target: Target, days: int) -> dict[str, Any]:
    history = graph.history(target, days=days)
    return {
        "overview": graph.overview(target),
        "history": history,
        "days": days,
        "charts": [
            charts.line_chart("Live backlinks", history, "backlinks"),
            charts.line_chart("Referring domains", history, "referring_domains"),
        ],
        "bars": charts.bar_chart("New and lost links per day", history),
        "anchors": graph.anchors(target)[:10],
        "domains": graph.referring_domains(target)[:10],
    }


@router.get("/intersect", response_class=HTMLResponse)
def intersect(
    graph: GraphDep,
    target: Annotated[list[str], Query(max_length=api.MAX_TARGETS)] = [],  # noqa: B006
    exclude: Annotated[list[str], Query(max_length=api.MAX_TARGETS)] = [],  # noqa: B006
    limit: Limit = 50,
    cursor: Cursor = None,
) -> HTMLResponse:
    wanted = [t for t in target if t.strip()]
    unwanted = [t for t in exclude if t.strip()]
    context: dict[str, Any] = {"wanted": wanted, "unwanted": unwanted, "rows": None,
                               "next": None, "cursor": cursor, "limit": limit}  # fmt: skip
    if wanted:
        targets = api.intersect_targets(wanted)
        excluded = api.intersect_targets(unwanted)
        try:
            page = tables.intersect_page(graph, targets, excluded, cursor, limit)
        except ValueError as exc:
            raise api.BadRequest(str(exc)) from None
        context.update(
            targets=targets, rows=page.rows, next=page.next,
            csv=_query("/api/v1/intersect", target=[t.value for t in targets],
                       exclude=[t.value for t in excluded], format="csv"),
        )  # fmt: skip
    return render("intersect.html", **context)

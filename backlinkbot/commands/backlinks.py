"""``backlinkbot backlinks TARGET``: who links to this URL, host or domain.

Without a report option: the live backlinks (newest first) and the referring
domains. ``--lost``, ``--new``, ``--referring-domains``, ``--anchors`` and
``--one-per-domain`` print one report each; ``--dofollow`` keeps dofollow
links only. ``--format json|csv`` streams every row, as it comes (the full
values); ``table``, for reading, shows the first ``--limit`` rows (50),
fits the terminal's width (URLs shortened in the middle) and says when rows
were left out.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import urlsplit

from rich.console import Console
from rich.table import Table

from backlinkbot.commands.fit import Column, fit_table
from backlinkbot.commands.options import at_least, duration
from backlinkbot.services import open_database, running_services
from backlinkbot.storage.queries import (
    EPOCH,
    LINK_COLUMNS,
    NEW_WINDOW,
    Graph,
    Target,
    anchor_text,
    link_filter,
    parse_since,
    parse_target,
)

help = (
    "list the live, new or lost backlinks of a URL, host or domain, "
    "its referring domains and anchors"
)

REPORTS = ("lost", "new", "referring_domains", "anchors", "one_per_domain")
#: Rows a table shows unless --limit says otherwise (JSON and CSV: all).
TABLE_LIMIT = 50

#: A host as the graph stores it: IDNA labels, or an IP address literal.
_HOST = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?|\d+(\.\d+){3}|\[[0-9a-f:.]+\]")


def since_value(text: str) -> datetime:
    """An ISO date or time (UTC unless it says otherwise), or how long ago:
    ``90m``, ``12h``, ``30d``, ``2w`` (as ``recrawl --older-than``)."""
    try:
        ago = duration(text)
    except argparse.ArgumentTypeError:
        pass
    else:
        if text.strip()[-1:].isalpha():  # a bare number is no duration here
            return datetime.now(UTC) - ago
    try:
        return parse_since(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date such as 2026-01-31, or how long ago such as 12h or 30d, got {text!r}"
        ) from None


def target_of(args: argparse.Namespace) -> Target:
    """TARGET as the graph knows it; a ValueError for what can be no host."""
    target = parse_target(args.target, kind=args.by)
    host = urlsplit(target.value).hostname if target.kind == "url" else target.value
    if not host or not _HOST.fullmatch(host):
        raise ValueError(f"not a URL, host or domain: {args.target!r}")
    return target


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="a URL, a host name or a registrable domain")
    parser.add_argument(
        "--by", choices=("url", "host", "domain"),
        help="how to read TARGET (default: a URL if it has a scheme, a domain if it "
        "is its own registrable domain, else a host)",
    )  # fmt: skip
    reports = parser.add_mutually_exclusive_group()
    reports.add_argument("--lost", action="store_true", help="links lost (since --since)")
    reports.add_argument("--new", action="store_true", help="links first seen since --since")
    reports.add_argument("--referring-domains", action="store_true",
                         help="referring domains with their live link counts")  # fmt: skip
    reports.add_argument("--anchors", action="store_true", help="anchor-text distribution")
    reports.add_argument("--one-per-domain", action="store_true",
                         help="the best live link from each referring domain")  # fmt: skip
    parser.add_argument("--since", type=since_value, metavar="WHEN",
                        help="for --new (default: 30 days ago) and --lost (default: "
                        "all time): an ISO date, or how long ago (12h, 30d, 2w)")  # fmt: skip
    parser.add_argument("--dofollow", action="store_true", help="dofollow links only")
    parser.add_argument("--format", choices=("table", "json", "csv"), default=None,
                        help="output format (default: table)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="same as --format json")
    parser.add_argument(
        "--limit",
        type=at_least(0, zero_means="all"),
        default=None,
        metavar="N",
        help=f"rows shown (default: {TABLE_LIMIT} in a table, all in JSON and CSV; 0: all)",
    )
    parser.add_argument(
        "--sort", choices=("links", "rating"), default="links",
        help="order of referring domains (default: by live links)",
    )  # fmt: skip


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialize {type(value).__name__}")


def _opt(args: argparse.Namespace, name: str, default: Any = False) -> Any:
    return getattr(args, name, default)


def report(db: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The default report: live backlinks and referring domains (the
    backlinks as a lazy iterator, at most ``args.limit``; 0 or None: all)."""
    target = target_of(args)
    dofollow = _opt(args, "dofollow")
    graph = Graph(db)
    domains = graph.referring_domains(target, dofollow=dofollow, sort=args.sort)
    return {
        "target": target.value,
        "by": target.kind,
        "live_backlinks": sum(r["links"] for r in domains),
        "referring_domains_count": len(domains),
        "referring_domains": domains,
        "backlinks": graph.links(target, limit=args.limit or 0, dofollow=dofollow),
    }


def total_rows(db: Any, target: Target, name: str, args: argparse.Namespace) -> int:
    """How many rows report ``name`` has without a limit (link listings are
    counted by the server, through the listing's own filter)."""
    dofollow = _opt(args, "dofollow")
    if name == "lost":
        match = link_filter(target, lost_since=args.since or EPOCH, dofollow=dofollow)
    elif name == "new":
        since = args.since or datetime.now(UTC) - NEW_WINDOW
        match = link_filter(target, live=False, new_since=since, dofollow=dofollow)
    elif name == "one_per_domain":
        return len(Graph(db).referring_domains(target, dofollow=dofollow))
    else:
        match = link_filter(target, dofollow=dofollow)
    return int(db.links.count_documents(match))


def rows_of(
    db: Any, target: Target, name: str, args: argparse.Namespace
) -> Iterable[dict[str, Any]]:
    """The rows of one report (``REPORTS``); link listings are streamed."""
    dofollow, limit = _opt(args, "dofollow"), args.limit or 0
    graph = Graph(db)
    if name == "lost":
        return graph.links(target, status="lost", since=args.since, limit=limit,
                           dofollow=dofollow)  # fmt: skip
    if name == "new":
        return graph.links(target, status="new", since=args.since, limit=limit,
                           dofollow=dofollow)  # fmt: skip
    if name == "one_per_domain":
        return graph.one_per_domain(target, limit=limit, dofollow=dofollow)
    rows = (
        graph.referring_domains(target, dofollow=dofollow, sort=args.sort)
        if name == "referring_domains"
        else graph.anchors(target, dofollow=dofollow)
    )
    return rows[:limit] if limit else rows


def _flags(link: dict[str, Any]) -> str:
    flags = [f for f in ("nofollow", "ugc", "sponsored") if link.get(f)]
    return ",".join(flags) or "follow"


def _day(value: Any) -> str:
    return f"{value:%Y-%m-%d}" if isinstance(value, datetime) else ""


#: The columns of a table of links; the target only for a host or domain.
LINK_TABLE = (
    Column("source", shorten="middle"), Column("target", shorten="middle"),
    Column("anchor", shorten="end"), Column("kind", drop=2), Column("rel", shorten="end"),
    Column("first seen", drop=3), Column("last seen", drop=1), Column("lost", optional=True),
    Column("reason", shorten="end", optional=True),
)  # fmt: skip


def _bare(url: str) -> str:
    """A URL as a table shows it: ``http://`` goes without saying."""
    return url.removeprefix("http://")


def _cut(shown: int, limit: int, total: int | None) -> str | None:
    """The caption of a table that left rows out."""
    if not limit or shown < limit or total is None or total <= shown:
        return None
    return f"{shown} of {total}; --limit 0 for all"


def links_table(
    title: str,
    links: Iterable[dict[str, Any]],
    *,
    show_target: bool,
    width: int = 80,
    limit: int = 0,
    total: Any = None,
) -> Table:
    """The links (at most ``limit``, 0: all) as a table ``width`` wide;
    ``total`` (a number, or a function giving it, asked only when rows were
    left out) makes the caption say so."""
    rows = []
    for link in links:
        reason = link.get("lost_reason") or (
            f"unconfirmed ({link['unconfirmed_reason']})" if link.get("unconfirmed_since") else ""
        )
        rows.append([
            _bare(link["src"]), _bare(link["dst"]), anchor_text(link), link["kind"], _flags(link),
            _day(link.get("first_seen")), _day(link.get("last_seen")),
            _day(link.get("lost_at")), reason,
        ])  # fmt: skip
        if limit and len(rows) >= limit:
            break
    columns = [c for c in LINK_TABLE if show_target or c.name != "target"]
    if not show_target:
        rows = [row[:1] + row[2:] for row in rows]
    count = total() if callable(total) and limit and len(rows) >= limit else total
    return fit_table(title, columns, [[str(c) for c in row] for row in rows], width=width,
                     caption=_cut(len(rows), limit, count))  # fmt: skip


def rows_table(
    title: str, rows: Iterable[dict[str, Any]], *, width: int = 80, total: int | None = None,
    limit: int = 0,
) -> Table:  # fmt: skip
    listed = list(rows)
    header = list(listed[0]) if listed else []
    columns = [
        Column(name, shorten="end" if name in ("domain", "anchor") else "",
               justify="left" if name in ("domain", "anchor") else "right")
        for name in header
    ]  # fmt: skip
    cells = [["" if row[c] is None else str(row[c]) for c in header] for row in listed]
    return fit_table(title, columns, cells, width=width, caption=_cut(len(listed), limit, total))


def print_tables(result: dict[str, Any], console: Console, *, limit: int = 0) -> None:
    console.print(
        f"[bold]{result['target']}[/bold] ({result['by']}): "
        f"{result['live_backlinks']} live backlinks from "
        f"{result['referring_domains_count']} referring domains"
    )
    domains = [
        {"domain": row["domain"], "links": row["links"], "dofollow": row["dofollow"],
         "rating": "" if row["rating"] is None else f"{row['rating']:.1f}"}
        for row in result["referring_domains"]
    ]  # fmt: skip
    shown = domains[:limit] if limit else domains
    console.print(rows_table("Referring domains", shown, width=console.width,
                             total=len(domains), limit=limit))  # fmt: skip
    console.print(links_table(
        "Backlinks", result["backlinks"], show_target=result["by"] != "url",
        width=console.width, limit=limit, total=result["live_backlinks"],
    ))  # fmt: skip


def write_json(
    head: dict[str, Any], key: str, rows: Iterable[dict[str, Any]], out: IO[str]
) -> None:
    """``head`` and then ``key``: the rows, one line each, as they come."""
    text = json.dumps(head, default=_json_default, ensure_ascii=False)
    out.write(text[:-1] + (", " if head else "") + json.dumps(key) + ": [")
    for n, row in enumerate(rows):
        out.write(",\n " if n else "\n ")
        out.write(json.dumps(row, default=_json_default, ensure_ascii=False))
    out.write("\n]}\n")


#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any, neutralize: bool) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if neutralize and isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_lines(
    rows: Iterable[dict[str, Any]],
    columns: Iterable[str] | None,
    *,
    neutralize: bool = False,
) -> Iterator[str]:
    """CSV text of ``rows``, a few lines at a time, as they come: the header
    is ``columns`` (default: the first row's keys; nothing without rows or
    columns). ``neutralize`` prefixes with ``'`` the text cells a spreadsheet
    would run as a formula (text from crawled pages)."""
    buffer = io.StringIO()
    writer: Any = None
    header = list(columns) if columns is not None else None
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(buffer, fieldnames=header or list(row),
                                    extrasaction="ignore", lineterminator="\n")  # fmt: skip
            writer.writeheader()
        writer.writerow({k: _cell(v, neutralize) for k, v in row.items()})
        if buffer.tell() > 16384:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if writer is None and header:
        csv.writer(buffer, lineterminator="\n").writerow(header)
    if buffer.tell():
        yield buffer.getvalue()


def write_csv(rows: Iterable[dict[str, Any]], out: IO[str], columns: Iterable[str] | None) -> None:
    for text in csv_lines(rows, columns):
        out.write(text)


def _limited(args: argparse.Namespace, limit: int) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(args), "limit": limit})


class _Counted:
    """The rows of a stream, counted as they go by."""

    def __init__(self, rows: Iterable[dict[str, Any]]) -> None:
        self.rows, self.count = rows, 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row in self.rows:
            self.count += 1
            yield row


def output(db: Any, args: argparse.Namespace, out: IO[str], *, width: int | None = None) -> None:
    """Print the report ``args`` ask for; ``width`` sets a table's width
    (default: the terminal's)."""
    fmt = "json" if args.json else (args.format or "table")
    name = next((r for r in REPORTS if _opt(args, r)), None)
    limit = args.limit if args.limit is not None else (TABLE_LIMIT if fmt == "table" else 0)
    args = _limited(args, limit)
    if fmt == "table":
        _print_table(db, args, name, Console(file=out, width=width), limit)
    else:
        _write_rows(db, args, name, out, fmt, limit)


def _print_table(
    db: Any, args: argparse.Namespace, name: str | None, console: Console, limit: int
) -> None:
    """The report as tables that fit ``console``, saying what was left out."""
    target = target_of(args)
    if name is None:
        print_tables(report(db, args), console, limit=limit)
        return
    title = name.replace("_", " ").capitalize()
    if name in ("lost", "new", "one_per_domain"):
        # One more than shown: whether rows were left out.
        more = _limited(args, limit + 1 if limit else 0)
        console.print(links_table(
            title, rows_of(db, target, name, more), show_target=target.kind != "url",
            width=console.width, limit=limit,
            total=lambda: total_rows(db, target, name, args),
        ))  # fmt: skip
        return
    every = list(rows_of(db, target, name, _limited(args, 0)))
    console.print(rows_table(title, every[:limit] if limit else every,
                             width=console.width, total=len(every), limit=limit))  # fmt: skip


def _write_rows(
    db: Any, args: argparse.Namespace, name: str | None, out: IO[str], fmt: str, limit: int
) -> None:
    """The report as JSON or CSV, streamed; says on stderr when ``limit``
    cut it."""
    target = target_of(args)
    known: int | None = None
    if name is None:
        result = report(db, args)
        rows = _Counted(result["backlinks"])
        if fmt == "json":
            head = {k: v for k, v in result.items() if k != "backlinks"}
            write_json(head, "backlinks", rows, out)
        else:
            write_csv(rows, out, LINK_COLUMNS)
        known = result["live_backlinks"]
    else:
        if name in ("referring_domains", "anchors"):  # lists: their length is known
            every = list(rows_of(db, target, name, _limited(args, 0)))
            listing: Iterable[dict[str, Any]] = every[:limit] if limit else every
            known = len(every)
        else:
            listing = rows_of(db, target, name, args)
        rows = _Counted(listing)
        if fmt == "json":
            info: dict[str, Any] = {"target": target.value, "by": target.kind, "report": name}
            if args.since is not None and name in ("lost", "new"):
                info["since"] = args.since.isoformat()
            write_json(info, "rows", rows, out)
        else:
            is_links = name in ("lost", "new", "one_per_domain")
            write_csv(rows, out, LINK_COLUMNS if is_links else None)
    if limit and rows.count >= limit:
        total = known if known is not None else total_rows(db, target, name or "", args)
        if total > rows.count:
            print(f"backlinkbot backlinks: {rows.count} of {total} rows (--limit 0 for all)",
                  file=sys.stderr)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    quiet = args.json or (args.format or "table") != "table"
    with running_services(announce=not quiet):
        db = open_database()
        try:
            output(db, args, sys.stdout)
        except ValueError as exc:
            print(f"backlinkbot backlinks: {exc}", file=sys.stderr)
            return 2
        finally:
            db.client.close()
    return 0

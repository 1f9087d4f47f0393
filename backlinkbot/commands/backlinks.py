"""``backlinkbot backlinks TARGET``: who links to this URL, host or domain.

Without a report option: the live backlinks (newest first) and the referring
domains. ``--lost``, ``--new``, ``--referring-domains``, ``--anchors`` and
``--one-per-domain`` print one report each; ``--dofollow`` keeps dofollow
links only. ``--format json|csv`` streams link listings row by row (no
limit with ``--limit 0``); ``table`` is for reading.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from backlinkbot.services import open_database, running_services
from backlinkbot.storage.queries import (
    LINK_COLUMNS,
    Graph,
    Target,
    anchor_text,
    parse_since,
    parse_target,
)

help = (
    "list the live, new or lost backlinks of a URL, host or domain, "
    "its referring domains and anchors"
)

REPORTS = ("lost", "new", "referring_domains", "anchors", "one_per_domain")


def since_value(text: str) -> datetime:
    """An ISO date or time (UTC unless it says otherwise), or ``Nd`` days ago."""
    try:
        return parse_since(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
    parser.add_argument("--since", type=since_value, metavar="DATE",
                        help="for --new (default: 30 days ago) and --lost (default: "
                        "all time): an ISO date or Nd")  # fmt: skip
    parser.add_argument("--dofollow", action="store_true", help="dofollow links only")
    parser.add_argument("--format", choices=("table", "json", "csv"), default=None,
                        help="output format (default: table)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="same as --format json")
    parser.add_argument("--limit", type=int, default=50, help="rows shown (0 = all)")
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
    backlinks as a lazy iterator)."""
    target = parse_target(args.target, kind=args.by)
    dofollow = _opt(args, "dofollow")
    graph = Graph(db)
    domains = graph.referring_domains(target, dofollow=dofollow, sort=args.sort)
    return {
        "target": target.value,
        "by": target.kind,
        "live_backlinks": sum(r["links"] for r in domains),
        "referring_domains_count": len(domains),
        "referring_domains": domains,
        "backlinks": graph.links(target, limit=args.limit, dofollow=dofollow),
    }


def rows_of(
    db: Any, target: Target, name: str, args: argparse.Namespace
) -> Iterable[dict[str, Any]]:
    """The rows of one report (``REPORTS``); link listings are streamed."""
    dofollow, limit = _opt(args, "dofollow"), args.limit
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


def links_table(title: str, links: Iterable[dict[str, Any]], *, show_target: bool) -> Table:
    table = Table(title=title)
    columns = ["source", *(["target"] if show_target else []), "anchor", "kind", "rel",
               "first seen", "last seen", "lost", "reason"]  # fmt: skip
    for column in columns:
        table.add_column(column, overflow="fold")
    for link in links:
        reason = link.get("lost_reason") or (
            f"unconfirmed ({link['unconfirmed_reason']})" if link.get("unconfirmed_since") else ""
        )
        cells = [link["src"], *([link["dst"]] if show_target else []), anchor_text(link),
                 link["kind"], _flags(link), _day(link.get("first_seen")),
                 _day(link.get("last_seen")), _day(link.get("lost_at")), reason]  # fmt: skip
        # Text from the web is never read as console markup.
        table.add_row(*(Text(str(c)) for c in cells))
    return table


def rows_table(title: str, rows: Iterable[dict[str, Any]]) -> Table:
    table = Table(title=title)
    header: list[str] | None = None
    for row in rows:
        if header is None:
            header = list(row)
            for column in header:
                table.add_column(
                    column, justify="left" if column in ("domain", "anchor") else "right"
                )
        table.add_row(*(Text("" if row[c] is None else str(row[c])) for c in header))
    return table


def print_tables(result: dict[str, Any], console: Console) -> None:
    console.print(
        f"[bold]{result['target']}[/bold] ({result['by']}): "
        f"{result['live_backlinks']} live backlinks from "
        f"{result['referring_domains_count']} referring domains"
    )
    domains = Table(title="Referring domains")
    for column in ("domain", "links", "dofollow", "rating"):
        domains.add_column(column, justify="right" if column != "domain" else "left")
    for row in result["referring_domains"]:
        rating = "" if row["rating"] is None else f"{row['rating']:.1f}"
        domains.add_row(Text(row["domain"]), str(row["links"]), str(row["dofollow"]), rating)
    console.print(domains)
    console.print(links_table("Backlinks", result["backlinks"], show_target=result["by"] != "url"))


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


def output(db: Any, args: argparse.Namespace, out: IO[str], *, width: int | None = None) -> None:
    """Print the report ``args`` ask for; ``width`` sets a table's width
    (default: the terminal's)."""
    fmt = "json" if args.json else (args.format or "table")
    name = next((r for r in REPORTS if _opt(args, r)), None)
    target = parse_target(args.target, kind=args.by)
    if name is None:
        result = report(db, args)
        if fmt == "json":
            head = {k: v for k, v in result.items() if k != "backlinks"}
            write_json(head, "backlinks", result["backlinks"], out)
        elif fmt == "csv":
            write_csv(result["backlinks"], out, LINK_COLUMNS)
        else:
            print_tables(result, Console(file=out, width=width))
        return
    rows = rows_of(db, target, name, args)
    is_links = name in ("lost", "new", "one_per_domain")
    if fmt == "json":
        info: dict[str, Any] = {"target": target.value, "by": target.kind, "report": name}
        if args.since is not None and name in ("lost", "new"):
            info["since"] = args.since.isoformat()
        write_json(info, "rows", rows, out)
    elif fmt == "csv":
        write_csv(rows, out, LINK_COLUMNS if is_links else None)
    elif is_links:
        title = name.replace("_", " ").capitalize()
        Console(file=out, width=width).print(
            links_table(title, rows, show_target=target.kind != "url")
        )
    else:
        Console(file=out, width=width).print(rows_table(name.replace("_", " ").capitalize(), rows))


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

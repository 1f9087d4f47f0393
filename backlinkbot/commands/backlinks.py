"""``backlinkbot backlinks TARGET``: who links to this URL, host or domain."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from backlinkbot.services import open_database, running_services
from backlinkbot.storage.queries import backlinks, parse_target, referring_domains

help = "list the live backlinks of a URL, host or domain, and its referring domains"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="a URL, a host name or a registrable domain")
    parser.add_argument(
        "--by", choices=("url", "host", "domain"),
        help="how to read TARGET (default: a URL if it has a scheme, a domain if it "
        "is its own registrable domain, else a host)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--limit", type=int, default=50, help="backlinks shown (0 = all)")
    parser.add_argument(
        "--sort", choices=("links", "rating"), default="links",
        help="order of referring domains (default: by live links)",
    )  # fmt: skip


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialize {type(value).__name__}")


def report(db: Any, args: argparse.Namespace) -> dict[str, Any]:
    target = parse_target(args.target, kind=args.by)
    domains = referring_domains(db, target)
    if args.sort == "rating":
        domains.sort(key=lambda r: (-(r["rating"] or 0.0), -r["links"], r["domain"]))
    links = list(backlinks(db, target, limit=args.limit))
    total = sum(r["links"] for r in domains)
    return {
        "target": target.value,
        "by": target.kind,
        "live_backlinks": total,
        "referring_domains_count": len(domains),
        "referring_domains": domains,
        "backlinks": links,
    }


def _flags(link: dict[str, Any]) -> str:
    flags = [f for f in ("nofollow", "ugc", "sponsored") if link.get(f)]
    return ",".join(flags) or "follow"


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
        domains.add_row(row["domain"], str(row["links"]), str(row["dofollow"]), rating)
    console.print(domains)
    links = Table(title="Backlinks")
    show_target = result["by"] != "url"
    columns = ["source", *(["target"] if show_target else []), "anchor", "kind", "rel",
               "first seen", "last seen"]  # fmt: skip
    for column in columns:
        links.add_column(column, overflow="fold")
    for link in result["backlinks"]:
        anchor = link.get("anchor") or (f"[img] {link.get('alt', '')}" if link.get("image") else "")
        row = [link["src"], *([link["dst"]] if show_target else []), anchor, link["kind"],
               _flags(link), f"{link['first_seen']:%Y-%m-%d}", f"{link['last_seen']:%Y-%m-%d}"]  # fmt: skip
        links.add_row(*row)
    console.print(links)


def run(args: argparse.Namespace) -> int:
    with running_services(announce=not args.json):
        try:
            result = report(open_database(), args)
        except ValueError as exc:
            print(f"backlinkbot backlinks: {exc}", file=sys.stderr)
            return 2
    if args.json:
        json.dump(result, sys.stdout, default=_json_default, ensure_ascii=False, indent=1)
        print()
    else:
        print_tables(result, Console())
    return 0

"""``backlinkbot rank``: authority scores of every host and domain.

Reads the live external links, computes PageRank, harmonic centrality and the
0-100 rating (``docs/RANKING.md``), writes them to ``hosts`` and ``domains``
and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from backlinkbot.commands.options import at_least
from backlinkbot.commands.progress import Progress
from backlinkbot.ranking import LEVELS, RankOptions, RankReport, Scores, rank_database
from backlinkbot.ranking.harmonic import EXACT_LIMIT
from backlinkbot.ranking.hyperloglog import LOG2M
from backlinkbot.ranking.pagerank import DAMPING, MAX_ITER, TOLERANCE
from backlinkbot.services import open_database, running_services

help = "compute PageRank, harmonic centrality and the 0-100 rating of hosts and domains"


_positive_int = at_least(1)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--level", choices=(*LEVELS, "both"), default="both",
        help="rank hosts, domains or both (default: both)",
    )  # fmt: skip
    parser.add_argument("--damping", type=float, default=DAMPING, help=f"(default: {DAMPING})")
    parser.add_argument(
        "--tolerance", type=float, default=TOLERANCE,
        help=f"PageRank stops when the L1 change of a step is below this (default: {TOLERANCE})",
    )  # fmt: skip
    parser.add_argument(
        "--max-iter", type=_positive_int, default=MAX_ITER,
        help=f"PageRank stops after this many steps regardless (default: {MAX_ITER})",
    )  # fmt: skip
    parser.add_argument(
        "--harmonic-exact-limit", type=int, default=EXACT_LIMIT, metavar="N",
        help="exact harmonic centrality up to N nodes, HyperBall estimate above "
        f"(default: {EXACT_LIMIT})",
    )  # fmt: skip
    parser.add_argument(
        "--hll-log2m", type=int, default=LOG2M, metavar="B",
        help=f"HyperBall counters have 2**B registers (default: {LOG2M})",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="HyperBall hash seed (default: 0)")
    parser.add_argument(
        "--batch-size", type=_positive_int, default=1000,
        help="documents per bulk write (default: 1000)",
    )  # fmt: skip
    parser.add_argument(
        "--top", type=at_least(0), default=10, help="rows in each top table (default: 10)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="compute and print, but write nothing"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def summary(report: RankReport, *, top: int = 10) -> dict[str, Any]:
    """The run as plain data (what ``--json`` prints)."""

    def level(scores: Scores) -> dict[str, Any]:
        graph = scores.graph
        return {
            "nodes": graph.nodes,
            "links": graph.link_count,
            "edges": int(graph.links.nnz),
            "dofollow_edges": int(graph.dofollow.nnz),
            "pagerank_iterations": scores.pagerank.iterations,
            "pagerank_converged": scores.pagerank.converged,
            "pagerank_all_iterations": scores.pagerank_all.iterations,
            "pagerank_all_converged": scores.pagerank_all.converged,
            "harmonic": "exact" if scores.harmonic.exact else "hyperball",
            "seconds": {k: round(v, 3) for k, v in scores.seconds.items()},
            "top": [
                {
                    "name": r.label,
                    "rating": r.rating,
                    "pagerank": r.pagerank,
                    "harmonic": r.harmonic,
                }
                for r in scores.top(top)
            ],
        }

    return {
        "ranked_at": report.ranked_at.isoformat(),
        "links_scanned": report.scanned,
        "internal_skipped": report.internal,
        "malformed_skipped": report.malformed,
        "levels": {name: level(scores) for name, scores in report.scores.items()},
        "written": report.written,
        "seconds": {k: round(v, 3) for k, v in report.seconds.items()},
    }


def _print(data: dict[str, Any]) -> None:
    console = Console()
    console.print(
        f"ranked at {data['ranked_at']}: {data['links_scanned']} live links read "
        f"({data['internal_skipped']} internal, {data['malformed_skipped']} malformed skipped) "
        f"in {data['seconds'].get('load', 0.0):.2f} s"
    )
    for name, level in data["levels"].items():
        console.print(
            f"[bold]{name}s[/bold]: {level['nodes']} nodes, {level['edges']} edges "
            f"({level['links']} links), {level['dofollow_edges']} dofollow edges; "
            f"PageRank {level['pagerank_iterations']} / {level['pagerank_all_iterations']} "
            f"steps, harmonic {level['harmonic']}; scored in "
            f"{data['seconds'].get(name + '_score', 0.0):.2f} s, "
            f"{data['written'].get(name, 0)} documents written in "
            f"{data['seconds'].get(name + '_write', 0.0):.2f} s"
        )
        if not (level["pagerank_converged"] and level["pagerank_all_converged"]):
            console.print("[yellow]PageRank did not converge: raise --max-iter[/yellow]")
        table = Table(title=f"top {name}s by rating")
        for column in (name, "rating", "pagerank", "harmonic"):
            table.add_column(column, justify="left" if column == name else "right")
        for row in level["top"]:
            table.add_row(
                row["name"], f"{row['rating']:.1f}", f"{row['pagerank']:.3e}",
                f"{row['harmonic']:.1f}",
            )  # fmt: skip
        console.print(table)


def run(args: argparse.Namespace) -> int:
    try:
        options = RankOptions(
            damping=args.damping,
            tolerance=args.tolerance,
            max_iter=args.max_iter,
            harmonic_exact_limit=args.harmonic_exact_limit,
            hll_log2m=args.hll_log2m,
            seed=args.seed,
        )
    except ValueError as exc:
        print(f"backlinkbot rank: {exc}", file=sys.stderr)
        return 2
    levels = LEVELS if args.level == "both" else (args.level,)
    progress = Progress(enabled=not args.json)
    with running_services(announce=not args.json):
        db = open_database()
        try:
            report = rank_database(
                db,
                levels=levels,
                options=options,
                write_batch_size=args.batch_size,
                write=not args.dry_run,
                progress=progress,
            )
        finally:
            progress.end()
            db.client.close()
    data = summary(report, top=args.top)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        _print(data)
    return 0

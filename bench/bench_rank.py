"""Benchmark ``backlinkbot rank``'s computation against networkx.

Each case runs in its own subprocess, so its peak memory (RSS high-water
mark, ``ru_maxrss``) is its own. Graphs are generated once per size, with a
fixed seed, into a temporary ``.npz`` outside the measured processes.

The graphs are web-like: average degree 10, out-degrees and in-degrees drawn
from power laws with exponents about 2.7 and 2.1 (the values Broder et al.,
"Graph structure in the Web", 2000, measured), by the Chung-Lu construction
with independent random node orders; 15% of links are nofollow.

What a case's time covers: building both sparse graphs from the edge arrays
(dedup, self-loops, CSR), PageRank on both, harmonic centrality on both
(exact up to the threshold, HyperBall above) and the rating. Not covered:
reading ``links`` from MongoDB and writing the results (see docs/RANKING.md).

Usage::

    python bench/bench_rank.py                      # 1M and 10M edges, networkx sizes found
    python bench/bench_rank.py --edges 1000000 --networkx-edges 100000
    python bench/bench_rank.py --cnr /path/to/cnr-2000.graph-txt.gz
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED = 20260101
NOFOLLOW_SHARE = 0.15
TIMEOUT = 300.0


def generate(edges: int, path: Path, *, seed: int = SEED) -> None:
    """A power-law graph of ``edges`` links over ``edges // 10`` nodes."""
    n = max(2, edges // 10)
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, n + 1, dtype=np.float64)
    # Chung-Lu: P(node of rank i) ~ i**(-1/(gamma-1)) gives degree exponent gamma.
    out_weight = ranks ** (-1 / (2.7 - 1))
    in_weight = ranks ** (-1 / (2.1 - 1))
    src = rng.permutation(n)[rng.choice(n, size=edges, p=out_weight / out_weight.sum())]
    dst = rng.permutation(n)[rng.choice(n, size=edges, p=in_weight / in_weight.sum())]
    nofollow = rng.random(edges) < NOFOLLOW_SHARE
    np.savez(path, n=n, src=src.astype(np.int32), dst=dst.astype(np.int32), nofollow=nofollow)


def read_cnr(path: Path, out: Path) -> None:
    """The LAW ``graph-txt`` format: the node count, then one line of successors per node."""
    with gzip.open(path, "rt") as lines:
        n = int(next(lines))
        src: list[int] = []
        dst: list[int] = []
        for node, line in enumerate(lines):
            successors = line.split()
            src.extend([node] * len(successors))
            dst.extend(int(s) for s in successors)
    np.savez(
        out, n=n, src=np.array(src, dtype=np.int32), dst=np.array(dst, dtype=np.int32),
        nofollow=np.zeros(len(src), dtype=bool),
    )  # fmt: skip


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def case_ours(graph: Path, *, exact_limit: int | None) -> dict[str, Any]:
    from backlinkbot.ranking import LinkGraph, RankOptions, score_graph

    data = np.load(graph)
    n = int(data["n"])
    labels = tuple(f"host{i:08d}.example" for i in range(n))
    start = time.perf_counter()
    linkgraph = LinkGraph.from_edges(labels, data["src"], data["dst"], data["nofollow"])
    built = time.perf_counter() - start
    options = (
        RankOptions() if exact_limit is None else RankOptions(harmonic_exact_limit=exact_limit)
    )
    scores = score_graph(linkgraph, options=options)
    total = time.perf_counter() - start
    return {
        "nodes": n,
        "links": int(data["src"].size),
        "edges": int(linkgraph.links.nnz),
        "dofollow_edges": int(linkgraph.dofollow.nnz),
        "build_s": round(built, 3),
        **{f"{k}_s": round(v, 4) for k, v in scores.seconds.items()},
        "total_s": round(total, 2),
        "pagerank_iterations": [scores.pagerank.iterations, scores.pagerank_all.iterations],
        "harmonic": "exact" if scores.harmonic.exact else "hyperball",
        "harmonic_steps": [scores.harmonic.steps, scores.harmonic_all.steps],
        "peak_mb": round(_peak_mb()),
    }


def _networkx_graph(graph: Path) -> tuple[Any, Any, int]:
    import networkx as nx

    from backlinkbot.ranking import build_adjacency

    data = np.load(graph)
    n = int(data["n"])
    matrix = build_adjacency(data["src"], data["dst"], n=n).tocoo()
    digraph = nx.DiGraph()
    digraph.add_nodes_from(range(n))
    digraph.add_weighted_edges_from(
        zip(matrix.row.tolist(), matrix.col.tolist(), matrix.data.tolist(), strict=True)
    )
    return digraph, matrix, n


def case_networkx_pagerank(graph: Path) -> dict[str, Any]:
    import networkx as nx

    from backlinkbot.ranking import pagerank

    start = time.perf_counter()
    digraph, matrix, n = _networkx_graph(graph)
    built = time.perf_counter() - start
    start = time.perf_counter()
    # networkx stops at an L1 change below n * tol: ask for the same 1e-10.
    ranks = nx.pagerank(digraph, alpha=0.85, tol=1e-10 / n, max_iter=1000)
    seconds = time.perf_counter() - start
    peak = _peak_mb()
    ours = pagerank(matrix.tocsr()).scores
    expected = np.array([ranks[i] for i in range(n)])
    return {
        "nodes": n,
        "edges": int(matrix.nnz),
        "build_s": round(built, 3),
        "pagerank_s": round(seconds, 3),
        "peak_mb": round(peak),
        "max_abs_diff": float(np.abs(ours - expected).max()),
    }


def case_networkx_harmonic(graph: Path) -> dict[str, Any]:
    import networkx as nx

    from backlinkbot.ranking import harmonic_exact

    digraph, matrix, n = _networkx_graph(graph)
    start = time.perf_counter()
    central = nx.harmonic_centrality(digraph)
    seconds = time.perf_counter() - start
    peak = _peak_mb()
    start = time.perf_counter()
    ours = harmonic_exact(matrix.tocsr()).scores
    ours_seconds = time.perf_counter() - start
    expected = np.array([central[i] for i in range(n)])
    return {
        "nodes": n,
        "edges": int(matrix.nnz),
        "harmonic_s": round(seconds, 2),
        "ours_exact_s": round(ours_seconds, 3),
        "peak_mb": round(peak),
        "max_abs_diff": float(np.abs(ours - expected).max()),
    }


def run_case(
    case: str, graph: Path, *extra: str, timeout: float = TIMEOUT
) -> dict[str, Any] | None:
    """Run one case in a fresh interpreter; ``None`` if it timed out."""
    command = [sys.executable, __file__, "--case", case, "--graph", str(graph), *extra]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return None
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"{case} on {graph.name} failed:\n{exc.stderr}") from exc
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _print(title: str, row: dict[str, Any] | None, timeout: float = TIMEOUT) -> None:
    print(f"{title:<40} {json.dumps(row) if row is not None else f'timed out (> {timeout:.0f} s)'}")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edges", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument(
        "--networkx-edges", type=int, nargs="*", default=[100_000, 1_000_000, 10_000_000],
        help="sizes tried in order for networkx's pagerank until one exceeds --timeout",
    )  # fmt: skip
    parser.add_argument(
        "--networkx-harmonic-edges", type=int, nargs="*", default=[10_000, 30_000, 100_000],
        help="sizes tried in order for networkx's harmonic_centrality",
    )  # fmt: skip
    parser.add_argument("--timeout", type=float, default=TIMEOUT)
    parser.add_argument("--cnr", type=Path, help="cnr-2000.graph-txt.gz (LAW), optional")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--graph", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--exact-limit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.case:
        cases = {
            "ours": lambda: case_ours(args.graph, exact_limit=args.exact_limit),
            "networkx-pagerank": lambda: case_networkx_pagerank(args.graph),
            "networkx-harmonic": lambda: case_networkx_harmonic(args.graph),
        }
        print(json.dumps(cases[args.case]()))
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-rank-") as tmp:
        graphs: dict[int, Path] = {}

        def graph_of(edges: int) -> Path:
            if edges not in graphs:
                graphs[edges] = Path(tmp) / f"g{edges}.npz"
                generate(edges, graphs[edges])
            return graphs[edges]

        ours: dict[int, dict[str, Any] | None] = {}
        for edges in args.edges:
            ours[edges] = run_case("ours", graph_of(edges), timeout=3600)
            _print(f"ours, {edges:,} links", ours[edges])
        for edges in args.networkx_edges:
            theirs = run_case("networkx-pagerank", graph_of(edges), timeout=args.timeout)
            _print(f"networkx pagerank, {edges:,} links", theirs, args.timeout)
            if theirs is None:
                break
            mine = ours.get(edges) or run_case("ours", graph_of(edges), timeout=3600)
            ours[edges] = mine
            if mine is not None:
                print(
                    f"{'':<40} pagerank time ratio networkx/ours "
                    f"{theirs['pagerank_s'] / max(mine['pagerank_all_s'], 1e-3):.1f}x, "
                    f"peak memory ratio {theirs['peak_mb'] / mine['peak_mb']:.1f}x, "
                    f"max |diff| {theirs['max_abs_diff']:.1e}"
                )
        for edges in args.networkx_harmonic_edges:
            theirs = run_case("networkx-harmonic", graph_of(edges), timeout=args.timeout)
            _print(f"networkx harmonic, {edges:,} links", theirs, args.timeout)
            if theirs is None:
                break
            print(
                f"{'':<40} harmonic time ratio networkx/ours (exact) "
                f"{theirs['harmonic_s'] / max(theirs['ours_exact_s'], 1e-3):.0f}x, "
                f"max |diff| {theirs['max_abs_diff']:.1e}"
            )
        if args.cnr:
            path = Path(tmp) / "cnr.npz"
            read_cnr(args.cnr, path)
            _print("ours, cnr-2000", run_case("ours", path, timeout=3600))
            theirs = run_case("networkx-pagerank", path, timeout=args.timeout)
            _print("networkx pagerank, cnr-2000", theirs, args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

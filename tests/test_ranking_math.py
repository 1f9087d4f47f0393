"""PageRank, harmonic centrality and the rating against networkx and LDBC Graphalytics."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from backlinkbot.ranking import harmonic as harmonic_module
from backlinkbot.ranking.graph import build_adjacency
from backlinkbot.ranking.harmonic import (
    harmonic_centrality,
    harmonic_exact,
    harmonic_hyperball,
)
from backlinkbot.ranking.pagerank import pagerank
from backlinkbot.ranking.rating import rating

GRAPHALYTICS = Path(__file__).parent / "data" / "graph" / "graphalytics"
TOL = 1e-9  # tighter than the 1e-6 the ranking promises


def power_law_edges(n: int, m: int, seed: int) -> tuple[list[int], list[int]]:
    """A web-like edge list: heavy-tailed in-degrees, some dangling nodes."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n + 1) ** 0.9
    dst = rng.choice(n, size=m, p=weights / weights.sum())
    src = rng.integers(0, n - n // 10, size=m)  # the last tenth link nowhere
    return src.tolist(), rng.permutation(n)[dst].tolist()


CASES: dict[str, tuple[int, list[int], list[int]]] = {
    "empty": (0, [], []),
    "one node": (1, [], []),
    "isolated nodes": (4, [], []),
    "ring": (4, [0, 1, 2, 3], [1, 2, 3, 0]),
    "path with dangling end": (3, [0, 1], [1, 2]),
    "star into a dangling hub": (5, [1, 2, 3, 4], [0, 0, 0, 0]),
    "star out of a hub": (5, [0, 0, 0, 0], [1, 2, 3, 4]),
    "self-loops dropped": (3, [0, 0, 1, 1, 2], [0, 1, 1, 2, 0]),
    "repeated pairs weigh more": (3, [0, 0, 0, 0, 1, 2], [1, 1, 1, 2, 2, 0]),
    "disconnected parts": (7, [0, 1, 2, 3, 4, 4], [1, 2, 0, 4, 3, 5]),
    "power law 300": (300, *power_law_edges(300, 1500, seed=1)),
    "power law 1000": (1000, *power_law_edges(1000, 6000, seed=2)),
}


def to_networkx(n: int, src: list[int], dst: list[int]) -> nx.DiGraph:
    """The same graph for networkx: self-loops dropped, weight = repeat count."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    for s, d in zip(src, dst, strict=True):
        if s != d:
            weight = graph[s][d]["weight"] + 1 if graph.has_edge(s, d) else 1
            graph.add_edge(s, d, weight=weight)
    return graph


def as_array(values: dict[int, float], n: int) -> np.ndarray:
    return np.array([values[i] for i in range(n)], dtype=np.float64)


@pytest.mark.parametrize("weighted", [True, False], ids=["weighted", "unweighted"])
@pytest.mark.parametrize("case", CASES)
def test_pagerank_matches_networkx(case: str, weighted: bool) -> None:
    n, src, dst = CASES[case]
    result = pagerank(build_adjacency(src, dst, n=n, weighted=weighted))
    expected = nx.pagerank(
        to_networkx(n, src, dst),
        alpha=0.85,
        tol=1e-15,
        max_iter=10_000,
        weight="weight" if weighted else None,
    )
    assert result.converged
    np.testing.assert_allclose(result.scores, as_array(expected, n), rtol=0, atol=TOL)
    if n:
        assert result.scores.sum() == pytest.approx(1.0, abs=1e-12)


# networkx's harmonic centrality is pure Python, O(n m): skip the largest case.
@pytest.mark.parametrize("case", [name for name in CASES if name != "power law 1000"])
def test_harmonic_exact_matches_networkx(case: str) -> None:
    n, src, dst = CASES[case]
    result = harmonic_exact(build_adjacency(src, dst, n=n))
    expected = nx.harmonic_centrality(to_networkx(n, src, dst))
    assert result.exact
    np.testing.assert_allclose(result.scores, as_array(expected, n), rtol=0, atol=TOL)


def test_harmonic_counts_incoming_paths() -> None:
    # 0 -> 1 -> 2: node 2 is reached by two sites, node 0 by none.
    path = build_adjacency([0, 1], [1, 2], n=3)
    assert harmonic_exact(path).scores.tolist() == [0.0, 1.0, 1.5]


def test_harmonic_ignores_weights() -> None:
    n, src, dst = CASES["repeated pairs weigh more"]
    weighted = harmonic_exact(build_adjacency(src, dst, n=n, weighted=True))
    unweighted = harmonic_exact(build_adjacency(src, dst, n=n, weighted=False))
    assert weighted.scores.tolist() == unweighted.scores.tolist()


def test_harmonic_exact_in_small_blocks_and_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    # One 64-bit word of sources per block (5 blocks); gathers of 4 rows, so
    # in-edges are cut into pieces of at most 4 and folded back together.
    n, src, dst = CASES["power law 300"]
    monkeypatch.setattr(harmonic_module, "_BITSET_BYTES", 8 * n)
    monkeypatch.setattr(harmonic_module, "_CHUNK_BYTES", 8 * 4)
    result = harmonic_exact(build_adjacency(src, dst, n=n))
    expected = nx.harmonic_centrality(to_networkx(n, src, dst))
    np.testing.assert_allclose(result.scores, as_array(expected, n), rtol=0, atol=TOL)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=1, max_value=12).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=40),
        )
    )
)
def test_random_graphs_match_networkx(graph: tuple[int, list[tuple[int, int]]]) -> None:
    n, edges = graph
    src, dst = [s for s, _ in edges], [d for _, d in edges]
    matrix = build_adjacency(src, dst, n=n)
    reference = to_networkx(n, src, dst)
    ranks = pagerank(matrix).scores
    expected = nx.pagerank(reference, tol=1e-15, max_iter=10_000)
    np.testing.assert_allclose(ranks, as_array(expected, n), rtol=0, atol=TOL)
    central = harmonic_exact(matrix).scores
    np.testing.assert_allclose(
        central, as_array(nx.harmonic_centrality(reference), n), rtol=0, atol=TOL
    )


def read_adjacency_list(path: Path, *, undirected: bool) -> tuple[dict[int, int], sp.csr_array]:
    """A Graphalytics adjacency list: a node, then its neighbours, per line."""
    src: list[int] = []
    dst: list[int] = []
    nodes: set[int] = set()
    for line in path.read_text().splitlines():
        node, *neighbours = (int(x) for x in line.split())
        nodes.add(node)
        for other in neighbours:
            nodes.add(other)
            src.append(node)
            dst.append(other)
            if undirected:
                src.append(other)
                dst.append(node)
    ids = {node: i for i, node in enumerate(sorted(nodes))}
    adjacency = build_adjacency(
        [ids[s] for s in src], [ids[d] for d in dst], n=len(ids), weighted=False
    )
    return ids, adjacency


def read_ranks(path: Path) -> dict[int, float]:
    return {int(a): float(b) for a, b in (line.split() for line in path.read_text().splitlines())}


@pytest.mark.parametrize(
    ("name", "undirected", "atol"),
    [
        ("pr_dir", False, 1e-10),
        # The published ranks stop short of full convergence by ~2e-7.
        ("pr_undir", True, 1e-6),
    ],
)
def test_graphalytics_converged_ranks(name: str, undirected: bool, atol: float) -> None:
    ids, adjacency = read_adjacency_list(GRAPHALYTICS / f"{name}-input", undirected=undirected)
    expected = read_ranks(GRAPHALYTICS / f"{name}-output")
    result = pagerank(adjacency)
    assert result.converged
    assert set(expected) == set(ids)
    for node, rank in expected.items():
        assert result.scores[ids[node]] == pytest.approx(rank, abs=atol)


@pytest.mark.parametrize("name", ["example-directed", "example-undirected"])
def test_graphalytics_example_two_iterations(name: str) -> None:
    # The example's ranks are those after exactly two iterations.
    base = GRAPHALYTICS / f"example_{name}"
    nodes = [int(v) for v in base.with_suffix(".v").read_text().split()]
    ids = {node: i for i, node in enumerate(nodes)}
    src: list[int] = []
    dst: list[int] = []
    for line in base.with_suffix(".e").read_text().splitlines():
        a, b, _weight = line.split()
        src.append(ids[int(a)])
        dst.append(ids[int(b)])
        if name.endswith("-undirected"):
            src.append(ids[int(b)])
            dst.append(ids[int(a)])
    adjacency = build_adjacency(src, dst, n=len(ids), weighted=False)
    result = pagerank(adjacency, max_iter=2)
    expected = read_ranks(base.parent / f"example_{name}-PR")
    assert result.iterations == 2 and not result.converged
    for node, rank in expected.items():
        assert result.scores[ids[node]] == pytest.approx(rank, abs=1e-12)


def test_pagerank_stops_at_max_iter_and_reports_it() -> None:
    n, src, dst = CASES["power law 300"]
    result = pagerank(build_adjacency(src, dst, n=n), max_iter=3, tolerance=1e-15)
    assert (result.iterations, result.converged) == (3, False)
    assert result.error > 1e-15


def test_pagerank_base_is_the_rank_of_a_node_without_in_links() -> None:
    n, src, dst = CASES["star into a dangling hub"]
    result = pagerank(build_adjacency(src, dst, n=n))
    assert result.scores[1:] == pytest.approx([result.base] * 4, abs=1e-15)
    assert result.scores[0] > result.base


@pytest.mark.parametrize(
    ("matrix", "options", "message"),
    [
        (sp.csr_array((2, 3)), {}, "square adjacency matrix, got shape (2, 3)"),
        (
            sp.csr_array(np.array([[0.0, -1.0], [0.0, 0.0]])),
            {},
            "non-negative edge weights, got -1",
        ),
        (sp.csr_array((2, 2)), {"damping": 1.0}, "0 <= damping < 1, got 1.0"),
        (sp.csr_array((2, 2)), {"tolerance": 0.0}, "tolerance > 0, got 0.0"),
        (sp.csr_array((2, 2)), {"max_iter": 0}, "max_iter >= 1, got 0"),
    ],
)
def test_pagerank_errors_name_what_they_got(
    matrix: sp.csr_array, options: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        pagerank(matrix, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(("log2m", "scale_error"), [(6, 0.4), (10, 0.1)])
def test_hyperball_estimates_exact_harmonic(log2m: int, scale_error: float) -> None:
    n, src, dst = CASES["power law 1000"]
    adjacency = build_adjacency(src, dst, n=n)
    exact = harmonic_exact(adjacency).scores
    estimate = harmonic_hyperball(adjacency, log2m=log2m)
    assert not estimate.exact
    reached = exact >= 1.0
    ratio = estimate.scores[reached] / exact[reached]
    # Most balls grow into the same big set and share its counter, so their
    # errors move together: a common scale factor within ~3 standard errors
    # (1.04 / sqrt(2**log2m)) of 1 ...
    common = float(np.median(ratio))
    assert abs(common - 1.0) < scale_error
    # ... around which the estimates are tight, and the order is kept.
    assert np.percentile(np.abs(ratio / common - 1.0), 95) < 0.1
    order_exact = np.argsort(np.argsort(-exact))
    order_estimate = np.argsort(np.argsort(-estimate.scores))
    assert np.corrcoef(order_exact, order_estimate)[0, 1] > 0.98
    # Nodes nobody reaches are exactly 0 in both.
    assert estimate.scores[exact == 0].tolist() == [0.0] * int((exact == 0).sum())


def test_hyperball_is_deterministic_per_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    n, src, dst = CASES["power law 300"]
    adjacency = build_adjacency(src, dst, n=n)
    first = harmonic_hyperball(adjacency, seed=7).scores
    assert harmonic_hyperball(adjacency, seed=7).scores.tolist() == first.tolist()
    assert harmonic_hyperball(adjacency, seed=8).scores.tolist() != first.tolist()
    # Chunking the gathers changes nothing.
    monkeypatch.setattr(harmonic_module, "_CHUNK_BYTES", 64 * 3)
    assert harmonic_hyperball(adjacency, seed=7).scores.tolist() == first.tolist()


def test_harmonic_centrality_switches_at_the_exact_limit() -> None:
    n, src, dst = CASES["power law 300"]
    adjacency = build_adjacency(src, dst, n=n)
    assert harmonic_centrality(adjacency, exact_limit=n).exact
    assert not harmonic_centrality(adjacency, exact_limit=n - 1).exact


def test_hyperball_max_steps_ignores_longer_paths() -> None:
    chain = build_adjacency([0, 1, 2], [1, 2, 3], n=4)
    result = harmonic_hyperball(chain, max_steps=1)
    assert result.steps == 1
    assert result.scores.tolist() == pytest.approx([0.0, 1.0, 1.0, 1.0], abs=0.05)


@pytest.mark.parametrize(
    ("scores", "base", "expected"),
    [
        ([0.1, 0.2, 0.4], 0.1, [0.0, 50.0, 100.0]),
        ([0.25, 0.25, 0.25, 0.25], 0.25, [0.0, 0.0, 0.0, 0.0]),
        ([0.5, 0.5], 0.075, [100.0, 100.0]),
        ([1e-6, 1e-5, 1e-4, 1e-3, 1e-2], 1e-6, [0.0, 25.0, 50.0, 75.0, 100.0]),
        # Power-iteration noise just under the floor reads as the floor.
        ([0.1 * (1 - 1e-15), 0.3], 0.1, [0.0, 100.0]),
        ([], 0.1, []),
    ],
)
def test_rating_scale(scores: list[float], base: float, expected: list[float]) -> None:
    assert rating(scores, base=base).tolist() == expected


def test_rating_rejects_a_base_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match=r"expected base > 0, got 0\.0"):
        rating([0.5, 0.5], base=0.0)


@settings(deadline=None)
@given(st.lists(st.floats(min_value=1.0, max_value=1e6), min_size=1, max_size=30))
def test_rating_is_monotone_and_bounded(multiples: list[float]) -> None:
    base = 1e-7
    ranks = np.array(multiples) * base
    values = rating(ranks, base=base)
    assert ((values >= 0.0) & (values <= 100.0)).all()
    order = np.argsort(ranks, kind="stable")
    assert (np.diff(values[order]) >= 0).all()
    assert values.tolist() == np.round(values, 1).tolist()


def test_rating_of_a_star_graph() -> None:
    n, src, dst = CASES["star out of a hub"]
    result = pagerank(build_adjacency(src, dst, n=n, weighted=False))
    values = rating(result.scores, base=result.base)
    assert values[0] == 0.0  # the hub links out but nobody links to it
    assert values[1:].tolist() == [100.0] * 4

"""Graph building and the HyperLogLog counters behind HyperBall."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backlinkbot.ranking import hyperloglog
from backlinkbot.ranking.graph import EdgeCollector, LinkGraph, build_adjacency
from backlinkbot.ranking.rating import rating


@pytest.mark.parametrize(
    ("src", "dst", "weighted", "expected"),
    [
        ([], [], True, [[0, 0, 0], [0, 0, 0], [0, 0, 0]]),
        ([0, 0, 1], [1, 1, 2], True, [[0, 2, 0], [0, 0, 1], [0, 0, 0]]),
        ([0, 0, 1], [1, 1, 2], False, [[0, 1, 0], [0, 0, 1], [0, 0, 0]]),
        ([0, 1, 2, 2], [0, 1, 2, 0], True, [[0, 0, 0], [0, 0, 0], [1, 0, 0]]),
    ],
    ids=["no edges", "weights count repeats", "unweighted", "self-loops dropped"],
)
def test_build_adjacency(
    src: list[int], dst: list[int], weighted: bool, expected: list[list[int]]
) -> None:
    matrix = build_adjacency(src, dst, n=3, weighted=weighted)
    assert matrix.toarray().tolist() == expected


@pytest.mark.parametrize(
    ("src", "dst", "n", "message"),
    [
        ([0, 1], [1], 2, r"expected two 1-d arrays of one length, got \(2,\) and \(1,\)"),
        ([0], [3], 3, r"expected node ids in \[0, 3\), got ids outside it"),
        ([-1], [0], 3, r"expected node ids in \[0, 3\), got ids outside it"),
        ([], [], -1, r"expected 0 <= n <= 2147483647, got -1"),
    ],
)
def test_build_adjacency_errors_name_what_they_got(
    src: list[int], dst: list[int], n: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build_adjacency(src, dst, n=n)


def test_link_graph_needs_one_flag_per_link() -> None:
    with pytest.raises(ValueError, match=r"one nofollow flag per link, got \(1,\) for \(2,\)"):
        LinkGraph.from_edges(("a", "b"), [0, 1], [1, 0], [False])


def test_edge_collector_builds_both_graphs() -> None:
    collector = EdgeCollector()
    for src, dst, nofollow in [
        ("z.com", "a.com", False),
        ("z.com", "a.com", True),
        ("m.com", "a.com", True),
        ("a.com", "a.com", False),
    ]:
        collector.add(src, dst, nofollow)
    graph = collector.graph()
    assert len(collector) == 4
    assert graph.labels == ("a.com", "m.com", "z.com")
    assert graph.links.toarray().tolist() == [[0, 0, 0], [1, 0, 0], [2, 0, 0]]
    assert graph.dofollow.toarray().tolist() == [[0, 0, 0], [0, 0, 0], [1, 0, 0]]
    assert graph.link_count == 3


def test_empty_collector() -> None:
    graph = EdgeCollector().graph()
    assert (graph.nodes, graph.links.shape, graph.link_count) == (0, (0, 0), 0)


names = st.sampled_from(["a.com", "b.org", "c.net", "d.io", "e.info"])


@settings(deadline=None)  # timing varies on a shared machine; the test is not about time
@given(st.lists(st.tuples(names, names, st.booleans()), max_size=30), st.randoms())
def test_graph_does_not_depend_on_link_order(links: list[tuple[str, str, bool]], rnd) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(links)
    rnd.shuffle(shuffled)
    graphs = []
    for order in (links, shuffled):
        collector = EdgeCollector()
        for link in order:
            collector.add(*link)
        graphs.append(collector.graph())
    first, second = graphs
    assert first.labels == second.labels == tuple(sorted({n for s, d, _ in links for n in (s, d)}))
    assert (first.links != second.links).nnz == 0
    assert (first.dofollow != second.dofollow).nnz == 0


def test_splitmix64_reference_value() -> None:
    # The first output of SplitMix64 seeded with 0 (Steele, Lea & Flood 2014;
    # the reference generator in Vigna's xoshiro sources).
    assert int(hyperloglog.splitmix64([0])[0]) == 0xE220A8397B1DCDAF


def test_singletons_hold_one_item_each() -> None:
    counters = hyperloglog.singletons(np.arange(1000), log2m=6, seed=1)
    assert counters.shape == (1000, 64)
    assert ((counters > 0).sum(axis=1) == 1).all()
    assert counters.max() <= 64 - 6 + 1
    # About half the items have rank 1, a quarter rank 2, ...
    ranks = counters.max(axis=1)
    assert 0.4 < (ranks == 1).mean() < 0.6
    assert np.array_equal(counters, hyperloglog.singletons(np.arange(1000), log2m=6, seed=1))
    assert not np.array_equal(counters, hyperloglog.singletons(np.arange(1000), log2m=6, seed=2))


@pytest.mark.parametrize("count", [1, 10, 100, 1_000, 10_000, 100_000])
@pytest.mark.parametrize("log2m", [6, 10])
def test_estimate_of_a_union(count: int, log2m: int) -> None:
    union = hyperloglog.singletons(np.arange(count), log2m=log2m, seed=3).max(axis=0)
    estimate = float(hyperloglog.estimate(union[None, :])[0])
    # Four standard errors (1.04 / sqrt(m)); small sets are near exact.
    assert estimate == pytest.approx(count, rel=4 * 1.04 / np.sqrt(2**log2m))


def test_empty_counter_estimates_zero() -> None:
    assert hyperloglog.estimate(hyperloglog.empty(2)).tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: hyperloglog.empty(1, log2m=3), "expected 4 <= log2m <= 16, got 3"),
        (lambda: hyperloglog.singletons([1], log2m=17), "expected 4 <= log2m <= 16, got 17"),
        (
            lambda: hyperloglog.estimate(np.zeros(64, dtype=np.uint8)),
            "expected a 2-d array of counters, got 1 dimensions",
        ),
    ],
)
def test_hyperloglog_errors_name_what_they_got(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call()


def test_rating_of_a_slice_uses_the_given_top() -> None:
    assert rating([0.1, 0.2], base=0.1, top=0.4).tolist() == [0.0, 50.0]


@pytest.mark.parametrize("module", ["graph", "pagerank", "harmonic", "rating"])
def test_docstring_examples(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"backlinkbot.ranking.{module}"))
    assert result.attempted > 0
    assert result.failed == 0

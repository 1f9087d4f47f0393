"""Every score of every node of one :class:`~backlinkbot.ranking.graph.LinkGraph`.

Pure computation, no I/O: PageRank and harmonic centrality on the dofollow
graph (one unweighted edge per pair) with the rating derived from that
PageRank, and PageRank and harmonic centrality on the all-links graph
(weighted by link count), as Common Crawl publishes them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from . import hyperloglog
from .graph import LinkGraph
from .harmonic import EXACT_LIMIT, HarmonicResult, harmonic_centrality
from .pagerank import DAMPING, MAX_ITER, TOLERANCE, PageRankResult, pagerank
from .rating import rating

__all__ = ["RankOptions", "Scores", "TopRow", "score_graph"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RankOptions:
    """How to rank; every default is the documented one."""

    damping: float = DAMPING
    tolerance: float = TOLERANCE
    max_iter: int = MAX_ITER
    #: Graphs with more nodes get HyperBall instead of exact harmonic centrality.
    harmonic_exact_limit: int = EXACT_LIMIT
    #: HyperLogLog registers per node, as a power of two.
    hll_log2m: int = hyperloglog.LOG2M
    seed: int = 0

    def __post_init__(self) -> None:
        # Fail before a long graph load, not after it.
        if not 0.0 <= self.damping < 1.0:
            raise ValueError(f"expected 0 <= damping < 1, got {self.damping}")
        if not self.tolerance > 0:
            raise ValueError(f"expected tolerance > 0, got {self.tolerance}")
        if self.max_iter < 1:
            raise ValueError(f"expected max_iter >= 1, got {self.max_iter}")
        if self.harmonic_exact_limit < 0:
            raise ValueError(f"expected harmonic_exact_limit >= 0, got {self.harmonic_exact_limit}")
        if not 4 <= self.hll_log2m <= 16:
            raise ValueError(f"expected 4 <= hll_log2m <= 16, got {self.hll_log2m}")


@dataclass(frozen=True, slots=True)
class TopRow:
    """One line of a ranking table."""

    label: str
    rating: float
    pagerank: float
    harmonic: float


@dataclass(frozen=True, slots=True)
class Scores:
    """The scores of one graph's nodes, aligned with ``graph.labels``."""

    graph: LinkGraph
    pagerank: PageRankResult
    harmonic: HarmonicResult
    pagerank_all: PageRankResult
    harmonic_all: HarmonicResult
    rating: npt.NDArray[np.float64]
    #: Wall-clock seconds of each computation.
    seconds: dict[str, float] = field(default_factory=dict)

    def top(self, count: int = 10) -> list[TopRow]:
        """The ``count`` best nodes: by rating, then PageRank, then label."""
        if count <= 0 or not self.graph.nodes:
            return []
        # lexsort sorts by the last key first; negate for descending order.
        order = np.lexsort((-self.pagerank.scores, -self.rating))[:count]
        return [
            TopRow(
                self.graph.labels[i],
                float(self.rating[i]),
                float(self.pagerank.scores[i]),
                float(self.harmonic.scores[i]),
            )
            for i in order
        ]


def score_graph(graph: LinkGraph, *, options: RankOptions | None = None) -> Scores:
    """Compute every score of ``graph`` under ``options``."""
    opts = options or RankOptions()
    seconds: dict[str, float] = {}

    def timed_pagerank(name: str, matrix: sp.csr_array) -> PageRankResult:
        start = time.perf_counter()
        result = pagerank(
            matrix,
            damping=opts.damping,
            tolerance=opts.tolerance,
            max_iter=opts.max_iter,
        )
        seconds[name] = time.perf_counter() - start
        return result

    def timed_harmonic(name: str, matrix: sp.csr_array) -> HarmonicResult:
        start = time.perf_counter()
        result = harmonic_centrality(
            matrix,
            exact_limit=opts.harmonic_exact_limit,
            log2m=opts.hll_log2m,
            seed=opts.seed,
        )
        seconds[name] = time.perf_counter() - start
        return result

    rank = timed_pagerank("pagerank", graph.dofollow)
    rank_all = timed_pagerank("pagerank_all", graph.links)
    central = timed_harmonic("harmonic", graph.dofollow)
    central_all = timed_harmonic("harmonic_all", graph.links)
    ratings = rating(rank.scores, base=rank.base) if graph.nodes else np.zeros(0)
    return Scores(graph, rank, central, rank_all, central_all, ratings, seconds)

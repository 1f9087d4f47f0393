"""PageRank by power iteration on a sparse adjacency matrix.

The definition networkx's ``pagerank`` implements (and LDBC Graphalytics
validates): rank flows along out-edges by weight, dangling nodes and the
teleport share ``1 - damping`` spread evenly, iteration stops when the L1
change falls below ``tolerance``. One sparse matrix-vector product a step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

__all__ = ["DAMPING", "MAX_ITER", "TOLERANCE", "PageRankResult", "pagerank"]

#: Brin & Page (1998), section 2.1.1; the value everyone uses.
DAMPING = 0.85
#: L1 distance between successive rank vectors that counts as converged.
TOLERANCE = 1e-10
#: The error shrinks by ``damping`` a step: 1e-10 takes ~145 steps.
MAX_ITER = 1000


@dataclass(frozen=True, slots=True)
class PageRankResult:
    """Ranks (summing to 1) and how the iteration ended."""

    scores: npt.NDArray[np.float64]
    iterations: int
    #: L1 change of the last step.
    error: float
    converged: bool
    #: The rank of a node that nothing links to: the floor of the scale.
    base: float


def _transition(adjacency: sp.sparray | sp.spmatrix) -> tuple[sp.csr_array, npt.NDArray[np.intp]]:
    """The transposed row-stochastic matrix, and the dangling nodes."""
    matrix = sp.csr_array(adjacency, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"expected a square adjacency matrix, got shape {matrix.shape}")
    if matrix.nnz and matrix.data.min() < 0:
        raise ValueError(f"expected non-negative edge weights, got {matrix.data.min()}")
    out_weight = np.asarray(matrix.sum(axis=1)).ravel()
    dangling = np.flatnonzero(out_weight == 0)
    transposed = sp.csr_array(matrix.T)
    # Column j of the transpose is node j's out-edges: divide by its out-weight.
    scale = np.divide(1.0, out_weight, out=np.zeros_like(out_weight), where=out_weight != 0)
    transposed.data *= scale[transposed.indices]
    return transposed, dangling


def pagerank(
    adjacency: sp.sparray | sp.spmatrix,
    *,
    damping: float = DAMPING,
    tolerance: float = TOLERANCE,
    max_iter: int = MAX_ITER,
) -> PageRankResult:
    """PageRank of every node of ``adjacency`` (row = source, column = target).

    >>> import scipy.sparse as sp
    >>> ring = sp.csr_array(([1.0, 1.0, 1.0], ([0, 1, 2], [1, 2, 0])), shape=(3, 3))
    >>> [round(x, 6) for x in pagerank(ring).scores.tolist()]
    [0.333333, 0.333333, 0.333333]
    """
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"expected 0 <= damping < 1, got {damping}")
    if not tolerance > 0:
        raise ValueError(f"expected tolerance > 0, got {tolerance}")
    if max_iter < 1:
        raise ValueError(f"expected max_iter >= 1, got {max_iter}")
    transposed, dangling = _transition(adjacency)
    n = transposed.shape[0]
    if n == 0:
        return PageRankResult(np.zeros(0), 0, 0.0, True, 0.0)
    scores = np.full(n, 1.0 / n)
    error = float("inf")
    iterations = 0
    leak = 0.0
    while iterations < max_iter:
        iterations += 1
        leak = damping * scores[dangling].sum() + (1.0 - damping)
        updated = damping * (transposed @ scores) + leak / n
        error = float(np.abs(updated - scores).sum())
        scores = updated
        if error < tolerance:
            break
    # A node without in-links got exactly the last step's uniform share.
    return PageRankResult(scores, iterations, error, error < tolerance, float(leak / n))

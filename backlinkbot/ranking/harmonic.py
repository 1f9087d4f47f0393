"""Harmonic centrality: exact for small graphs, HyperBall for large ones.

The harmonic centrality of v is the sum over every other node u of
``1 / d(u, v)`` in hops (incoming paths, as networkx's ``harmonic_centrality``
on a ``DiGraph`` and Common Crawl's ranks count them; Boldi & Vigna 2014).
Both methods grow every node's ball of nodes that reach it within t hops:
:func:`harmonic_exact` as bitsets (exact), :func:`harmonic_hyperball` as
HyperLogLog counters (Boldi & Vigna 2013); :func:`harmonic_centrality`
picks one by node count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from . import hyperloglog

__all__ = [
    "EXACT_LIMIT",
    "HarmonicResult",
    "harmonic_centrality",
    "harmonic_exact",
    "harmonic_hyperball",
]

#: Graphs with at most this many nodes get the exact computation.
EXACT_LIMIT = 20_000
#: Bytes of gathered ball data per chunk: bounds the working set of a step.
_CHUNK_BYTES = 64 << 20
#: Bytes of bitsets the exact method holds at once (n x block words).
_BITSET_BYTES = 256 << 20
#: In-edges of one target reduced in one piece, at most.
_MAX_PIECE = 4096

_BYTE_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


@dataclass(frozen=True, slots=True)
class HarmonicResult:
    """Scores, whether they are exact, and the distance the balls grew to."""

    scores: npt.NDArray[np.float64]
    exact: bool
    #: Steps until no ball grew (the largest finite distance, plus one).
    steps: int


def _edges_by_target(
    adjacency: sp.sparray | sp.spmatrix,
) -> tuple[int, npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Node count and the edge list (sources, targets) sorted by target."""
    matrix = sp.csr_array(adjacency)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"expected a square adjacency matrix, got shape {matrix.shape}")
    matrix.eliminate_zeros()
    # Rows of the transpose are targets; its column indices are the sources.
    by_target = sp.csr_array(matrix.T)
    by_target.sort_indices()
    n = matrix.shape[0]
    targets = np.repeat(np.arange(n, dtype=np.int32), np.diff(by_target.indptr))
    sources = by_target.indices.astype(np.int32)
    keep = sources != targets  # d(v, v) = 0 is not counted; a self-loop adds nothing.
    return n, sources[keep], targets[keep]


def _union_by_target(
    balls: npt.NDArray[Any],
    src: npt.NDArray[np.int32],
    dst: npt.NDArray[np.int32],
    union: np.ufunc,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[Any]]:
    """For each distinct target, the union of the balls of its sources.

    ``dst`` is sorted; ``balls`` has one extra all-zero row (the identity of
    both unions) after the last node. ``ufunc.reduceat`` over rows is slow
    for small integer types, so in-edges are cut into pieces, pieces grouped
    by length rounded up to a power of two and padded with the zero row, and
    each group reduced along its middle axis, which numpy vectorizes.
    """
    zero_row = balls.shape[0] - 1
    row_bytes = balls.shape[1] * balls.itemsize
    budget = max(1, _CHUNK_BYTES // row_bytes)  # gathered rows per chunk
    longest = min(_MAX_PIECE, budget)
    starts = np.flatnonzero(np.r_[True, dst[1:] != dst[:-1]])
    targets = dst[starts]
    lengths = np.diff(np.r_[starts, dst.size])
    # Cut segments longer than `longest` into pieces of at most that length.
    per_segment = -(-lengths // longest)
    first_piece = np.cumsum(per_segment) - per_segment
    piece_segment = np.repeat(np.arange(starts.size), per_segment)
    offset = (np.arange(piece_segment.size) - first_piece[piece_segment]) * longest
    piece_start = starts[piece_segment] + offset
    piece_length = np.minimum(longest, lengths[piece_segment] - offset)
    width = np.ceil(np.log2(piece_length)).astype(np.intp)
    pieces = np.empty((piece_segment.size, balls.shape[1]), dtype=balls.dtype)
    for power in np.unique(width).tolist():
        slots = 1 << power
        group = np.flatnonzero(width == power)
        per_chunk = max(1, budget // slots)
        for low in range(0, group.size, per_chunk):
            chunk = group[low : low + per_chunk]
            counts = piece_length[chunk]
            index = np.full((chunk.size, slots), zero_row, dtype=np.intp)
            row = np.repeat(np.arange(chunk.size), counts)
            column = np.arange(row.size) - np.repeat(np.cumsum(counts) - counts, counts)
            index[row, column] = src[np.repeat(piece_start[chunk], counts) + column]
            pieces[chunk] = union.reduce(np.take(balls, index, axis=0), axis=1)
    merged = pieces[first_piece]
    if piece_segment.size > starts.size:
        # The rare long segments: fold their later pieces into the first.
        later = np.ones(piece_segment.size, dtype=bool)
        later[first_piece] = False
        rest = np.flatnonzero(later)
        owner = piece_segment[rest]
        heads = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        folded = union.reduceat(pieces[rest], heads, axis=0)
        merged[owner[heads]] = union(merged[owner[heads]], folded)
    return targets, merged


def _grow(
    sources: npt.NDArray[np.int32],
    targets: npt.NDArray[np.int32],
    balls: npt.NDArray[Any],
    size: Callable[[npt.NDArray[Any]], npt.NDArray[np.float64]],
    union: np.ufunc,
    scores: npt.NDArray[np.float64],
    *,
    max_steps: int | None,
) -> int:
    """Grow ``balls`` along the edges and add each step's growth into ``scores``.

    ``balls`` has one row per node plus a final all-zero row. ``union`` is
    ``np.bitwise_or`` for bitsets or ``np.maximum`` for HyperLogLog
    counters; ``size`` maps rows of balls to their (estimated) sizes.
    Returns the number of steps taken.
    """
    n = balls.shape[0] - 1
    sizes = size(balls[:n])
    grew = sizes > 0
    step = 0
    while grew.any() and (max_steps is None or step < max_steps):
        step += 1
        active = grew[sources]
        if not active.any():
            break
        # Only a source whose ball grew last step can grow a ball now.
        rows, merged = _union_by_target(balls, sources[active], targets[active], union)
        # Every new ball is computed from the previous step's balls before any
        # is stored: the step is synchronous, so t really is the distance.
        old = np.take(balls, rows, axis=0)
        grown = union(merged, old)
        changed = (grown != old).any(axis=1)
        rows, grown = rows[changed], grown[changed]
        balls[rows] = grown
        new_sizes = np.maximum(size(grown), sizes[rows])
        scores[rows] += (new_sizes - sizes[rows]) / step
        sizes[rows] = new_sizes
        grew[:] = False
        grew[rows] = True
    return step


def _popcount(bitsets: npt.NDArray[np.uint64]) -> npt.NDArray[np.float64]:
    counts = _BYTE_POPCOUNT[bitsets.view(np.uint8)].sum(axis=1, dtype=np.int64)
    sizes: npt.NDArray[np.float64] = counts.astype(np.float64)
    return sizes


def harmonic_exact(adjacency: sp.sparray | sp.spmatrix) -> HarmonicResult:
    """Exact harmonic centrality (incoming distances, hops) of every node.

    >>> import scipy.sparse as sp
    >>> path = sp.csr_array(([1.0, 1.0], ([0, 1], [1, 2])), shape=(3, 3))
    >>> harmonic_exact(path).scores.tolist()
    [0.0, 1.0, 1.5]
    """
    n, sources, targets = _edges_by_target(adjacency)
    scores = np.zeros(n)
    words_needed = -(-n // 64)
    words = max(1, min(words_needed, _BITSET_BYTES // max(1, 8 * n)))
    steps = 0
    for first_word in range(0, words_needed, words):
        block = min(words, words_needed - first_word)
        first = first_word * 64
        members = np.arange(first, min(n, first + 64 * block))
        balls = np.zeros((n + 1, block), dtype=np.uint64)
        offset = members - first
        balls[members, offset // 64] = np.left_shift(np.uint64(1), (offset % 64).astype(np.uint64))
        steps = max(
            steps, _grow(sources, targets, balls, _popcount, np.bitwise_or, scores, max_steps=None)
        )
    return HarmonicResult(scores, True, steps)


def _estimates(counters: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    # estimate() expands each register to a float64: do it in slices.
    rows = max(1, _CHUNK_BYTES // (8 * counters.shape[1]))
    if counters.shape[0] <= rows:
        return hyperloglog.estimate(counters)
    return np.concatenate(
        [hyperloglog.estimate(counters[i : i + rows]) for i in range(0, counters.shape[0], rows)]
    )


def harmonic_hyperball(
    adjacency: sp.sparray | sp.spmatrix,
    *,
    log2m: int = hyperloglog.LOG2M,
    seed: int = 0,
    max_steps: int | None = None,
) -> HarmonicResult:
    """Harmonic centrality estimated with HyperBall (HyperLogLog balls).

    An estimated ball never shrinks: a step that would lower it (the small
    and raw estimators disagree near ``2.5 m``) keeps the previous size.
    ``max_steps`` stops early, ignoring paths longer than that.
    """
    n, sources, targets = _edges_by_target(adjacency)
    scores = np.zeros(n)
    counters = hyperloglog.empty(n + 1, log2m=log2m)
    counters[:n] = hyperloglog.singletons(np.arange(n), log2m=log2m, seed=seed)
    steps = _grow(sources, targets, counters, _estimates, np.maximum, scores, max_steps=max_steps)
    return HarmonicResult(scores, False, steps)


def harmonic_centrality(
    adjacency: sp.sparray | sp.spmatrix,
    *,
    exact_limit: int = EXACT_LIMIT,
    log2m: int = hyperloglog.LOG2M,
    seed: int = 0,
) -> HarmonicResult:
    """Exact up to ``exact_limit`` nodes, HyperBall above."""
    if adjacency.shape[0] <= exact_limit:
        return harmonic_exact(adjacency)
    return harmonic_hyperball(adjacency, log2m=log2m, seed=seed)

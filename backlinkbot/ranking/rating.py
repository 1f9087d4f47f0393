"""The 0-100 rating: PageRank on the dofollow graph, on a logarithmic scale.

``rating = 100 * ln(rank / base) / ln(max_rank / base)``, rounded to one
decimal, where ``base`` is the rank of a site no site links to with a
dofollow link and ``max_rank`` the highest rank of the graph: equal steps of
rating are equal ratios of PageRank (docs/RANKING.md).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["rating"]


def rating(
    scores: npt.ArrayLike, *, base: float, top: float | None = None
) -> npt.NDArray[np.float64]:
    """Ratings (0-100, one decimal) for the PageRank ``scores``.

    ``base`` is the rank of a node without in-links
    (:attr:`~backlinkbot.ranking.pagerank.PageRankResult.base`); ``top`` the
    highest rank of the graph, by default the highest of ``scores`` (give it
    when rating a slice of the nodes, as the Spark job does).

    >>> rating([0.1, 0.2, 0.4], base=0.1).tolist()
    [0.0, 50.0, 100.0]
    """
    ranks = np.asarray(scores, dtype=np.float64)
    if not base > 0:
        raise ValueError(f"expected base > 0, got {base}")
    if ranks.size == 0:
        return np.zeros(0)
    top = float(ranks.max()) if top is None else top
    if top <= base * (1 + 1e-12):
        # Nobody links to anybody: everyone is at the floor.
        return np.zeros(ranks.size)
    # Ranks a hair under base are rounding noise of the power iteration.
    ratio = np.maximum(ranks / base, 1.0)
    values = 100.0 * np.log(ratio) / np.log(top / base)
    rounded: npt.NDArray[np.float64] = np.round(np.clip(values, 0.0, 100.0), 1)
    return rounded

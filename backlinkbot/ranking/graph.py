"""The link graph that ranking works on: nodes, and two sparse edge sets.

A :class:`LinkGraph` over hosts or registrable domains holds two CSR
adjacency matrices: ``links`` (every live link, weighted by the number of
unique links between the pair) and ``dofollow`` (one unweighted edge per
pair with a dofollow link, the graph the rating uses). Self-loops are
dropped; node labels are sorted, so ids depend only on the set of links.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

__all__ = ["EdgeCollector", "LinkGraph", "build_adjacency"]

#: Node ids are 32-bit: scipy keeps 32-bit CSR indices below this.
MAX_NODES = 2**31 - 1


def build_adjacency(
    src: npt.ArrayLike,
    dst: npt.ArrayLike,
    *,
    n: int,
    weighted: bool = True,
) -> sp.csr_array:
    """The n x n adjacency matrix of the edge list ``src[i] -> dst[i]``.

    Self-loops are dropped. Repeated pairs merge into one edge whose weight is
    the number of repeats (``weighted``) or 1.

    >>> build_adjacency([0, 0, 1, 2], [1, 1, 1, 0], n=3).toarray().tolist()
    [[0.0, 2.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    """
    rows = np.asarray(src, dtype=np.int64)
    cols = np.asarray(dst, dtype=np.int64)
    if rows.shape != cols.shape or rows.ndim != 1:
        raise ValueError(
            f"expected two 1-d arrays of one length, got {rows.shape} and {cols.shape}"
        )
    if n < 0 or n > MAX_NODES:
        raise ValueError(f"expected 0 <= n <= {MAX_NODES}, got {n}")
    if rows.size and (min(rows.min(), cols.min()) < 0 or max(rows.max(), cols.max()) >= n):
        raise ValueError(f"expected node ids in [0, {n}), got ids outside it")
    keep = rows != cols
    rows, cols = rows[keep].astype(np.int32), cols[keep].astype(np.int32)
    data = np.ones(rows.size, dtype=np.float64)
    # COO -> CSR sums duplicate entries: the weight becomes the link count.
    matrix = sp.csr_array(sp.coo_array((data, (rows, cols)), shape=(n, n)))
    matrix.sum_duplicates()
    if not weighted:
        matrix.data[:] = 1.0
    return matrix


@dataclass(frozen=True, slots=True)
class LinkGraph:
    """Sorted node labels and the two adjacency matrices described above."""

    labels: tuple[str, ...]
    links: sp.csr_array
    dofollow: sp.csr_array
    #: Live links read (after dropping self-loops), the weight total of ``links``.
    link_count: int

    @property
    def nodes(self) -> int:
        return len(self.labels)

    @classmethod
    def from_edges(
        cls,
        labels: tuple[str, ...],
        src: npt.ArrayLike,
        dst: npt.ArrayLike,
        nofollow: npt.ArrayLike,
    ) -> LinkGraph:
        """Build both matrices from one row per link over the given labels."""
        n = len(labels)
        rows = np.asarray(src, dtype=np.int64)
        cols = np.asarray(dst, dtype=np.int64)
        flags = np.asarray(nofollow, dtype=bool)
        if flags.shape != rows.shape:
            raise ValueError(
                f"expected one nofollow flag per link, got {flags.shape} for {rows.shape}"
            )
        links = build_adjacency(rows, cols, n=n, weighted=True)
        follow = ~flags
        dofollow = build_adjacency(rows[follow], cols[follow], n=n, weighted=False)
        return cls(labels, links, dofollow, int(links.sum()))


class EdgeCollector:
    """Turns a stream of (source, target, nofollow) name triples into a graph.

    Names are interned to integer ids as they arrive and the ids kept in
    compact arrays (9 bytes a link), so that millions of links read from a
    cursor fit in memory without a Python object per link.
    """

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._src = array("i")
        self._dst = array("i")
        self._nofollow = array("B")

    def __len__(self) -> int:
        return len(self._src)

    def _intern(self, name: str) -> int:
        ids = self._ids
        node = ids.get(name)
        if node is None:
            node = ids[name] = len(ids)
            if node >= MAX_NODES:
                raise ValueError(f"expected at most {MAX_NODES} nodes, got more")
        return node

    def add(self, src: str, dst: str, nofollow: bool = False) -> None:
        """Record one link from ``src`` to ``dst``."""
        self._src.append(self._intern(src))
        self._dst.append(self._intern(dst))
        self._nofollow.append(1 if nofollow else 0)

    def graph(self) -> LinkGraph:
        """The :class:`LinkGraph` of everything added, with sorted labels."""
        names = list(self._ids)
        order = sorted(range(len(names)), key=names.__getitem__)
        # new_id[old_id]: the position of each name in sorted order.
        new_id = np.empty(len(names), dtype=np.int32)
        new_id[np.asarray(order, dtype=np.int64)] = np.arange(len(names), dtype=np.int32)
        src = new_id[np.frombuffer(self._src, dtype=np.int32)] if len(self) else np.empty(0)
        dst = new_id[np.frombuffer(self._dst, dtype=np.int32)] if len(self) else np.empty(0)
        nofollow = np.frombuffer(self._nofollow, dtype=np.uint8).astype(bool)
        labels = tuple(names[i] for i in order)
        return LinkGraph.from_edges(labels, src, dst, nofollow)

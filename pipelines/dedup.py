"""Merge several links from one page to one target into one edge.

DESIGN.md "Link semantics": an edge is one (source page, target URL) pair.
Its ``anchor`` is the first non-empty anchor in document order and it is
``nofollow`` only if every occurrence is. The same "every occurrence" rule
holds for ``ugc``, ``sponsored`` and ``image`` (a text link to the target
makes the edge a text link); ``alt`` is the first non-empty alt; ``kind`` and
``section`` are those of the first occurrence.
"""

from __future__ import annotations

from typing import Any

from backlinkbot.items import Edge, PageItem

__all__ = ["EdgeDedupPipeline", "merge_edges"]


def merge_edges(edges: list[Edge]) -> list[Edge]:
    """One edge per target, in order of first occurrence.

    The caller's edges are never changed: a target's first edge is copied
    when a second one to the same target is merged into it (most targets
    occur once, and their edges are returned as they are).
    """
    merged: dict[str, Edge] = {}
    copied: set[str] = set()
    for edge in edges:
        first = merged.get(edge.dst)
        if first is None:
            merged[edge.dst] = edge
            continue
        if edge.dst not in copied:
            copied.add(edge.dst)
            first = merged[edge.dst] = Edge(**{f: getattr(first, f) for f in Edge.__slots__})
        if not first.anchor and edge.anchor:
            first.anchor = edge.anchor
        if not first.alt and edge.alt:
            first.alt = edge.alt
        first.nofollow = first.nofollow and edge.nofollow
        first.ugc = first.ugc and edge.ugc
        first.sponsored = first.sponsored and edge.sponsored
        first.image = first.image and edge.image
    return list(merged.values())


class EdgeDedupPipeline:
    def process_item(self, item: Any) -> Any:
        if isinstance(item, PageItem):
            item.edges = merge_edges(item.edges)
        return item

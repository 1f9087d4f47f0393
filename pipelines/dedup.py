"""Merge the links from one page to one target into one edge.

The rules (docs/SCHEMA.md, ``links``): the first non-empty ``anchor`` and
``alt`` in document order; ``nofollow``, ``ugc``, ``sponsored`` and
``image`` only if every occurrence is; ``kind`` and ``section`` of the first.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from backlinkbot.items import Edge, PageItem

__all__ = ["EdgeDedupPipeline", "merge_edges"]


def _merge(first: Edge, edge: Edge) -> None:
    """Merge ``edge`` into ``first``, an earlier edge to the same target."""
    first.anchor = first.anchor or edge.anchor
    first.alt = first.alt or edge.alt
    first.nofollow = first.nofollow and edge.nofollow
    first.ugc = first.ugc and edge.ugc
    first.sponsored = first.sponsored and edge.sponsored
    first.image = first.image and edge.image


def merge_edges(edges: list[Edge]) -> list[Edge]:
    """One edge per target, in order of first occurrence.

    The caller's edges are never changed: a target's first edge is copied
    when a second one to the same target is merged into it (most targets
    occur once, and their edges are returned as they are).
    """
    merged: dict[str, Edge] = {}
    copied: set[str] = set()
    for edge in edges:
        first = merged.setdefault(edge.dst, edge)
        if first is edge:
            continue
        if edge.dst not in copied:
            copied.add(edge.dst)
            first = merged[edge.dst] = replace(first)
        _merge(first, edge)
    return list(merged.values())


class EdgeDedupPipeline:
    def process_item(self, item: Any) -> Any:
        if isinstance(item, PageItem):
            item.edges = merge_edges(item.edges)
        return item

"""Read the live external links from MongoDB into host and domain graphs.

One pass over ``links``: a projection of five fields, streamed in batches,
feeds an :class:`~backlinkbot.ranking.graph.EdgeCollector` per level. A
link is *live* when ``lost_at`` is absent (or null: the same test the sink
uses, ``{"lost_at": None}``, which also matches absent fields). Only
external links count, those between two registrable domains; internal links,
stored when a crawl setting asks for it, are skipped here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from backlinkbot.storage.schema import LINKS

from .graph import EdgeCollector, LinkGraph

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["LEVELS", "LIVE", "PROJECTION", "LoadedGraphs", "load_graphs"]

#: The two node kinds, each with its own graph.
LEVELS = ("host", "domain")
LIVE: dict[str, Any] = {"lost_at": None}
PROJECTION: dict[str, Any] = {
    "_id": 0, "src_host": 1, "dst_host": 1, "src_domain": 1, "dst_domain": 1, "nofollow": 1,
}  # fmt: skip


@dataclass(slots=True)
class LoadedGraphs:
    """The graphs of the requested levels and what the scan saw."""

    graphs: dict[str, LinkGraph]
    #: The registrable domain of every host in the host graph.
    host_domains: dict[str, str] = field(default_factory=dict)
    #: Live link documents read.
    scanned: int = 0
    #: Of those, internal links (same domain) and documents missing a field.
    internal: int = 0
    malformed: int = 0


def load_graphs(
    db: Database[dict[str, Any]],
    *,
    levels: Collection[str] = LEVELS,
    batch_size: int = 10_000,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> LoadedGraphs:
    """Scan the live links of ``db`` once and build the graph of each level;
    ``progress(stage, done, total)`` hears of every ``batch_size`` links read
    (the total only at the end: the live ones are not counted ahead)."""
    unknown = set(levels) - set(LEVELS)
    if unknown or not levels:
        raise ValueError(f"expected levels among {LEVELS}, got {sorted(levels)}")
    hosts = EdgeCollector() if "host" in levels else None
    domains = EdgeCollector() if "domain" in levels else None
    host_domains: dict[str, str] = {}
    result = LoadedGraphs({})
    cursor = db[LINKS].find(LIVE, PROJECTION, batch_size=batch_size)
    for doc in cursor:
        result.scanned += 1
        if progress is not None and result.scanned % batch_size == 0:
            progress("reading live links", result.scanned, None)
        try:
            src_host, dst_host = doc["src_host"], doc["dst_host"]
            src_domain, dst_domain = doc["src_domain"], doc["dst_domain"]
        except KeyError:
            result.malformed += 1
            continue
        if src_domain == dst_domain:
            result.internal += 1
            continue
        nofollow = bool(doc.get("nofollow", False))
        if hosts is not None:
            hosts.add(src_host, dst_host, nofollow)
            host_domains.setdefault(src_host, src_domain)
            host_domains.setdefault(dst_host, dst_domain)
        if domains is not None:
            domains.add(src_domain, dst_domain, nofollow)
    if progress is not None:
        progress("reading live links", result.scanned, result.scanned)
    if hosts is not None:
        result.graphs["host"] = hosts.graph()
        result.host_domains = host_domains
    if domains is not None:
        result.graphs["domain"] = domains.graph()
    return result

"""Collections, indexes, and the derived fields of the backlink graph.

The documents are described for downstream readers in ``docs/SCHEMA.md``;
this module is the single place that creates the indexes those readers and
the CLI's queries rely on.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import OperationFailure

if TYPE_CHECKING:
    from pymongo.database import Database

    from backlinkbot.items import Edge

__all__ = [
    "DOMAINS",
    "EDGE_FIELDS",
    "HOSTS",
    "INDEXES",
    "LINKS",
    "LOST_REASONS",
    "PAGES",
    "edge_document",
    "ensure_indexes",
    "link_fingerprint",
    "link_id",
    "second",
    "sparse_range",
]

LINKS, PAGES, DOMAINS, HOSTS = "links", "pages", "domains", "hosts"

#: Attributes of an edge that come from the page (everything but the times).
EDGE_FIELDS = (
    "src", "dst", "src_host", "dst_host", "src_domain", "dst_domain",
    "anchor", "alt", "image", "kind", "nofollow", "ugc", "sponsored", "section",
)  # fmt: skip

#: Values of ``links.lost_reason`` (docs/SCHEMA.md, "Lost links").
LOST_REASONS = (
    "removed", "page_gone", "page_redirected", "page_error", "noindex", "canonicalized",
)  # fmt: skip

INDEXES: dict[str, list[IndexModel]] = {
    LINKS: [
        # Backlinks of a URL / host / domain: live ones (`lost_at: null`)
        # newest first, lost ones by `lost_at` range, new ones by `first_seen`.
        IndexModel(
            [("dst", ASCENDING), ("lost_at", ASCENDING), ("first_seen", DESCENDING)],
            name="dst_time",
        ),
        IndexModel(
            [("dst_host", ASCENDING), ("lost_at", ASCENDING), ("first_seen", DESCENDING)],
            name="dst_host_time",
        ),
        IndexModel(
            [("dst_domain", ASCENDING), ("lost_at", ASCENDING), ("first_seen", DESCENDING)],
            name="dst_domain_time",
        ),
        # Referring domains, one link per domain, per-domain counts.
        IndexModel(
            [("dst_domain", ASCENDING), ("lost_at", ASCENDING), ("src_domain", ASCENDING)],
            name="dst_domain_live",
        ),
        # Outlinks of a page; also what the writer reads to diff a recrawl.
        IndexModel([("src", ASCENDING)], name="src"),
        # Lost links, newest first.
        IndexModel([("lost_at", DESCENDING)], name="lost_at", sparse=True),
    ],
    PAGES: [
        IndexModel([("host", ASCENDING)], name="host"),
        IndexModel([("domain", ASCENDING)], name="domain"),
        # Recrawl selection: pages not fetched since T, oldest first.
        IndexModel([("fetched_at", ASCENDING)], name="fetched_at"),
        # Pages waiting for the refetch that confirms (or refutes) a loss.
        IndexModel([("unconfirmed_since", ASCENDING)], name="unconfirmed_since", sparse=True),
    ],
    DOMAINS: [
        IndexModel([("backlinks", DESCENDING)], name="backlinks"),
        # A domain's PageRank position (the explorer's overview).
        IndexModel([("pagerank", DESCENDING)], name="pagerank"),
    ],
    # Written by `backlinkbot rank`: a host's PageRank position.
    HOSTS: [
        IndexModel([("pagerank", DESCENDING)], name="pagerank"),
    ],
}

#: Indexes of earlier versions that a current index makes redundant.
SUPERSEDED = {LINKS: ("dst_live", "dst_host_live")}


def ensure_indexes(db: Database[dict[str, Any]]) -> None:
    """Create every index (idempotent; safe to call from each worker)."""
    for collection, models in INDEXES.items():
        db[collection].create_indexes(models)
    for collection, names in SUPERSEDED.items():
        for name in names:
            # Not there (the usual case), or dropped by another worker.
            with contextlib.suppress(OperationFailure):
                db[collection].drop_index(name)


def sparse_range(field: str, bounds: dict[str, Any]) -> dict[str, Any]:
    """The filter of a range (``{"$gte": start}``) of ``field``, which a
    sparse index holds, in the form that reads that index on either server.
    ``$exists`` adds nothing to a range for MongoDB; the embedded stand-in
    compares dates through SQLite's ``datetime()``, which no index holds,
    and without it reads every document (docs/SCHEMA.md)."""
    return {field: {"$exists": True, **bounds}}


def link_id(src: str, dst: str) -> str:
    """The ``_id`` of the edge (src, dst): stable, so writes are idempotent."""
    return hashlib.sha1(f"{src}\n{dst}".encode()).hexdigest()[:32]


def link_fingerprint(edges: Iterable[Edge], ip: str | None = None) -> str:
    """Fingerprint of a page's stored link set, attributes and ``src_ip``
    included.

    A recrawl whose fingerprint equals the stored one changed nothing but
    ``last_seen``, which one ``update_many`` refreshes.
    """
    digest = hashlib.sha1()
    for row in sorted(tuple(str(getattr(e, f)) for f in EDGE_FIELDS) for e in edges):
        digest.update("\x1f".join(row).encode("utf-8", "surrogatepass"))
        digest.update(b"\x1e")
    if ip:
        digest.update(f"ip={ip}".encode())
    return digest.hexdigest()[:32]


def second(moment: datetime) -> datetime:
    """Link times have one-second resolution: pages fetched in the same
    second share one ``last_seen`` refresh."""
    return moment.replace(microsecond=0)


def edge_attributes(edge: Edge, src_ip: str | None) -> dict[str, Any]:
    """The fields of a link document that come from the fetch of its page."""
    attrs: dict[str, Any] = {f: getattr(edge, f) for f in EDGE_FIELDS}
    attrs["src_ip"] = src_ip
    return attrs


def edge_document(edge: Edge, seen: datetime, src_ip: str | None = None) -> dict[str, Any]:
    doc = edge_attributes(edge, src_ip)
    doc["_id"] = link_id(edge.src, edge.dst)
    doc["first_seen"] = seen
    doc["last_seen"] = seen
    return doc

"""Write scores to ``hosts`` and ``domains`` with bulk unordered upserts.

One ``UpdateOne(..., upsert=True)`` per node that ``$set``s only the ranking
fields: ``domains`` documents also carry the sink's backlink counters, which
must survive a ranking run, so documents are never replaced. Writes are
idempotent: replaying a run leaves the same documents. The number of writes
is the number of nodes, never the number of links.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import UpdateOne

from backlinkbot.storage.schema import DOMAINS

from .scores import Scores

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["COLLECTIONS", "FIELDS", "HOSTS", "ranking_documents", "write_scores"]

HOSTS = "hosts"
#: Where each level's scores go.
COLLECTIONS = {"host": HOSTS, "domain": DOMAINS}
#: The fields a ranking run sets (besides the node's own name).
FIELDS = ("rating", "pagerank", "harmonic", "pagerank_all", "harmonic_all", "ranked_at")


def ranking_documents(
    level: str,
    scores: Scores,
    *,
    ranked_at: datetime,
    host_domains: Mapping[str, str] | None = None,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(_id, fields to $set)`` for every node of ``scores``."""
    if level not in COLLECTIONS:
        raise ValueError(f"expected a level among {sorted(COLLECTIONS)}, got {level!r}")
    # .tolist() turns numpy floats into Python floats, which BSON encodes.
    columns = (
        scores.rating.tolist(),
        scores.pagerank.scores.tolist(),
        scores.harmonic.scores.tolist(),
        scores.pagerank_all.scores.tolist(),
        scores.harmonic_all.scores.tolist(),
    )
    for label, rating, rank, central, rank_all, central_all in zip(
        scores.graph.labels, *columns, strict=True
    ):
        fields: dict[str, Any] = {
            level: label,
            "rating": rating,
            "pagerank": rank,
            "harmonic": central,
            "pagerank_all": rank_all,
            "harmonic_all": central_all,
            "ranked_at": ranked_at,
        }
        if host_domains is not None and label in host_domains:
            fields["domain"] = host_domains[label]
        yield label, fields


def write_scores(
    db: Database[dict[str, Any]],
    level: str,
    scores: Scores,
    *,
    ranked_at: datetime,
    host_domains: Mapping[str, str] | None = None,
    batch_size: int = 1000,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> int:
    """Upsert the scores of one level; returns the number of documents
    written (each batch told to ``progress``)."""
    if batch_size < 1:
        raise ValueError(f"expected batch_size >= 1, got {batch_size}")
    documents = ranking_documents(level, scores, ranked_at=ranked_at, host_domains=host_domains)
    stage, total = f"writing {level} scores", scores.graph.nodes

    def written(count: int) -> None:
        if progress is not None:
            progress(stage, count, total)

    collection = db[COLLECTIONS[level]]
    count = set_in_batches(collection, documents, batch_size=batch_size, on_batch=written)
    if progress is not None:
        progress(stage, count, count)
    return count


def set_in_batches(
    collection: Any,
    documents: Iterable[tuple[str, dict[str, Any]]],
    *,
    batch_size: int,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """``$set`` each ``(_id, fields)`` (upserting), in unordered bulk writes
    of ``batch_size``; only our fields change, counters of the crawl stay."""
    written = 0
    batch: list[UpdateOne] = []
    for _id, fields in documents:
        batch.append(UpdateOne({"_id": _id}, {"$set": fields}, upsert=True))
        if len(batch) >= batch_size:
            collection.bulk_write(batch, ordered=False)
            written += len(batch)
            batch = []
            if on_batch is not None:
                on_batch(written)
    if batch:
        collection.bulk_write(batch, ordered=False)
        written += len(batch)
    return written

"""Per-domain backlink counts in ``domains``.

For each registrable domain that links were added to or lost from, count its
live backlinks (all and dofollow), referring domains and referring hosts from
``links`` (one indexed, projected read per batch of domains) and set them on
its ``domains`` document. Ranking adds its own fields to the same documents.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pymongo import UpdateOne

from .schema import DOMAINS, LINKS

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["count_domains", "recount_domains"]


def count_domains(
    db: Database[dict[str, Any]], domains: Iterable[str]
) -> dict[str, dict[str, int]]:
    wanted = sorted(set(domains))
    counts: dict[str, dict[str, Any]] = {
        d: {"backlinks": 0, "dofollow": 0, "ref_domains": set(), "ref_hosts": set()}
        for d in wanted
    }
    cursor = db[LINKS].find(
        {"dst_domain": {"$in": wanted}, "lost_at": None},
        {"_id": 0, "dst_domain": 1, "src_domain": 1, "src_host": 1, "nofollow": 1},
    )
    for doc in cursor:
        row = counts[doc["dst_domain"]]
        row["backlinks"] += 1
        row["dofollow"] += 0 if doc.get("nofollow") else 1
        row["ref_domains"].add(doc["src_domain"])
        row["ref_hosts"].add(doc["src_host"])
    return {
        d: {
            "backlinks": row["backlinks"],
            "backlinks_dofollow": row["dofollow"],
            "backlinks_nofollow": row["backlinks"] - row["dofollow"],
            "referring_domains": len(row["ref_domains"]),
            "referring_hosts": len(row["ref_hosts"]),
        }
        for d, row in counts.items()
    }


def recount_domains(db: Database[dict[str, Any]], domains: Iterable[str]) -> int:
    """Recount and store; returns how many domain documents were written."""
    counts = count_domains(db, domains)
    if not counts:
        return 0
    now = datetime.now(UTC)
    ops = [
        UpdateOne({"_id": d}, {"$set": {"domain": d, **c, "counted_at": now}}, upsert=True)
        for d, c in counts.items()
    ]
    db[DOMAINS].bulk_write(ops, ordered=False)
    return len(ops)

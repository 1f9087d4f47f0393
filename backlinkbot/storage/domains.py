"""Per-domain backlink counts in ``domains``.

For each registrable domain whose links changed, count its live backlinks
(dofollow / nofollow), referring domains, hosts, IPs, /24 subnets and recent
new and lost links from ``links`` with indexed ``$group`` aggregations, one
document per domain back (one domain at a time where the server refuses a
group over 16 MB). Domains too big for the sink are left to
:func:`recount_all` (``python -m backlinkbot.storage.domains``), one pass
over ``links`` by target domain. docs/GRAPH_OVER_TIME.md ("Per-domain
counts") has the details.
"""

from __future__ import annotations

import argparse
import functools
import ipaddress
import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pymongo import UpdateOne
from pymongo.errors import OperationFailure

from .schema import DOMAINS, LINKS, sparse_range

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = ["count_domains", "loss_probe", "recount_all", "recount_domains", "subnet"]

logger = logging.getLogger(__name__)

#: The windows of the new/lost counts, in days.
WINDOWS = (7, 30)
#: Domains recounted per read of their links.
RECOUNT_CHUNK = 500
_PROJECTION = {
    "_id": 0, "dst_domain": 1, "src_domain": 1, "src_host": 1, "src_ip": 1,
    "nofollow": 1, "first_seen": 1, "lost_at": 1,
}  # fmt: skip


@functools.lru_cache(maxsize=65536)
def subnet(ip: str | None) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) network of an address, or None. Cached:
    a recount meets each referring IP once per link.

    >>> subnet("192.0.2.77"), subnet("2001:db8:1:2::1"), subnet("bogus")
    ('192.0.2.0/24', '2001:db8:1::/48', None)
    """
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _empty() -> dict[str, Any]:
    return {
        "backlinks": 0, "dofollow": 0, "ref_domains": set(), "ref_hosts": set(),
        "ref_ips": set(), "ref_subnets": set(), "new_7d": 0, "new_30d": 0,
        "lost_7d": 0, "lost_30d": 0,
    }  # fmt: skip


def count_domains(
    db: Database[dict[str, Any]], domains: Iterable[str], *, now: datetime | None = None
) -> dict[str, dict[str, int]]:
    """The counts of ``domains``. Their live links are read sorted by domain,
    so only one domain's distinct referrers are held at a time."""
    now = now or datetime.now(UTC)
    since = {days: now - timedelta(days=days) for days in WINDOWS}
    wanted = sorted(set(domains))
    query = {"dst_domain": {"$in": wanted}}
    lost = _recent_losses(db, since, query)
    counts = {d: _finish(_empty()) for d in wanted}
    try:
        counts.update(_grouped_live(db, query, since))
    except OperationFailure as exc:
        # A group over the server's document or memory limit: count from
        # the links, holding one domain's referrers at a time.
        logger.info("Counting %d domain(s) from their links: the server refused to group"
                    " them (%s)", len(wanted), exc.code)  # fmt: skip
        for domain, docs in _live_by_domain(db, query):
            counts[domain] = _count_live(docs, since)
    for domain, extra in lost.items():
        for key, value in extra.items():
            counts[domain][key] += value
    return counts


#: One document per target domain: its live links' count, distinct
#: referrers, first-seen times and nofollow flags (pushed and counted here:
#: ``$cond`` inside ``$group`` is one of the things nx-27017 gets wrong, and
#: a second group of the nofollow links read every link again).
_GROUP_LIVE = {
    "_id": "$dst_domain",
    "backlinks": {"$sum": 1},
    "ref_domains": {"$addToSet": "$src_domain"},
    "ref_hosts": {"$addToSet": "$src_host"},
    "ref_ips": {"$addToSet": "$src_ip"},
    "first_seen": {"$push": "$first_seen"},
    "nofollow": {"$push": "$nofollow"},
}


def _grouped_live(
    db: Database[dict[str, Any]], query: dict[str, Any], since: dict[int, datetime]
) -> dict[str, dict[str, int]]:
    """The live-link counts of the domains ``query`` selects, grouped by the
    server; as :func:`_count_live` counts them from the links."""
    live = {**query, "lost_at": None}
    counts = {}
    for group in db[LINKS].aggregate(
        [{"$match": live}, {"$group": _GROUP_LIVE}], allowDiskUse=True
    ):
        ips = {ip for ip in group["ref_ips"] if ip}
        row = _empty()
        # True, or 1 from nx-27017, which returns pushed booleans as numbers.
        nofollow = sum(1 for flag in group["nofollow"] if flag)
        row.update(
            backlinks=group["backlinks"],
            dofollow=group["backlinks"] - nofollow,
            ref_domains=set(group["ref_domains"]),
            ref_hosts=set(group["ref_hosts"]),
            ref_ips=ips,
            ref_subnets={subnet(ip) for ip in ips},
        )
        for first in group["first_seen"]:
            _count_new(row, first, since)
        counts[group["_id"]] = _finish(row)
    return counts


def loss_probe(start: datetime) -> dict[str, Any]:
    """The filter of links lost at ``start`` or later, for a probe of the
    sparse ``lost_at`` index alone (on the embedded stand-in a plain range
    read every link: 0.09 s for 50,000)."""
    return sparse_range("lost_at", {"$gte": start})


def _recent_losses(
    db: Database[dict[str, Any]], since: dict[int, datetime], query: dict[str, Any]
) -> dict[str, dict[str, int]]:
    """Per target domain, the new/lost counts of its links lost in the last
    30 days (new too: a link found and lost in a window is new in it)."""
    lost: dict[str, dict[str, int]] = {}
    recently_lost = {"lost_at": {"$gte": since[30]}}
    # One probe of the sparse `lost_at` index: a graph that lost nothing
    # lately (every first crawl) needs no per-domain read.
    if db[LINKS].find_one(loss_probe(since[30]), {"_id": 1}) is None:
        return lost
    cursor = db[LINKS].find({**query, **recently_lost}, _PROJECTION)
    for doc in cursor.batch_size(5000):
        recent = lost.setdefault(doc["dst_domain"], {"new_7d": 0, "new_30d": 0, "lost_7d": 0,
                                                  "lost_30d": 0})  # fmt: skip
        _count_new(recent, doc.get("first_seen"), since)
        for days, start in since.items():
            if doc["lost_at"] >= start:
                recent[f"lost_{days}d"] += 1
    return lost


def _count_live(docs: list[dict[str, Any]], since: dict[int, datetime]) -> dict[str, int]:
    row = _empty()
    for doc in docs:
        _add_live(row, doc, since)
    return _finish(row)


def _add_live(row: dict[str, Any], doc: dict[str, Any], since: dict[int, datetime]) -> None:
    """Count one live link into its target domain's row."""
    row["backlinks"] += 1
    row["dofollow"] += 0 if doc.get("nofollow") else 1
    row["ref_domains"].add(doc["src_domain"])
    row["ref_hosts"].add(doc["src_host"])
    if doc.get("src_ip"):
        row["ref_ips"].add(doc["src_ip"])
        row["ref_subnets"].add(subnet(doc["src_ip"]))
    _count_new(row, doc.get("first_seen"), since)


def _count_new(row: dict[str, Any], first: datetime | None, since: dict[int, datetime]) -> None:
    """Count a link first seen at ``first`` into the row's new links."""
    if first is None:
        return
    for days, start in since.items():
        if first >= start:
            row[f"new_{days}d"] += 1


def _finish(row: dict[str, Any]) -> dict[str, int]:
    return {
        "backlinks": row["backlinks"],
        "backlinks_dofollow": row["dofollow"],
        "backlinks_nofollow": row["backlinks"] - row["dofollow"],
        "referring_domains": len(row["ref_domains"]),
        "referring_hosts": len(row["ref_hosts"]),
        "referring_ips": len(row["ref_ips"]),
        "referring_subnets": len(row["ref_subnets"] - {None}),
        **{f"{k}_{days}d": row[f"{k}_{days}d"] for k in ("new", "lost") for days in WINDOWS},
    }


def _store(db: Database[dict[str, Any]], counts: dict[str, dict[str, int]], now: datetime) -> int:
    if not counts:
        return 0
    ops = [
        UpdateOne({"_id": d}, {"$set": {"domain": d, **c, "counted_at": now}}, upsert=True)
        for d, c in counts.items()
    ]
    db[DOMAINS].bulk_write(ops, ordered=False)
    return len(ops)


def recount_domains(
    db: Database[dict[str, Any]],
    domains: Iterable[str],
    *,
    now: datetime | None = None,
    max_links: int = 0,
) -> int:
    """Recount and store; returns how many domain documents were written.
    With ``max_links``, domains last counted with more live backlinks than
    that are left to :func:`recount_all`."""
    now = now or datetime.now(UTC)
    wanted = sorted(set(domains))
    written = 0
    # A bounded number of domains per read (count_domains holds the distinct
    # referrers of one domain at a time).
    for start in range(0, len(wanted), RECOUNT_CHUNK):
        chunk = set(wanted[start : start + RECOUNT_CHUNK])
        if max_links:
            big = db[DOMAINS].find(
                {"_id": {"$in": sorted(chunk)}, "backlinks": {"$gt": max_links}}, {"_id": 1}
            )
            chunk -= {d["_id"] for d in big}
        written += _store(db, count_domains(db, chunk, now=now), now)
    return written


def _live_by_domain(
    db: Database[dict[str, Any]], query: dict[str, Any] | None = None
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The live links (matching ``query``), one target domain at a time."""
    cursor = (
        db[LINKS]
        .find({**(query or {}), "lost_at": None}, _PROJECTION)
        .sort([("dst_domain", 1), ("lost_at", 1), ("src_domain", 1)])
        .batch_size(5000)
    )
    domain: str | None = None
    docs: list[dict[str, Any]] = []
    for doc in cursor:
        if doc["dst_domain"] != domain:
            if domain is not None:
                yield domain, docs
            domain, docs = doc["dst_domain"], []
        docs.append(doc)
    if domain is not None:
        yield domain, docs


def recount_all(
    db: Database[dict[str, Any]], *, now: datetime | None = None, chunk: int = 1000
) -> int:
    """The batch job: recount every domain that has links; returns how many
    domain documents were written."""
    now = now or datetime.now(UTC)
    since = {days: now - timedelta(days=days) for days in WINDOWS}
    lost = _recent_losses(db, since, {})
    written = 0
    pending: dict[str, dict[str, int]] = {}
    for domain, docs in _live_by_domain(db):
        counts = _count_live(docs, since)
        for key, value in lost.pop(domain, {}).items():
            counts[key] += value
        pending[domain] = counts
        if len(pending) >= chunk:
            written += _store(db, pending, now)
            pending = {}
    for domain, extra in lost.items():  # domains whose every recent link is lost
        counts = _finish(_empty())
        for key, value in extra.items():
            counts[key] += value
        pending[domain] = counts
    return written + _store(db, pending, now)


def main(argv: list[str] | None = None) -> int:
    """``python -m backlinkbot.storage.domains``: recount every domain."""
    parser = argparse.ArgumentParser(description="Recount the backlinks of every domain.")
    parser.parse_args(argv)
    from backlinkbot.services import open_database, running_services

    with running_services(announce=True):
        db = open_database()
        try:
            start = time.perf_counter()
            written = recount_all(db)
            print(f"recounted {written} domains in {time.perf_counter() - start:.1f} s "
                  f"(database {os.environ.get('MONGODB_DATABASE') or 'backlinkbot'})")  # fmt: skip
        finally:
            db.client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The questions asked of the backlink graph, each served by an index.

``docs/SCHEMA.md`` lists every query here with the index that serves it.
Link listings are generators over one cursor (the server hands them out a
batch at a time), so any number of links streams in constant memory;
per-domain and per-anchor summaries hold one row per referring domain or
distinct anchor.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from backlinkbot.domains import registrable_domain
from backlinkbot.urlnorm import InvalidURL, normalize_url, url_host

from .schema import DOMAINS, LINKS

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pymongo.database import Database

__all__ = [
    "Target",
    "anchors",
    "backlinks",
    "link_filter",
    "lost_links",
    "new_links",
    "one_per_domain",
    "parse_target",
    "referring_domains",
]

#: Which field of ``links`` a target of each kind is matched on.
_FIELD = {"url": "dst", "host": "dst_host", "domain": "dst_domain"}
#: Documents handed out per round trip.
BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class Target:
    kind: str  # "url", "host" or "domain"
    value: str

    @property
    def field(self) -> str:
        return _FIELD[self.kind]


def parse_target(text: str, *, kind: str | None = None) -> Target:
    """A URL (has a scheme), a domain (its own registrable domain) or a host.

    >>> parse_target("HTTP://Example.com/a#x")
    Target(kind='url', value='http://example.com/a')
    >>> parse_target("www.example.co.uk"), parse_target("example.co.uk").kind
    (Target(kind='host', value='www.example.co.uk'), 'domain')
    """
    text = text.strip()
    if kind == "url" or (kind is None and "://" in text):
        return Target("url", normalize_url(text))
    try:
        host = url_host(normalize_url(f"http://{text}/"))
    except InvalidURL as exc:
        raise ValueError(f"not a URL, host or domain: {text!r}") from exc
    if kind is None:
        kind = "domain" if registrable_domain(host) == host else "host"
    if kind == "domain":
        host = registrable_domain(host)
    return Target(kind, host)


def link_filter(
    target: Target,
    *,
    live: bool = True,
    lost_since: datetime | None = None,
    new_since: datetime | None = None,
    dofollow: bool = False,
) -> dict[str, Any]:
    """The ``links`` filter of a listing (see docs/SCHEMA.md for indexes)."""
    query: dict[str, Any] = {target.field: target.value}
    if lost_since is not None:
        query["lost_at"] = {"$gte": lost_since}
    elif live:
        query["lost_at"] = None
    if new_since is not None:
        query["first_seen"] = {"$gte": new_since}
    if dofollow:
        query["nofollow"] = False
    return query


def _limited(cursor: Any, limit: int) -> Iterator[dict[str, Any]]:
    cursor = cursor.batch_size(BATCH_SIZE)
    if limit:
        cursor = cursor.limit(limit)
    yield from cursor


def backlinks(
    db: Database[dict[str, Any]], target: Target, *, limit: int = 0, dofollow: bool = False
) -> Iterator[dict[str, Any]]:
    """Live backlinks of the target, newest first (streamed)."""
    cursor = (
        db[LINKS]
        .find(link_filter(target, dofollow=dofollow), {"_id": 0})
        .sort([("first_seen", -1), ("src", 1)])
    )
    yield from _limited(cursor, limit)


def lost_links(
    db: Database[dict[str, Any]],
    target: Target,
    *,
    since: datetime,
    limit: int = 0,
    dofollow: bool = False,
) -> Iterator[dict[str, Any]]:
    """Links to the target lost since ``since``, most recently lost first."""
    query = link_filter(target, lost_since=since, dofollow=dofollow)
    cursor = db[LINKS].find(query, {"_id": 0}).sort([("lost_at", -1), ("src", 1)])
    yield from _limited(cursor, limit)


def new_links(
    db: Database[dict[str, Any]],
    target: Target,
    *,
    since: datetime,
    limit: int = 0,
    dofollow: bool = False,
) -> Iterator[dict[str, Any]]:
    """Links to the target first seen since ``since`` (live or lost since),
    newest first."""
    query = link_filter(target, live=False, new_since=since, dofollow=dofollow)
    cursor = db[LINKS].find(query, {"_id": 0}).sort([("first_seen", -1), ("src", 1)])
    yield from _limited(cursor, limit)


def referring_domains(
    db: Database[dict[str, Any]], target: Target, *, dofollow: bool = False
) -> list[dict[str, Any]]:
    """Referring domains of the target with their live link counts and
    rating (when ranked), most links first."""
    links: Counter[str] = Counter()
    follow: Counter[str] = Counter()
    cursor = db[LINKS].find(
        link_filter(target, dofollow=dofollow), {"_id": 0, "src_domain": 1, "nofollow": 1}
    )
    for doc in cursor.batch_size(BATCH_SIZE):
        links[doc["src_domain"]] += 1
        if not doc.get("nofollow"):
            follow[doc["src_domain"]] += 1
    ratings: dict[str, Any] = {}
    names = list(links)
    for start in range(0, len(names), BATCH_SIZE):
        chunk = names[start : start + BATCH_SIZE]
        for d in db[DOMAINS].find({"_id": {"$in": chunk}}, {"rating": 1}):
            ratings[d["_id"]] = d.get("rating")
    rows: list[dict[str, Any]] = [
        {"domain": d, "links": n, "dofollow": follow[d], "rating": ratings.get(d)}
        for d, n in links.items()
    ]
    rows.sort(key=lambda r: (-r["links"], r["domain"]))
    return rows


def anchors(
    db: Database[dict[str, Any]], target: Target, *, dofollow: bool = False
) -> list[dict[str, Any]]:
    """Anchor-text distribution of the live backlinks: per anchor, its
    links, dofollow links and referring domains, most used first. Image
    links count under their ``alt`` text, as ``[img] alt``."""
    links: Counter[str] = Counter()
    follow: Counter[str] = Counter()
    domains: defaultdict[str, set[str]] = defaultdict(set)
    projection = {"_id": 0, "anchor": 1, "alt": 1, "image": 1, "nofollow": 1, "src_domain": 1}
    cursor = db[LINKS].find(link_filter(target, dofollow=dofollow), projection)
    for doc in cursor.batch_size(BATCH_SIZE):
        text = doc.get("anchor") or ""
        if not text and doc.get("image"):
            text = f"[img] {doc.get('alt') or ''}".rstrip()
        links[text] += 1
        follow[text] += 0 if doc.get("nofollow") else 1
        domains[text].add(doc["src_domain"])
    total = sum(links.values()) or 1
    rows: list[dict[str, Any]] = [
        {"anchor": a, "links": n, "dofollow": follow[a], "referring_domains": len(domains[a]),
         "share": round(n / total, 4)}
        for a, n in links.items()
    ]  # fmt: skip
    rows.sort(key=lambda r: (-r["links"], r["anchor"]))
    return rows


def _rank(doc: dict[str, Any]) -> tuple[Any, ...]:
    """Smaller is better: dofollow, not sponsored/ugc, a text link in the
    main content, then the oldest (first_seen), then by source URL."""
    return (
        bool(doc.get("nofollow")),
        bool(doc.get("sponsored") or doc.get("ugc")),
        doc.get("kind") != "a",
        bool(doc.get("image")),
        doc.get("section") not in ("main", "body"),
        doc.get("first_seen"),
        doc.get("src"),
    )


def one_per_domain(
    db: Database[dict[str, Any]], target: Target, *, limit: int = 0, dofollow: bool = False
) -> Iterator[dict[str, Any]]:
    """The best live link (:func:`_rank`) from each referring domain, by
    referring domain name (streamed: the cursor is sorted by ``src_domain``,
    which ``dst_domain_live`` serves for domain targets)."""
    cursor = (
        db[LINKS]
        .find(link_filter(target, dofollow=dofollow), {"_id": 0})
        .sort([("src_domain", 1)])
        .batch_size(BATCH_SIZE)
    )
    best: dict[str, Any] | None = None
    emitted = 0
    for doc in cursor:
        if best is not None and doc["src_domain"] != best["src_domain"]:
            yield best
            emitted += 1
            if limit and emitted >= limit:
                return
            best = None
        if best is None or _rank(doc) < _rank(best):
            best = doc
    if best is not None:
        yield best

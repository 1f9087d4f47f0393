"""The questions asked of the backlink graph, each served by an index.

``docs/SCHEMA.md`` lists every query here with the index that serves it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from backlinkbot.domains import registrable_domain
from backlinkbot.urlnorm import InvalidURL, normalize_url, url_host

from .schema import DOMAINS, LINKS

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pymongo.database import Database

__all__ = ["Target", "backlinks", "parse_target", "referring_domains"]

#: Which field of ``links`` a target of each kind is matched on.
_FIELD = {"url": "dst", "host": "dst_host", "domain": "dst_domain"}


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


def backlinks(
    db: Database[dict[str, Any]], target: Target, *, limit: int = 0
) -> Iterator[dict[str, Any]]:
    """Live backlinks of the target, newest first (streamed)."""
    cursor = (
        db[LINKS]
        .find({target.field: target.value, "lost_at": None}, {"_id": 0})
        .sort([("first_seen", -1), ("src", 1)])
    )
    if limit:
        cursor = cursor.limit(limit)
    yield from cursor


def referring_domains(db: Database[dict[str, Any]], target: Target) -> list[dict[str, Any]]:
    """Referring domains of the target with their live link counts and
    rating (when ranked), most links first."""
    links: Counter[str] = Counter()
    dofollow: Counter[str] = Counter()
    cursor = db[LINKS].find(
        {target.field: target.value, "lost_at": None}, {"_id": 0, "src_domain": 1, "nofollow": 1}
    )
    for doc in cursor:
        links[doc["src_domain"]] += 1
        if not doc.get("nofollow"):
            dofollow[doc["src_domain"]] += 1
    ratings = {
        d["_id"]: d.get("rating")
        for d in db[DOMAINS].find({"_id": {"$in": list(links)}}, {"rating": 1})
    }
    rows = [
        {"domain": d, "links": n, "dofollow": dofollow[d], "rating": ratings.get(d)}
        for d, n in links.items()
    ]
    rows.sort(key=lambda r: (-r["links"], r["domain"]))
    return rows

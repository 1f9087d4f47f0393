"""The questions asked of the backlink graph, each served by an index.

One layer for every reader: ``backlinkbot backlinks`` and the explorer's API
(:mod:`backlinkbot.explorer`) ask the same :class:`Graph`, so they give the
same answers. ``docs/SCHEMA.md`` lists every query here with the index that
serves it.

Every read is an aggregation whose first stage is a ``$match`` on an index
prefix (on the embedded stand-in a ``find`` on a field reads the whole
collection; its aggregation ``$match`` uses the index), and carries
``maxTimeMS`` when the graph has a time limit. A date bound is sent as
``$gte`` and checked again on the rows, newest first: the stand-in compares
dates in a ``$match`` as text and lets every date through (docs/SCHEMA.md).
Link listings are generators over one cursor (the server hands them out a
batch at a time); summaries hold one row per referring domain, anchor, page.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from backlinkbot.domains import registrable_domain
from backlinkbot.urlnorm import InvalidURL, normalize_url, url_host

from .domains import subnet
from .schema import DOMAINS, HOSTS, LINKS, PAGES

if TYPE_CHECKING:
    from pymongo.database import Database

__all__ = [
    "COUNT_FIELDS",
    "LINK_COLUMNS",
    "LINK_STATUSES",
    "Graph",
    "Target",
    "anchor_text",
    "link_filter",
    "parse_since",
    "parse_target",
]

#: Which field of ``links`` a target of each kind is matched on.
_FIELD = {"url": "dst", "host": "dst_host", "domain": "dst_domain"}
#: Where a target's own pages are (``pages``) by kind.
_PAGE_FIELD = {"url": "_id", "host": "host", "domain": "domain"}
#: Documents handed out per round trip.
BATCH_SIZE = 1000
#: Domains looked up per ``$in`` (ratings).
LOOKUP_CHUNK = 1000
#: Columns of a link row (CSV output; JSON rows carry the fields present).
LINK_COLUMNS = (
    "src", "dst", "anchor", "alt", "image", "kind", "nofollow", "ugc", "sponsored", "section",
    "src_domain", "src_ip", "first_seen", "last_seen", "lost_at", "lost_reason",
    "unconfirmed_since", "restored",
)  # fmt: skip
#: What a link listing holds: live links, links lost since, links first seen
#: since (live or lost since).
LINK_STATUSES = ("live", "lost", "new")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: How far back ``new`` links go without a ``since``.
NEW_WINDOW = timedelta(days=30)
#: The windows of the overview's new / lost counts, in days.
WINDOWS = (7, 30)
#: The counts of a ``domains`` document (docs/SCHEMA.md), also made for
#: hosts and URLs.
COUNT_FIELDS = (
    "backlinks", "backlinks_dofollow", "backlinks_nofollow", "referring_domains",
    "referring_hosts", "referring_ips", "referring_subnets",
    *(f"{k}_{days}d" for k in ("new", "lost") for days in WINDOWS),
)  # fmt: skip


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


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """An ISO date or time (UTC unless it says otherwise), or ``Nd`` days ago.

    >>> parse_since("2026-01-31")
    datetime.datetime(2026, 1, 31, 0, 0, tzinfo=datetime.timezone.utc)
    """
    text = text.strip()
    if text.endswith("d") and text[:-1].isdigit():
        return (now or datetime.now(UTC)) - timedelta(days=int(text[:-1]))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected a date such as 2026-01-31 or 30d, got {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def link_filter(
    target: Target,
    *,
    live: bool = True,
    lost_since: datetime | None = None,
    new_since: datetime | None = None,
    dofollow: bool = False,
    kind: str | None = None,
    section: str | None = None,
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
    if kind is not None:
        query["kind"] = kind
    if section is not None:
        query["section"] = section
    return query


def _link_row(doc: dict[str, Any]) -> dict[str, Any]:
    doc.pop("_id", None)
    return doc


def anchor_text(link: dict[str, Any]) -> str:
    """What a link says: its anchor, or ``[img] alt`` for an image link."""
    text = link.get("anchor") or ""
    if not text and link.get("image"):
        text = f"[img] {link.get('alt') or ''}".rstrip()
    return text


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


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _truthy(flags: Iterable[Any]) -> int:
    # True, or 1 from nx-27017, which returns pushed booleans as numbers.
    return sum(1 for flag in flags if flag)


class Graph:
    """The backlink graph in one database; ``max_time_ms`` (0: none) limits
    every query the server runs for it."""

    def __init__(self, db: Database[dict[str, Any]], *, max_time_ms: int = 0) -> None:
        self.db = db
        self.max_time_ms = max_time_ms

    # -- plumbing ---------------------------------------------------------

    def _aggregate(self, collection: str, pipeline: list[dict[str, Any]]) -> Iterator[Any]:
        options: dict[str, Any] = {"batchSize": BATCH_SIZE, "allowDiskUse": True}
        if self.max_time_ms:
            options["maxTimeMS"] = self.max_time_ms
        cursor = self.db[collection].aggregate(pipeline, **options)
        with cursor:
            yield from cursor

    def _one(self, collection: str, match: dict[str, Any]) -> dict[str, Any] | None:
        return next(self._aggregate(collection, [{"$match": match}, {"$limit": 1}]), None)

    def _listing(
        self,
        match: dict[str, Any],
        sort: dict[str, int],
        *,
        bound: tuple[str, datetime] | None = None,
        skip: int = 0,
        limit: int = 0,
    ) -> Iterator[dict[str, Any]]:
        """Links matching ``match`` in ``sort`` order; ``bound`` is a
        ``(field, since)`` that ``match`` holds as ``$gte`` and the rows are
        checked against. Sorted newest first on that field, the rows below
        it come last, so the server skips and limits; otherwise here."""
        field, since = bound if bound else ("", EPOCH)
        on_server = bound is None or next(iter(sort.items())) == (field, -1)
        pipeline: list[dict[str, Any]] = [{"$match": match}, {"$sort": sort}]
        if on_server:
            pipeline += [{"$skip": skip}] if skip else []
            pipeline += [{"$limit": limit}] if limit else []
        emitted = skipped = 0
        for doc in self._aggregate(LINKS, pipeline):
            if bound and not (doc.get(field) and doc[field] >= since):
                if on_server:
                    return
                continue
            if not on_server and skipped < skip:
                skipped += 1
                continue
            yield _link_row(doc)
            emitted += 1
            if limit and emitted >= limit:
                return

    def _groups(
        self, match: dict[str, Any], key: str, fields: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        return self._aggregate(LINKS, [{"$match": match}, {"$group": {"_id": key, **fields}}])

    def _ratings(self, collection: str, names: Sequence[str]) -> dict[str, dict[str, Any]]:
        """``rating`` and ``pagerank`` of the named domains (or hosts)."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(names), LOOKUP_CHUNK):
            chunk = list(names[start : start + LOOKUP_CHUNK])
            for doc in self._aggregate(collection, [{"$match": {"_id": {"$in": chunk}}}]):
                found[doc["_id"]] = doc
        return found

    # -- link listings ----------------------------------------------------

    def links(
        self,
        target: Target,
        *,
        status: str = "live",
        since: datetime | None = None,
        dofollow: bool = False,
        kind: str | None = None,
        section: str | None = None,
        oldest_first: bool = False,
        skip: int = 0,
        limit: int = 0,
    ) -> Iterator[dict[str, Any]]:
        """Links to the target (streamed): ``live`` ones newest first
        (``since``: first seen since), ``lost`` ones lost since ``since`` (all
        time without), most recently lost first, or ``new`` ones first seen
        since ``since`` (default: ``NEW_WINDOW`` ago; live or lost since),
        newest first."""
        if status not in LINK_STATUSES:
            raise ValueError(f"expected a status among {LINK_STATUSES}, got {status!r}")
        bound: tuple[str, datetime] | None = None
        if status == "lost":
            start = since or EPOCH
            match = link_filter(target, lost_since=start, dofollow=dofollow, kind=kind,
                                section=section)  # fmt: skip
            sort, bound = {"lost_at": -1, "src": 1}, ("lost_at", start)
        else:
            if status == "new" and since is None:
                since = datetime.now(UTC) - NEW_WINDOW
            match = link_filter(target, live=status == "live", new_since=since,
                                dofollow=dofollow, kind=kind, section=section)  # fmt: skip
            sort = {"first_seen": 1 if oldest_first else -1, "src": 1}
            if since is not None:
                bound = ("first_seen", since)
        yield from self._listing(match, sort, bound=bound, skip=skip, limit=limit)

    def one_per_domain(
        self,
        target: Target,
        *,
        dofollow: bool = False,
        after: str | None = None,
        limit: int = 0,
    ) -> Iterator[dict[str, Any]]:
        """The best live link (:func:`_rank`) from each referring domain, by
        referring domain name, from the first after ``after`` (streamed:
        sorted by ``src_domain``, which ``dst_domain_live`` serves for domain
        targets)."""
        match = link_filter(target, dofollow=dofollow)
        if after is not None:
            match["src_domain"] = {"$gt": after}
        best: dict[str, Any] | None = None
        emitted = 0
        for doc in self._aggregate(LINKS, [{"$match": match}, {"$sort": {"src_domain": 1}}]):
            if best is not None and doc["src_domain"] != best["src_domain"]:
                yield _link_row(best)
                emitted += 1
                if limit and emitted >= limit:
                    return
                best = None
            if best is None or _rank(doc) < _rank(best):
                best = doc
        if best is not None:
            yield _link_row(best)

    def broken_pages(self, target: Target) -> list[dict[str, Any]]:
        """The target's pages that were fetched with a 4xx/5xx answer or got
        none, by URL."""
        field = _PAGE_FIELD[target.kind]
        pages = [
            *self._aggregate(PAGES, [{"$match": {field: target.value, "status": {"$gte": 400}}}]),
            *self._aggregate(PAGES, [{"$match": {field: target.value, "status": None}}]),
        ]
        return sorted(pages, key=lambda p: p["_id"])

    def broken_backlinks(
        self, target: Target, *, skip: int = 0, limit: int = 0
    ) -> Iterator[dict[str, Any]]:
        """Live links to the target's broken pages (:meth:`broken_pages`), by
        target URL and then newest first; each row also has the page's
        ``status`` and ``error``."""
        emitted = 0
        for page in self.broken_pages(target):
            url = Target("url", page["_id"])
            for link in self.links(url):
                if skip:
                    skip -= 1
                    continue
                yield {**link, "status": page.get("status"), "error": page.get("error")}
                emitted += 1
                if limit and emitted >= limit:
                    return

    # -- summaries --------------------------------------------------------

    def referring_domains(
        self, target: Target, *, dofollow: bool = False, sort: str = "links"
    ) -> list[dict[str, Any]]:
        """Referring domains of the target with their live link counts,
        dofollow links, first link's ``first_seen`` and rating (when
        ranked), most links first (``sort="rating"``: best rated first)."""
        groups = self._groups(
            link_filter(target, dofollow=dofollow), "$src_domain",
            {"links": {"$sum": 1}, "nofollow": {"$push": "$nofollow"},
             "first_seen": {"$push": "$first_seen"}},
        )  # fmt: skip
        rows: list[dict[str, Any]] = []
        for group in groups:
            seen = [t for t in group["first_seen"] if t]
            rows.append({
                "domain": group["_id"], "links": group["links"],
                "dofollow": group["links"] - _truthy(group["nofollow"]),
                "first_seen": min(seen) if seen else None,
            })  # fmt: skip
        ranked = self._ratings(DOMAINS, [r["domain"] for r in rows])
        for row in rows:
            row["rating"] = ranked.get(row["domain"], {}).get("rating")
        if sort == "rating":
            rows.sort(key=lambda r: (-(r["rating"] or 0.0), -r["links"], r["domain"]))
        else:
            rows.sort(key=lambda r: (-r["links"], r["domain"]))
        return rows

    def anchors(self, target: Target, *, dofollow: bool = False) -> list[dict[str, Any]]:
        """Anchor-text distribution of the live backlinks: per anchor, its
        links, dofollow links and referring domains, most used first. Image
        links count under their ``alt`` text, as ``[img] alt``."""
        links: Counter[str] = Counter()
        follow: Counter[str] = Counter()
        domains: defaultdict[str, set[str]] = defaultdict(set)
        match = link_filter(target, dofollow=dofollow)
        pushed = {"nofollow": {"$push": "$nofollow"}, "src_domain": {"$push": "$src_domain"}}
        # Links with text group by anchor; the others by alt, where the image
        # flag tells "[img] alt" from "". (A compound group key is one of the
        # things nx-27017 gets wrong.)
        texts = self._groups({**match, "anchor": {"$gt": ""}}, "$anchor", pushed)
        bare = self._groups({**match, "anchor": ""}, "$alt", {**pushed,
                            "image": {"$push": "$image"}})  # fmt: skip
        for group in texts:
            for nofollow, domain in zip(group["nofollow"], group["src_domain"], strict=True):
                self._count_anchor(group["_id"], nofollow, domain, links, follow, domains)
        for group in bare:
            flags = zip(group["nofollow"], group["src_domain"], group["image"], strict=True)
            for nofollow, domain, image in flags:
                text = anchor_text({"anchor": "", "alt": group["_id"], "image": image})
                self._count_anchor(text, nofollow, domain, links, follow, domains)
        total = sum(links.values()) or 1
        rows: list[dict[str, Any]] = [
            {"anchor": a, "links": n, "dofollow": follow[a], "referring_domains": len(domains[a]),
             "share": round(n / total, 4)}
            for a, n in links.items()
        ]  # fmt: skip
        rows.sort(key=lambda r: (-r["links"], r["anchor"]))
        return rows

    @staticmethod
    def _count_anchor(
        text: str, nofollow: Any, domain: str, links: Counter[str], follow: Counter[str],
        domains: defaultdict[str, set[str]],
    ) -> None:  # fmt: skip
        links[text] += 1
        follow[text] += 0 if nofollow else 1
        domains[text].add(domain)

    def top_pages(self, target: Target) -> list[dict[str, Any]]:
        """The target's pages by live backlinks: per URL its links, dofollow
        links, referring domains and the page's fetch ``status`` (null if
        never fetched), most linked first."""
        groups = self._groups(
            link_filter(target), "$dst",
            {"links": {"$sum": 1}, "nofollow": {"$push": "$nofollow"},
             "domains": {"$addToSet": "$src_domain"}},
        )  # fmt: skip
        rows = [
            {"url": g["_id"], "links": g["links"], "dofollow": g["links"] - _truthy(g["nofollow"]),
             "referring_domains": len(g["domains"])}
            for g in groups
        ]  # fmt: skip
        rows.sort(key=lambda r: (-r["links"], r["url"]))
        status: dict[str, Any] = {}
        urls = [r["url"] for r in rows]
        for start in range(0, len(urls), LOOKUP_CHUNK):
            match = {"_id": {"$in": urls[start : start + LOOKUP_CHUNK]}}
            for page in self._aggregate(PAGES, [{"$match": match}]):
                status[page["_id"]] = page.get("status")
        for row in rows:
            row["status"] = status.get(row["url"])
        return rows

    def outgoing_domains(self, target: Target) -> list[dict[str, Any]]:
        """Domains the target's pages link to (live external links), with
        their links and dofollow links, most linked first. The links are
        read by source URL range per host of the target (``src`` index)."""
        ranges: list[tuple[dict[str, Any], str | None]]
        if target.kind == "url":
            ranges = [({"src": target.value}, None)]
        else:
            if target.kind == "host":
                hosts = [target.value]
            else:
                grouped = self._aggregate(PAGES, [{"$match": {"domain": target.value}},
                                                  {"$group": {"_id": "$host"}}])  # fmt: skip
                hosts = sorted(g["_id"] for g in grouped if g["_id"])
            ranges = [
                # Every URL of the host, with or without a port, sorts in
                # [scheme://host, scheme://host\x7f): normalized URLs are ASCII.
                ({"src": {"$gte": f"{scheme}://{host}", "$lt": f"{scheme}://{host}\x7f"}}, host)
                for host in hosts
                for scheme in ("http", "https")
            ]
        links: Counter[str] = Counter()
        follow: Counter[str] = Counter()
        for match, host in ranges:
            query = {**match, "lost_at": None, **({"src_host": host} if host else {})}
            fields = {"links": {"$sum": 1}, "nofollow": {"$push": "$nofollow"}}
            for group in self._groups(query, "$dst_domain", fields):
                links[group["_id"]] += group["links"]
                follow[group["_id"]] += group["links"] - _truthy(group["nofollow"])
        rows: list[dict[str, Any]] = [
            {"domain": d, "links": n, "dofollow": follow[d]} for d, n in links.items()
        ]
        rows.sort(key=lambda r: (-r["links"], r["domain"]))
        return rows

    def intersect(
        self, targets: Sequence[Target], exclude: Sequence[Target] = ()
    ) -> list[dict[str, Any]]:
        """Domains with live links to every one of ``targets`` and to none of
        ``exclude``: per domain its links to each target (``links``, in the
        order of ``targets``) and rating, most links first."""
        if not targets:
            raise ValueError("link intersect needs at least one target")
        counts: list[dict[str, int]] = []
        for target in targets:
            groups = self._groups(link_filter(target), "$src_domain", {"n": {"$sum": 1}})
            counts.append({g["_id"]: g["n"] for g in groups})
        common = set.intersection(*(set(c) for c in counts))
        for target in exclude:
            common -= {g["_id"] for g in self._groups(link_filter(target), "$src_domain", {})}
        ranked = self._ratings(DOMAINS, sorted(common))
        rows: list[dict[str, Any]] = [
            {"domain": d, "links": [c[d] for c in counts], "total": sum(c[d] for c in counts),
             "rating": ranked.get(d, {}).get("rating")}
            for d in common
        ]  # fmt: skip
        rows.sort(key=lambda r: (-r["total"], r["domain"]))
        return rows

    def most_linked_domains(self, *, limit: int = 25) -> list[dict[str, Any]]:
        """The domains with the most live backlinks (``backlinks`` index),
        with their counts and rating."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"backlinks": {"$gt": 0}}},
            {"$sort": {"backlinks": -1, "_id": 1}},
            {"$limit": limit},
        ]
        return [
            {"domain": d["_id"], "backlinks": d.get("backlinks", 0),
             "referring_domains": d.get("referring_domains", 0), "rating": d.get("rating")}
            for d in self._aggregate(DOMAINS, pipeline)
        ]  # fmt: skip

    # -- overview and history ---------------------------------------------

    def _time_groups(self, target: Target) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The target's live and lost links grouped by referring domain,
        with their first-seen (and lost) times: everything the history and
        the live counts need, read through the target's index."""
        live = list(self._groups(link_filter(target), "$src_domain", {
            "first_seen": {"$push": "$first_seen"}}))  # fmt: skip
        lost = list(self._groups(link_filter(target, lost_since=EPOCH), "$src_domain", {
            "first_seen": {"$push": "$first_seen"}, "lost_at": {"$push": "$lost_at"}}))  # fmt: skip
        return live, lost

    def history(
        self, target: Target, *, days: int = 90, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Per day (UTC) of the last ``days``, oldest first: ``backlinks``
        and ``referring_domains`` live at the day's end, and the links
        ``new`` (first seen) and ``lost`` that day. A link lost and later
        restored counts as live since its ``first_seen``; a referring domain
        counts from its first link's ``first_seen`` until its last link was
        lost. Two grouped reads of the target's links, whatever ``days``."""
        if days < 1:
            raise ValueError(f"expected days >= 1, got {days}")
        today = _day(now or datetime.now(UTC))
        first = today - timedelta(days=days - 1)
        new: Counter[date] = Counter()
        lost: Counter[date] = Counter()
        appeared: Counter[date] = Counter()
        gone: Counter[date] = Counter()
        live_groups, lost_groups = self._time_groups(target)
        live_names = {g["_id"] for g in live_groups}
        starts: dict[str, date] = {}
        for group in live_groups + lost_groups:
            for seen in group["first_seen"]:
                new[_day(seen)] += 1
                start = starts.get(group["_id"])
                starts[group["_id"]] = min(start, _day(seen)) if start else _day(seen)
        for group in lost_groups:
            ends = [_day(t) for t in group["lost_at"] if t]
            lost.update(ends)
            if group["_id"] not in live_names and ends:
                gone[max(ends)] += 1
        appeared.update(starts.values())
        # Totals before the window, then day by day.
        links = sum(n for d, n in new.items() if d < first) - sum(
            n for d, n in lost.items() if d < first)  # fmt: skip
        domains = sum(n for d, n in appeared.items() if d < first) - sum(
            n for d, n in gone.items() if d < first)  # fmt: skip
        rows = []
        for offset in range(days):
            day = first + timedelta(days=offset)
            links += new[day] - lost[day]
            domains += appeared[day] - gone[day]
            rows.append({"day": day.isoformat(), "backlinks": links, "new": new[day],
                         "referring_domains": domains, "lost": lost[day]})  # fmt: skip
        return rows

    def counts(self, target: Target, *, now: datetime | None = None) -> dict[str, Any]:
        """The ``domains`` document's counts (docs/SCHEMA.md) computed from
        the target's links now: for a host or URL, or a domain not counted
        yet."""
        now = now or datetime.now(UTC)
        since = {days: now - timedelta(days=days) for days in WINDOWS}
        # Grouped by the target's own field (one group): nx-27017 returns the
        # pushed dates of an `_id: null` group as text.
        groups = self._groups(link_filter(target), f"${target.field}", {
            "backlinks": {"$sum": 1}, "nofollow": {"$push": "$nofollow"},
            "ref_domains": {"$addToSet": "$src_domain"}, "ref_hosts": {"$addToSet": "$src_host"},
            "ref_ips": {"$addToSet": "$src_ip"}, "first_seen": {"$push": "$first_seen"},
        })  # fmt: skip
        empty: dict[str, Any] = {"backlinks": 0, "nofollow": [], "ref_domains": [], "ref_hosts": [],
                 "ref_ips": [], "first_seen": []}  # fmt: skip
        group = next(groups, None) or empty
        ips = {ip for ip in group["ref_ips"] if ip}
        row: dict[str, Any] = {
            "backlinks": group["backlinks"],
            "backlinks_dofollow": group["backlinks"] - _truthy(group["nofollow"]),
            "backlinks_nofollow": _truthy(group["nofollow"]),
            "referring_domains": len(set(group["ref_domains"])),
            "referring_hosts": len(set(group["ref_hosts"])),
            "referring_ips": len(ips),
            "referring_subnets": len({subnet(ip) for ip in ips} - {None}),
        }
        firsts = list(group["first_seen"])
        lost_times: list[datetime] = []
        for doc in self.links(target, status="lost", since=since[30]):
            firsts.append(doc["first_seen"])
            lost_times.append(doc["lost_at"])
        for days, start in since.items():
            row[f"new_{days}d"] = sum(1 for t in firsts if t and t >= start)
            row[f"lost_{days}d"] = sum(1 for t in lost_times if t >= start)
        row["counted_at"] = now
        return row

    def overview(self, target: Target, *, now: datetime | None = None) -> dict[str, Any]:
        """The target's counts (a domain's from its ``domains`` document,
        kept by the recount, when it has one), its rating and PageRank
        position (1 = the highest PageRank of its level) when ranked."""
        collection = {"domain": DOMAINS, "host": HOSTS}.get(target.kind)
        doc = self._one(collection, {"_id": target.value}) if collection else None
        if target.kind == "domain" and doc and doc.get("counted_at"):
            counts = {k: doc.get(k, 0) for k in COUNT_FIELDS}
            counts["counted_at"] = doc["counted_at"]
        else:
            counts = self.counts(target, now=now)
        result: dict[str, Any] = {"target": target.value, "by": target.kind, **counts}
        result.update(rating=None, pagerank=None, pagerank_position=None)
        if doc and doc.get("pagerank") is not None and collection:
            higher = self._aggregate(collection, [
                {"$match": {"pagerank": {"$gt": doc["pagerank"]}}}, {"$count": "n"}])  # fmt: skip
            result.update(
                rating=doc.get("rating"),
                pagerank=doc["pagerank"],
                pagerank_position=1 + next((r["n"] for r in higher), 0),
            )
        return result

"""Benchmark of the MongoDB sink: first crawl and unchanged recrawl.

``python bench/bench_sink.py [--pages 10000] [--links 5] [--batch 200]``

Writes the same synthetic pages (``--links`` external links each) twice —
a first crawl, then an unchanged recrawl a day later — with two writers, each
into a fresh database:

- ``graphwriter``: :class:`backlinkbot.storage.writer.GraphWriter`, as the
  sink uses it by default (batches of ``--batch`` pages; the recrawl a day
  later is within ``BACKLINKBOT_LAST_SEEN_REFRESH``, so links keep their
  ``last_seen`` and the page records ``links_seen_at``);
- ``gw-exact``: the same with ``last_seen_refresh=0``: every recrawl also
  moves ``last_seen`` of the live links (one ``update_many`` per second);
- ``naive``: the pipeline that upserts every link document and the page
  document on every crawl (one ``UpdateOne(upsert=True)`` each, in unordered
  bulk writes of the same batches).

pymongo's command monitoring counts, per page, the MongoDB commands sent,
the bytes of those commands (BSON), the write statements, and the documents
actually written (inserted + modified + upserted, from the server replies);
the wall time is for all pages, and for the embedded server the CPU time
its process spent on them (read from /proc). Ratios are naive / ours, measured in
the same run against the same server. With ``MONGODB_URI`` set that server is
used; otherwise an embedded nx-27017 is started in a temporary directory.

``python bench/bench_sink.py --recount-links 1000000``
    Times the per-domain batch job
    (:func:`backlinkbot.storage.domains.recount_all`) over that many live
    links (inserted with ``insert_many``; 20 links per source page, 200 links
    per target domain on average), and the sink's recount of the 1,000 most
    linked domains for comparison.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bson
import pymongo
from pymongo import UpdateOne, monitoring

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from proccpu import process_cpu

from backlinkbot.defaults import BACKLINKBOT_LAST_SEEN_REFRESH
from backlinkbot.items import Edge, PageItem
from backlinkbot.storage.domains import recount_all, recount_domains
from backlinkbot.storage.schema import edge_attributes, ensure_indexes, link_id, second
from backlinkbot.storage.writer import GraphWriter

__all__ = ["main"]

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WRITERS = ("graphwriter", "gw-exact", "naive")


@dataclass
class Counts:
    commands: int = 0
    bytes_sent: int = 0
    statements: int = 0
    docs_written: int = 0
    by_command: dict[str, int] = field(default_factory=dict)


class Monitor(monitoring.CommandListener):
    """Counts what the client sends, and what the server says it wrote."""

    def __init__(self) -> None:
        self.counts = Counts()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        c = self.counts
        c.commands += 1
        c.bytes_sent += len(bson.encode(event.command))
        c.by_command[event.command_name] = c.by_command.get(event.command_name, 0) + 1
        if event.command_name == "insert":
            c.statements += len(event.command.get("documents", ()))
        elif event.command_name == "update":
            c.statements += len(event.command.get("updates", ()))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        reply = event.reply
        if event.command_name == "insert":
            self.counts.docs_written += int(reply.get("n", 0))
        elif event.command_name == "update":
            upserted = len(reply.get("upserted", ()))
            self.counts.docs_written += int(reply.get("nModified", 0)) + upserted

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def make_pages(n: int, links: int, at: datetime) -> list[PageItem]:
    pages = []
    for i in range(n):
        url = f"http://site{i % 997}.example/page/{i}"
        host = f"site{i % 997}.example"
        edges = [
            Edge(src=url, dst=f"http://target{(i * 7 + k) % 5003}.test/p/{k}", src_host=host,
                 dst_host=f"target{(i * 7 + k) % 5003}.test", src_domain=host,
                 dst_domain=f"target{(i * 7 + k) % 5003}.test", anchor=f"anchor {k}",
                 section="main")
            for k in range(links)
        ]  # fmt: skip
        pages.append(PageItem(url=url, status=200, fetched_at=at + timedelta(milliseconds=i),
                              content_type="text/html", host=host, domain=host,
                              ip="192.0.2.10", edges=edges))  # fmt: skip
    return pages


def naive_write(db: Any, batch: list[PageItem]) -> None:
    """Upsert every link and the page, whatever changed."""
    ops = []
    for page in batch:
        seen = second(page.fetched_at)
        for e in page.edges:
            ops.append(UpdateOne(
                {"_id": link_id(e.src, e.dst)},
                {"$set": {**edge_attributes(e, page.ip), "last_seen": seen},
                 "$setOnInsert": {"first_seen": seen}, "$unset": {"lost_at": ""}},
                upsert=True,
            ))  # fmt: skip
    if ops:
        db.links.bulk_write(ops, ordered=False)
    db.pages.bulk_write([
        UpdateOne({"_id": p.url},
                  {"$set": {"url": p.url, "status": p.status, "fetched_at": p.fetched_at,
                            "links_out": len(p.edges)},
                   "$setOnInsert": {"first_fetched": p.fetched_at}}, upsert=True)
        for p in batch
    ], ordered=False)  # fmt: skip


def run(
    uri: str, name: str, pages: int, links: int, batch: int, server_pid: int | None
) -> dict[str, tuple[Counts, float, float | None]]:
    """Per crawl: what was sent, the wall time, and the CPU time the
    embedded server spent (None for a server that is not ours to read)."""
    monitor = Monitor()
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        uri, tz_aware=True, event_listeners=[monitor]
    )
    database = f"bench_sink_{name}_{os.getpid()}"
    client.drop_database(database)
    db = client[database]
    ensure_indexes(db)
    refresh = timedelta(seconds=BACKLINKBOT_LAST_SEEN_REFRESH if name == "graphwriter" else 0)
    writer = GraphWriter(db, last_seen_refresh=refresh)
    results = {}
    try:
        for crawl, at in (("first crawl", T0), ("unchanged recrawl", T0 + timedelta(days=1))):
            items = make_pages(pages, links, at)
            monitor.counts = Counts()
            cpu = process_cpu(server_pid) if server_pid else None
            start = time.perf_counter()
            for i in range(0, len(items), batch):
                chunk = items[i : i + batch]
                if name == "naive":
                    naive_write(db, chunk)
                else:
                    writer.write(chunk)
            wall = time.perf_counter() - start
            spent = process_cpu(server_pid) - cpu if server_pid and cpu is not None else None
            results[crawl] = (monitor.counts, wall, spent)
        assert db.links.count_documents({}) == pages * links
    finally:
        client.drop_database(database)
        client.close()
    return results


def bench_recount(uri: str, links: int) -> None:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(uri, tz_aware=True)
    db = client[f"bench_recount_{os.getpid()}"]
    try:
        ensure_indexes(db)
        start = time.perf_counter()
        chunk: list[dict[str, Any]] = []
        domains = max(1, links // 200)
        for i in range(links):
            t = (i * 7919) % domains
            src, dst = f"http://s{i // 20}.example/", f"http://t{t}.test/"
            chunk.append({
                "_id": link_id(src, dst + str(i)), "src": src, "dst": dst,
                "src_host": f"s{i // 20}.example", "dst_host": f"t{t}.test",
                "src_domain": f"s{i // 20}.example", "dst_domain": f"t{t}.test",
                "nofollow": i % 5 == 0, "src_ip": f"10.{i % 256}.{(i // 256) % 256}.1",
                "first_seen": T0, "last_seen": T0,
            })  # fmt: skip
            if len(chunk) == 10000:
                db.links.insert_many(chunk, ordered=False)
                chunk = []
        if chunk:
            db.links.insert_many(chunk, ordered=False)
        print(f"inserted {links} links in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        written = recount_all(db, now=T0 + timedelta(days=1))
        took = time.perf_counter() - start
        print(f"recount_all: {written} domains from {links} links in {took:.1f} s "
              f"({links / took:,.0f} links/s)")  # fmt: skip
        top = [d["_id"] for d in db.domains.find().sort("backlinks", -1).limit(1000)]
        start = time.perf_counter()
        recount_domains(db, top, now=T0 + timedelta(days=1))
        took_top = time.perf_counter() - start
        share = sum(d["backlinks"] for d in db.domains.find({"_id": {"$in": top}}))
        print(f"recount_domains (the sink's path) of the 1000 most linked domains "
              f"({share} links): {took_top:.1f} s")  # fmt: skip
    finally:
        client.drop_database(db.name)
        client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10000)
    parser.add_argument("--links", type=int, default=5, help="external links per page")
    parser.add_argument("--batch", type=int, default=200, help="pages per write batch")
    parser.add_argument("--recount-links", type=int, default=0, metavar="N",
                        help="time the per-domain batch job over N links instead")  # fmt: skip
    args = parser.parse_args(argv)
    uri = os.environ.get("MONGODB_URI")
    server = None
    if not uri:
        from backlinkbot.embedded import EmbeddedMongo

        server = EmbeddedMongo(Path(tempfile.mkdtemp(prefix="bench-sink-")))
        uri = server.start()
    if args.recount_links:
        try:
            bench_recount(uri, args.recount_links)
        finally:
            if server is not None:
                server.stop()
        return 0
    try:
        print(f"{args.pages} pages x {args.links} external links, batches of {args.batch}, "
              f"server {'nx-27017 (embedded)' if server else uri}")  # fmt: skip
        pid = server.process.pid if server is not None and server.process else None
        measured = {name: run(uri, name, args.pages, args.links, args.batch, pid)
                    for name in WRITERS}  # fmt: skip
    finally:
        if server is not None:
            server.stop()
    n = args.pages
    header = f"{'crawl':18} {'writer':12} {'cmds/page':>10} {'bytes/page':>11} " \
             f"{'stmts/page':>11} {'docs/page':>10} {'wall s':>8} {'server CPU s':>13}"  # fmt: skip
    print(header)
    for crawl in ("first crawl", "unchanged recrawl"):
        for name in WRITERS:
            c, wall, spent = measured[name][crawl]
            server_cpu = f"{spent:13.2f}" if spent is not None else f"{'-':>13}"
            print(f"{crawl:18} {name:12} {c.commands / n:10.3f} {c.bytes_sent / n:11.0f} "
                  f"{c.statements / n:11.3f} {c.docs_written / n:10.3f} {wall:8.1f}"
                  f" {server_cpu}")  # fmt: skip
        naive, naive_wall, _ = measured["naive"][crawl]
        for name in WRITERS[:2]:
            ours, ours_wall, _ = measured[name][crawl]
            print(
                f"{crawl:18} naive/{name:12} commands x{naive.commands / max(ours.commands, 1):.1f}"
                f"  bytes x{naive.bytes_sent / max(ours.bytes_sent, 1):.1f}"
                f"  statements x{naive.statements / max(ours.statements, 1):.1f}"
                f"  docs x{naive.docs_written / max(ours.docs_written, 1):.1f}"
                f"  wall x{naive_wall / max(ours_wall, 1e-9):.1f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

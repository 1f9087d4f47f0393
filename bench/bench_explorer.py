"""Benchmark the explorer's API on a generated graph of 1,000,000 links.

Generates a graph (``--links`` over ``--domains`` target domains, link
counts per domain Zipf-distributed, so the biggest domain holds about a
tenth of the links and the median a few dozen; 20% nofollow, 8% lost, first
seen over 120 days) into the embedded store (or ``--uri``, a real MongoDB)
with bulk ``insert_many``, writes each domain's counts (what the recount
keeps), then serves it with ``backlinkbot serve`` in its own process and
measures, over HTTP, the p50 and p95 latency of the overview, the first
backlinks page, the first referring-domains page and the 90-day history
for the biggest and the median domain (``--repeat`` sequential requests
each), and the requests per second of 16 concurrent clients asking the
median domain's four in turn for ``--seconds``.

With ``--explain`` (a real MongoDB), prints the winning plan's stages of
each query the four endpoints send for the median domain.

Usage::

    python bench/bench_explorer.py                       # embedded store
    python bench/bench_explorer.py --uri mongodb://localhost:27017/ --explain
    python bench/bench_explorer.py --links 100000 --domains 1000   # quick
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pymongo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backlinkbot.storage.domains import subnet  # noqa: E402
from backlinkbot.storage.schema import ensure_indexes, link_id  # noqa: E402

DATABASE = "bench_explorer"
NOW = datetime.now(UTC).replace(microsecond=0)


def generate(db: Any, links: int, domains: int, seed: int) -> tuple[str, str]:
    """Insert the graph; returns the biggest and the median target domain."""
    rnd = random.Random(seed)
    names = [f"site{i:05d}.com" for i in range(domains)]
    weights = [1 / (i + 1) for i in range(domains)]
    targets = rnd.choices(range(domains), weights=weights, k=links)
    counts: dict[int, dict[str, Any]] = defaultdict(lambda: {
        "backlinks": 0, "nofollow": 0, "domains": set(), "hosts": set(), "ips": set(),
        "new_7d": 0, "new_30d": 0, "lost_7d": 0, "lost_30d": 0})  # fmt: skip
    batch: list[dict[str, Any]] = []
    start = time.perf_counter()
    for k, t in enumerate(targets):
        s = rnd.randrange(domains)
        if s == t:
            s = (s + 1) % domains
        src_host, dst_host = f"www.{names[s]}", names[t]
        src, dst = f"http://{src_host}/p{k}", f"http://{dst_host}/page{rnd.randrange(50)}"
        first = NOW - timedelta(days=rnd.random() * 120)
        first = first.replace(microsecond=0)
        ip = f"198.{s % 200}.{(s // 200) % 250}.{k % 250}"
        doc = {
            "_id": link_id(src, dst), "src": src, "dst": dst, "src_host": src_host,
            "dst_host": dst_host, "src_domain": names[s], "dst_domain": names[t],
            "anchor": f"anchor {rnd.randrange(200)}", "alt": "", "image": False, "kind": "a",
            "nofollow": rnd.random() < 0.2, "ugc": False, "sponsored": False,
            "section": rnd.choice(("main", "body", "footer", "nav")), "src_ip": ip,
            "first_seen": first, "last_seen": first,
        }  # fmt: skip
        row = counts[t]
        age = (NOW - first).days
        row["new_7d"] += age < 7
        row["new_30d"] += age < 30
        if rnd.random() < 0.08:
            lost = min(NOW, first + timedelta(days=rnd.random() * 30)).replace(microsecond=0)
            doc.update(lost_at=lost, lost_reason="removed")
            row["lost_7d"] += (NOW - lost).days < 7
            row["lost_30d"] += (NOW - lost).days < 30
        else:
            row["backlinks"] += 1
            row["nofollow"] += doc["nofollow"]
            row["domains"].add(names[s])
            row["hosts"].add(src_host)
            row["ips"].add(ip)
        batch.append(doc)
        if len(batch) == 10_000:
            db.links.insert_many(batch, ordered=False)
            batch = []
            done = k + 1
            if done % 100_000 == 0:
                rate = done / (time.perf_counter() - start)
                print(f"  {done:,} links ({rate:,.0f}/s)", file=sys.stderr, flush=True)
    if batch:
        db.links.insert_many(batch, ordered=False)
    docs = []
    for t, row in counts.items():
        docs.append({
            "_id": names[t], "domain": names[t], "backlinks": row["backlinks"],
            "backlinks_dofollow": row["backlinks"] - row["nofollow"],
            "backlinks_nofollow": row["nofollow"], "referring_domains": len(row["domains"]),
            "referring_hosts": len(row["hosts"]), "referring_ips": len(row["ips"]),
            "referring_subnets": len({subnet(ip) for ip in row["ips"]}),
            "new_7d": row["new_7d"], "new_30d": row["new_30d"], "lost_7d": row["lost_7d"],
            "lost_30d": row["lost_30d"], "counted_at": NOW,
            "rating": round(100 * (1 - t / domains), 1), "pagerank": 1 / (t + 1) / 10,
        })  # fmt: skip
    db.domains.insert_many(docs, ordered=False)
    elapsed = time.perf_counter() - start
    print(f"generated {links:,} links over {len(docs):,} target domains in {elapsed:.0f} s "
          f"({links / elapsed:,.0f} links/s)", file=sys.stderr)  # fmt: skip
    by_size = sorted(counts, key=lambda t: -counts[t]["backlinks"])
    return names[by_size[0]], names[by_size[len(by_size) // 2]]


def requests_of(domain: str) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        "overview": ("/api/v1/overview", {"target": domain}),
        "backlinks, first page": ("/api/v1/backlinks", {"target": domain}),
        "referring domains, first page": ("/api/v1/referring-domains", {"target": domain}),
        "history (90 days)": ("/api/v1/history", {"target": domain, "days": 90}),
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def latency(client: httpx.Client, path: str, params: dict[str, Any], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path, params=params)
        times.append(time.perf_counter() - start)
        response.raise_for_status()
    return times


def load(url: str, domain: str, clients: int, seconds: float) -> tuple[int, int]:
    """Requests answered (and failed) by ``clients`` threads in ``seconds``."""
    plan = list(requests_of(domain).values())
    done, failed = [0] * clients, [0] * clients
    deadline = time.monotonic() + seconds

    def work(n: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            i = n
            while time.monotonic() < deadline:
                path, params = plan[i % len(plan)]
                i += 1
                ok = client.get(path, params=params).status_code == 200
                done[n] += ok
                failed[n] += not ok

    threads = [threading.Thread(target=work, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done), sum(failed)


def explain(db: Any, domain: str) -> None:
    """The plan of each aggregation the median domain's endpoints send."""
    from backlinkbot.storage.queries import Graph, parse_target

    sent: list[tuple[str, list[dict[str, Any]]]] = []

    class Recording(Graph):
        def _aggregate(self, collection: str, pipeline: list[dict[str, Any]]) -> Any:
            sent.append((collection, pipeline))
            return super()._aggregate(collection, pipeline)

    graph, target = Recording(db), parse_target(domain)
    graph.overview(target)
    list(graph.links(target, limit=51))
    graph.referring_domains(target)
    graph.history(target)
    for collection, pipeline in sent:
        plan = db.command("explain", {"aggregate": collection, "pipeline": pipeline,
                                      "cursor": {}}, verbosity="queryPlanner")  # fmt: skip
        stages = sorted(set(_stages(plan)))
        print(f"{collection:8s} {str(pipeline[0])[:90]:92s} {' '.join(stages)}")


def _stages(plan: Any) -> list[str]:
    if isinstance(plan, dict):
        found = [plan["stage"]] if isinstance(plan.get("stage"), str) else []
        if plan.get("indexName"):
            found.append(f"IXSCAN({plan['indexName']})")
        return found + [s for v in plan.values() for s in _stages(v)]
    if isinstance(plan, list):
        return [s for v in plan for s in _stages(v)]
    return []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=1_000_000)
    parser.add_argument("--domains", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--uri", help="a MongoDB to use instead of the embedded store")
    parser.add_argument("--repeat", type=int, default=40, help="requests per latency figure")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--explain", action="store_true", help="print query plans")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-explorer-") as tmp:
        mongo = None
        uri = args.uri
        if uri is None:
            from backlinkbot.embedded import EmbeddedMongo

            mongo = EmbeddedMongo(Path(tmp) / "mongodb")
            uri = mongo.start()
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(uri, tz_aware=True)
        try:
            db = client[DATABASE]
            client.drop_database(DATABASE)
            ensure_indexes(db)
            biggest, median = generate(db, args.links, args.domains, args.seed)
            sizes = {d: db.domains.find_one({"_id": d})["backlinks"] for d in (biggest, median)}
            print(f"biggest domain {biggest}: {sizes[biggest]:,} live links; "
                  f"median {median}: {sizes[median]:,}", file=sys.stderr)  # fmt: skip
            if args.explain:
                explain(db, median)
            env = {**os.environ, "MONGODB_URI": uri, "MONGODB_DATABASE": DATABASE,
                   "REDIS_URL": "redis://127.0.0.1:1/0"}  # fmt: skip
            env.pop("BACKLINKBOT_API_TOKEN", None)
            with subprocess.Popen([sys.executable, "-m", "backlinkbot", "serve"], env=env,
                                  stdout=subprocess.PIPE, text=True) as server:  # fmt: skip
                try:
                    assert server.stdout is not None
                    url = server.stdout.readline().split()[-1].rstrip("/")
                    run(url, biggest, median, args)
                finally:
                    server.terminate()
                    server.wait(timeout=30)
        finally:
            client.drop_database(DATABASE)
            client.close()
            if mongo is not None:
                mongo.stop()
    return 0


def run(url: str, biggest: str, median: str, args: argparse.Namespace) -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")
    print("| request | domain | p50 ms | p95 ms |")
    print("| --- | --- | ---: | ---: |")
    with httpx.Client(base_url=url, timeout=120) as client:
        for label, domain in (("median", median), ("biggest", biggest)):
            for name, (path, params) in requests_of(domain).items():
                latency(client, path, params, 2)  # warm
                times = latency(client, path, params, args.repeat)
                print(f"| {name} | {label} | {1000 * percentile(times, 0.5):.1f} "
                      f"| {1000 * percentile(times, 0.95):.1f} |", flush=True)  # fmt: skip
    done, failed = load(url, median, args.clients, args.seconds)
    print(
        f"{args.clients} clients, median domain's four requests in turn: "
        f"{done / args.seconds:.0f} requests/s ({failed} failed)"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    sys.exit(main())

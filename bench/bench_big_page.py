"""Worker memory for one huge page: peak RSS while a worker fetches, parses
and stores a page of ``--links`` links in ``--mib`` MiB (under
``DOWNLOAD_MAXSIZE``, 10 MiB), against a page of a few links.

One backlinkbot worker crawls a single seed, served by a local HTTP server
through ``http_proxy``, with the embedded Redis and MongoDB-wire servers. The
page links to distinct URLs on ten external sites, so every link is an edge
to store and a URL to queue (``BACKLINKBOT_MAX_PAGES=1`` keeps the worker
from fetching them). The worker's resident set size is sampled every 50 ms
and its peak (``VmHWM``) read as it ends; the crawl is stopped (SIGTERM)
after ``--timeout`` seconds. Printed: the peak RSS of the small page and of
the huge one, the links stored and left out, the page's ``links_truncated``.
``--unit`` makes the huge page that markup repeated to ``--mib`` instead
(``'<a href=x>'``: a million links; ``'<p>'``: 3.4 million elements).

    python bench/bench_big_page.py --links 450000 --mib 9.8
    python bench/bench_big_page.py --mib 9.8 --unit '<a href=x>'
"""

from __future__ import annotations

import argparse
import http.server
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pymongo
import redis
from backlinkbot.frontier.keys import CrawlKeys

from backlinkbot.embedded import EmbeddedMongo, EmbeddedRedis
from backlinkbot.runner import CrawlOptions, reset_frontier, run_crawl

SEED = "http://big.example/"


def page(links: int, size: int) -> bytes:
    """``links`` links to distinct URLs of ten sites, padded to ``size``."""
    body = "".join(f"<a href=//s{i % 10}.ex/{i:x}>" for i in range(links))
    html = f"<html><body>{body}</body></html>"
    pad = size - len(html)
    if pad > 0:
        html = html.replace("<body>", "<body><!--" + "x" * max(0, pad - 7) + "-->", 1)
    return html.encode()


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        if self.path == SEED:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(self.body)))
            self.end_headers()
            self.wfile.write(self.body)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _workers() -> list[int]:
    """Process ids of this process's ``scrapy crawl backlinks`` children."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if b"backlinks" in cmdline and f"\nPPid:\t{os.getpid()}\n" in status:
            found.append(int(pid))
    return found


def _memory(pid: int) -> float:
    """The larger of VmRSS and VmHWM (the peak so far) of ``pid``, in MiB."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0.0
    values = [int(line.split()[1]) for line in lines if line.startswith(("VmRSS:", "VmHWM:"))]
    return max(values, default=0) / 1024


def crawl(tmp: Path, body: bytes, timeout: float) -> dict[str, Any]:
    _Handler.body = body
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    redis_server = EmbeddedRedis(tmp / "redis", appendonly=False)
    mongo_server = EmbeddedMongo(tmp / "mongo")
    redis_url, mongo_uri = redis_server.start(), mongo_server.start()
    client = redis.Redis.from_url(redis_url)
    peak = 0.0
    try:
        keys = CrawlKeys("bigpage")
        reset_frontier(client, keys)
        client.rpush(keys.start_urls, SEED)
        os.environ.update({
            "http_proxy": f"http://127.0.0.1:{server.server_address[1]}",
            "REDIS_URL": redis_url, "MONGODB_URI": mongo_uri, "MONGODB_DATABASE": "bigpage",
            "BACKLINKBOT_REDIS_PREFIX": keys.prefix,
        })  # fmt: skip
        options = CrawlOptions(
            workers=1, log_dir=tmp / "logs", progress_interval=1.0,
            settings={"BACKLINKBOT_MAX_PAGES": "1", "LOG_LEVEL": "INFO",
                      "BACKLINKBOT_SINK_SPILL_DIR": str(tmp / "spill")},
        )  # fmt: skip
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            started = time.monotonic()
            while not done.wait(0.05):
                workers = _workers()
                for pid in workers:
                    peak = max(peak, _memory(pid))
                if time.monotonic() - started > timeout:
                    for pid in workers:
                        os.kill(pid, signal.SIGTERM)
                    started = float("inf")

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.monotonic()
        with open(os.devnull, "w") as quiet:
            summary = run_crawl(client, keys, options, out=quiet)
        done.set()
        sampler.join()
        db: Any = pymongo.MongoClient(mongo_uri)["bigpage"]
        stored = db.pages.find_one({"_id": SEED}) or {}
        result = {
            "seconds": time.monotonic() - started,
            "peak_mib": peak,
            "links_stored": db.links.count_documents({"src": SEED}),
            "links_truncated": stored.get("links_truncated"),
            "page_stored": bool(stored),
            "exit_codes": summary.exit_codes,
            "spill_files": sorted(p.name for p in (tmp / "spill").rglob("*.jsonl")),
        }
        db.client.close()
        return result
    finally:
        client.close()
        redis_server.stop()
        mongo_server.stop()
        server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--links", type=int, default=450_000)
    parser.add_argument("--mib", type=float, default=9.8, help="page size in MiB")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--unit", help="markup repeated to make the huge page")
    args = parser.parse_args()
    size = int(args.mib * 1024 * 1024)
    if args.unit:
        huge = (args.unit * (size // len(args.unit))).encode()
        print(f"page: {len(huge) / 1024 / 1024:.2f} MiB of {args.unit!r}", flush=True)
    else:
        huge = page(args.links, size)
        print(f"page: {len(huge) / 1024 / 1024:.2f} MiB, {args.links:,} links", flush=True)
    for name, body in [("small page (30 links)", page(30, 0)), ("huge page", huge)]:
        with tempfile.TemporaryDirectory() as tmp:
            result = crawl(Path(tmp), body, args.timeout)
        print(
            f"{name}: peak RSS {result['peak_mib']:.0f} MiB, {result['seconds']:.1f} s, "
            f"page stored {result['page_stored']}, links stored {result['links_stored']:,}, "
            f"links_truncated {result['links_truncated']}, exit codes {result['exit_codes']}, "
            f"spill files {result['spill_files']}",
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())

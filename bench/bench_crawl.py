"""Crawl speed: backlinkbot workers against plain Scrapy and textbook scrapy-redis.

All three crawl the same static web (``bench/staticweb.py``: HOSTS hosts of
PAGES pages, 20-50 KB each) served by nginx, through it as ``http_proxy``,
with the same concurrency (32 requests, 4 per host), in one run, against one
embedded Redis and one MongoDB-wire server (or the MongoDB that
``MONGODB_URI`` names; the databases ``textbook``, ``ours1`` and ``ours2`` are
dropped first):

- plain Scrapy: default scheduler, LinkExtractor, follows every link, stores
  nothing (``bench/peers/plain_scrapy.py``);
- textbook scrapy-redis: RedisSpider, its scheduler and dupefilter,
  LinkExtractor, a pymongo ``insert_one`` per item
  (``bench/peers/textbook_scrapy_redis.py``);
- backlinkbot with 1 and 2 worker processes (robots.txt, link extraction,
  normalization, edge dedup, MongoDB graph writes), host delay 0.

Prints responses, wall seconds, responses/s and the CPU time of the crawling
processes per response (workers and peers) per run, the CPU time each server
(Redis, the MongoDB-wire server, nginx) spent on the run, and the ratios of
responses/s. With ``--repeat N`` the crawlers take turns N times
(each round on empty databases, the order rotated by one each round) and the
medians are compared, so that a passing load on the machine, or the crawler
that ran just before, does not decide a ratio. With ``--timeline`` nginx
logs when it answers each request, and each run also shows its first and
last response and its steady rate (the responses between the 10th and the
90th percentile of their times, per second: start-up and the end of the
crawl left out); the ratios of the steady rates follow those of the wall
times.

    python bench/bench_crawl.py --hosts 100 --pages 100 --repeat 3 --timeline
    python bench/bench_crawl.py --only ours1,ours2 --set BACKLINKBOT_SINK_BATCH_PAGES=500

With ``--baseline DIR`` (a checkout of another commit with its own
``.venv``, e.g. made by ``git worktree add``) one worker of that checkout
takes its turn too, and the ratio of this tree's worker to it is printed:
how a change moves the crawl's speed, measured in the same run.

    git worktree add /tmp/base HEAD~5 && (cd /tmp/base && python3 -m venv .venv \
        && .venv/bin/pip install -q -e '.[embedded]')
    python bench/bench_crawl.py --only ours1 --baseline /tmp/base --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pymongo
import redis

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from proccpu import process_cpu  # noqa: E402
from staticweb import Nginx, generate  # noqa: E402

from backlinkbot.connection import CrawlKeys  # noqa: E402
from backlinkbot.embedded import EmbeddedMongo, EmbeddedRedis  # noqa: E402
from backlinkbot.runner import CrawlOptions, reset_frontier, run_crawl  # noqa: E402


def _child_cpu() -> float:
    """CPU seconds (user + system) of the child processes waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class ServerCPU:
    """The CPU time the servers (Redis, MongoDB-wire, nginx) spend on a run."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start = self.read()  # where the next lap starts

    def read(self) -> dict[str, float]:
        return {name: process_cpu(pid) for name, pid in self.pids.items()}

    def lap(self) -> str:
        """Each server's CPU since the last lap, as printed; starts the next."""
        now = self.read()
        spent = {name: now[name] - self.start[name] for name in now}
        self.start = now
        return "  servers " + ", ".join(f"{name} {cpu:.1f} s" for name, cpu in spent.items())


class Timeline:
    """When nginx answered each request of a run, from its access log
    (``$msec``); off without ``--timeline``."""

    def __init__(self, log: Path | None) -> None:
        self.log = log
        self.offset = 0  # where the next run's lines start

    def lap(self, started: float) -> tuple[str, float | None]:
        """The run's first and last response (seconds after ``started``, a
        ``time.time()``) and its steady rate: the responses between the
        10th and the 90th percentile of their times, per second, which
        leaves out start-up and the end of the crawl. Starts the next lap."""
        if self.log is None or not self.log.exists():
            return "", None
        with self.log.open() as lines:
            lines.seek(self.offset)
            stamps = sorted(float(line) for line in lines if line.strip())
            self.offset = lines.tell()
        if len(stamps) < 20:
            return "", None
        low, high = len(stamps) // 10, len(stamps) * 9 // 10
        steady = (high - low) / max(stamps[high] - stamps[low], 1e-9)
        return (f"  first {stamps[0] - started:.1f} s, last {stamps[-1] - started:.1f} s,"
                f" steady {steady:.1f} resp/s", steady)  # fmt: skip


def _peer(script: str, args: list[str], env: dict[str, str]) -> tuple[dict[str, float], float]:
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, str(HERE / "peers" / script), *args],
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.monotonic() - started
    return json.loads(out.stdout.strip().splitlines()[-1]), wall


def _show(name: str, responses: int, wall: float, cpu: float, servers: ServerCPU,
          timeline: Timeline, started: float) -> float | None:  # fmt: skip
    """Print a run's line; its steady rate (None without ``--timeline``)."""
    times, steady = timeline.lap(started)
    print(f"{name:28} {responses:7d} responses {wall:7.1f} s {responses / wall:8.1f} resp/s"
          f" {cpu / responses * 1000:6.2f} ms CPU/resp ({cpu:.1f} s)"
          f"{servers.lap()}{times}", flush=True)  # fmt: skip
    return steady


PLAIN, TEXTBOOK = "plain Scrapy", "textbook scrapy-redis"
OURS = {1: "backlinkbot, 1 worker(s)", 2: "backlinkbot, 2 worker(s)"}
BASELINE = "baseline, 1 worker"
_OURS_SETTINGS = {"BACKLINKBOT_HOST_DELAY": "0", "LOG_LEVEL": "WARNING",
                  "BACKLINKBOT_IDLE_POLL_INTERVAL": "0.2"}  # fmt: skip

# Run by the baseline checkout's own Python: its runner, its key names.
_BASELINE_CHILD = """
import json, os, sys
import redis
try:
    from backlinkbot.connection import CrawlKeys
except ImportError:
    from backlinkbot.frontier.keys import CrawlKeys
from backlinkbot.runner import CrawlOptions, reset_frontier, run_crawl
from pathlib import Path
job = json.loads(sys.argv[1])
client = redis.Redis.from_url(os.environ["REDIS_URL"])
keys = CrawlKeys(job["prefix"])
reset_frontier(client, keys)
cached = list(client.scan_iter(keys.prefix + ":robots:*"))
if cached:
    client.delete(*cached)
client.rpush(keys.start_urls, *job["seeds"])
options = CrawlOptions(workers=1, log_dir=Path(job["log_dir"]), progress_interval=0.1,
                       settings=job["settings"])
with open(os.devnull, "w") as quiet:
    summary = run_crawl(client, keys, options, out=quiet)
print(json.dumps({"responses": summary.stats.get("downloader/response_count", 0),
                  "seconds": summary.seconds}))
"""


def _round(runs: list[str], seeds: list[str], env: dict[str, str], client: redis.Redis,
           mongo_uri: str, tmp: Path, servers: ServerCPU, timeline: Timeline,
           extra: dict[str, str], turn: int = 0, baseline: Path | None = None,
           ) -> dict[str, tuple[int, float, float | None]]:  # fmt: skip
    """One run of each selected crawler, the order rotated by ``turn`` (so
    that no crawler always follows the heaviest one); name -> (responses,
    wall seconds, steady responses/s or None)."""
    results: dict[str, tuple[int, float, float | None]] = {}
    # Every round starts from empty databases: the same first crawl each time.
    with pymongo.MongoClient(mongo_uri) as mongo:
        for name in ("textbook", "ours1", "ours2", "base1"):
            mongo.drop_database(name)
    servers.lap()
    timeline.lap(0.0)

    def show(name: str, responses: int, wall: float, cpu: float, started: float) -> None:
        steady = _show(name, responses, wall, _child_cpu() - cpu, servers, timeline, started)
        results[name] = (responses, wall, steady)

    def plain() -> None:
        cpu, started = _child_cpu(), time.time()
        got, wall = _peer("plain_scrapy.py", seeds, env)
        show(PLAIN, int(got["responses"]), wall - got["idle_wait"], cpu, started)

    def textbook() -> None:
        client.delete("textbook:start_urls", "textbook:requests", "textbook:dupefilter")
        client.rpush("textbook:start_urls", *seeds)
        cpu, started = _child_cpu(), time.time()
        got, wall = _peer("textbook_scrapy_redis.py", [], {**env, "MONGODB_DATABASE": "textbook"})
        # Idle, waiting to close (MAX_IDLE_TIME_BEFORE_CLOSE): not crawl time.
        show(TEXTBOOK, int(got["responses"]), wall - got["idle_wait"], cpu, started)

    def base() -> None:
        assert baseline is not None
        job = {"prefix": "benchbase", "seeds": seeds, "log_dir": str(tmp / "logsbase"),
               "settings": {**_OURS_SETTINGS, **extra}}  # fmt: skip
        cpu, started = _child_cpu(), time.time()
        out = subprocess.run(
            [str(baseline / ".venv" / "bin" / "python"), "-c", _BASELINE_CHILD, json.dumps(job)],
            env={**env, "MONGODB_DATABASE": "base1", "BACKLINKBOT_REDIS_PREFIX": "benchbase"},
            cwd=baseline, check=True, capture_output=True, text=True,
        )  # fmt: skip
        got = json.loads(out.stdout.strip().splitlines()[-1])
        show(BASELINE, int(got["responses"]), float(got["seconds"]), cpu, started)

    def ours(workers: int) -> None:
        keys = CrawlKeys(f"bench{workers}")
        reset_frontier(client, keys)
        # robots.txt rules are cached across crawls: each round fetches them.
        cached = list(client.scan_iter(f"{keys.prefix}:robots:*"))
        if cached:
            client.delete(*cached)
        client.rpush(keys.start_urls, *seeds)
        options = CrawlOptions(
            workers=workers,
            log_dir=tmp / f"logs{workers}",
            progress_interval=0.1,
            settings={**_OURS_SETTINGS, **extra},
        )
        os.environ.update({**env, "MONGODB_DATABASE": f"ours{workers}",
                           "BACKLINKBOT_REDIS_PREFIX": keys.prefix})  # fmt: skip
        cpu, started = _child_cpu(), time.time()
        with open(os.devnull, "w") as quiet:
            summary = run_crawl(client, keys, options, out=quiet)
        responses = summary.stats.get("downloader/response_count", 0)
        show(OURS[workers], responses, summary.seconds, cpu, started)

    steps = {"plain": plain, "textbook": textbook, "base1": base,
             "ours1": lambda: ours(1), "ours2": lambda: ours(2)}  # fmt: skip
    chosen = [name for name in steps if name in runs]
    turn %= max(1, len(chosen))
    for name in chosen[turn:] + chosen[:turn]:
        steps[name]()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--pages", type=int, default=100, help="pages per host")
    parser.add_argument("--only", default="plain,textbook,ours1,ours2")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of every crawler; medians are compared"
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="a Scrapy setting for backlinkbot's workers (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--timeline", action="store_true",
        help="nginx logs when it answers; print each run's first and last response"
             " and its steady rate (10th to 90th percentile), and their ratios",
    )  # fmt: skip
    parser.add_argument(
        "--baseline", type=Path, metavar="DIR",
        help="a checkout of another commit, with its own .venv: its one worker runs too",
    )  # fmt: skip
    args = parser.parse_args()
    runs = args.only.split(",")
    if args.baseline is not None:
        args.baseline = args.baseline.resolve()
        runs.append("base1")
    extra = dict(item.split("=", 1) for item in args.set)
    print(f"web: {args.hosts} hosts x {args.pages} pages", flush=True)
    rates: dict[str, list[float]] = {}
    steady: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        tmp.chmod(0o755)  # nginx's workers read the web as an unprivileged user
        seeds = generate(tmp / "web", hosts=args.hosts, pages_per_host=args.pages)
        redis_server = EmbeddedRedis(tmp / "redis", appendonly=False)
        # A real MongoDB when MONGODB_URI names one; else the embedded stand-in.
        mongo_server = None if os.environ.get("MONGODB_URI") else EmbeddedMongo(tmp / "mongo")
        redis_url = redis_server.start()
        mongo_uri = mongo_server.start() if mongo_server else os.environ["MONGODB_URI"]
        client = redis.Redis.from_url(redis_url)
        try:
            access_log = tmp / "nginx" / "access.log" if args.timeline else None
            with Nginx(tmp / "web", tmp / "nginx", access_log=access_log) as nginx:
                pids = {"redis": redis_server.process.pid}  # type: ignore[union-attr]
                if mongo_server is not None:
                    pids["mongodb-wire"] = mongo_server.process.pid  # type: ignore[union-attr]
                pids["nginx"] = nginx.process.pid  # type: ignore[union-attr]
                servers, timeline = ServerCPU(pids), Timeline(access_log)
                env = {**os.environ, "http_proxy": nginx.url, "REDIS_URL": redis_url,
                       "MONGODB_URI": mongo_uri}  # fmt: skip
                for number in range(1, args.repeat + 1):
                    if args.repeat > 1:
                        print(f"round {number}", flush=True)
                    for name, (responses, wall, rate_steady) in _round(
                        runs, seeds, env, client, mongo_uri, tmp, servers, timeline, extra,
                        turn=number - 1, baseline=args.baseline,
                    ).items():  # fmt: skip
                        rates.setdefault(name, []).append(responses / wall)
                        if rate_steady is not None:
                            steady.setdefault(name, []).append(rate_steady)
        finally:
            client.close()
            redis_server.stop()
            if mongo_server is not None:
                mongo_server.stop()
    _compare(rates, args.repeat > 1, "")
    if steady:
        _compare(steady, args.repeat > 1, "steady ")


def _compare(rates: dict[str, list[float]], medians: bool, kind: str) -> None:
    """Print the medians (with ``medians``) and the ratios of ``rates``
    (name -> responses/s of each round)."""
    rate = {name: statistics.median(values) for name, values in rates.items()}
    if medians:
        for name, values in rates.items():
            shown = ", ".join(f"{v:.1f}" for v in values)
            print(f"{name:28} median {kind}{rate[name]:8.1f} resp/s  ({shown})")
    one = rate.get(OURS[1])
    if one:
        for peer in (PLAIN, TEXTBOOK):
            if peer in rate:
                print(f"{kind}1 worker / {peer}: {one / rate[peer]:.2f}x")
        if OURS[2] in rate:
            print(f"{kind}2 workers / 1 worker: {rate[OURS[2]] / one:.2f}x")
        if BASELINE in rate:
            print(f"{kind}1 worker / baseline: {one / rate[BASELINE]:.3f}x")


if __name__ == "__main__":
    main()

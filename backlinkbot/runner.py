"""Run a crawl on this machine: seed the frontier, start workers, watch them.

Each worker is an ordinary ``scrapy crawl backlinks`` process; they share the
frontier in Redis exactly as workers on other machines would. While they run,
progress is read from the cluster stats in Redis (one ``HGETALL`` and one
``GET`` per tick) and printed; at the end a summary, whose last line says
whether the crawl finished or was stopped with work left (and what is left).

The workers never outlive the runner's watch, whatever ends it. SIGTERM or
SIGINT (Ctrl-C) is passed on to them (a second one stops them at once, as
Scrapy does), and the runner waits for them to finish their pages, return
their leases and exit. An exception stops them (SIGTERM, then SIGKILL after
:data:`STOP_SECONDS`). Each worker runs in a process group of its own, so a
terminal's Ctrl-C reaches it only through the runner, and on Linux it gets
SIGTERM should the runner itself be killed.

While Redis cannot be reached (restarted, failed over) the workers wait for
it, and so does the runner: a progress report it cannot read is skipped (the
first of an outage says so), the seeds and the summary's figures are read
once Redis answers again (the figures for up to :data:`REDIS_WAIT` seconds).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import redis

from backlinkbot.connection import CrawlKeys
from backlinkbot.refusals import refused_fetches
from backlinkbot.urlnorm import InvalidURL, normalize_url

__all__ = [
    "CrawlOptions",
    "CrawlSummary",
    "SinkWatch",
    "WorkLeft",
    "cluster_stats",
    "push_seeds",
    "reset_frontier",
    "run_crawl",
    "work_left",
]

_T = TypeVar("_T")

#: Seconds the workers get to stop after an exception before they are killed.
STOP_SECONDS = 120.0
#: Seconds the summary waits for Redis to answer, once the workers exited.
REDIS_WAIT = 60.0
#: Exit status of a crawl stopped with work left (continue it with --resume).
STOPPED = 3
_PR_SET_PDEATHSIG = 1


@dataclass
class CrawlOptions:
    workers: int = 2
    max_pages: int = 0
    max_depth: int = 0
    settings: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None
    progress_interval: float = 2.0
    #: Seeds to queue once every worker is up (instead of before they start).
    seeds_after_start: list[str] = field(default_factory=list)
    #: The cluster counters before this run (a resumed crawl's): the
    #: progress and the summary count only what this run adds to them.
    baseline: dict[str, int] = field(default_factory=dict)

    @property
    def page_budget(self) -> int:
        """The crawl's ``BACKLINKBOT_MAX_PAGES`` (0: none)."""
        return self.max_pages or int(self.settings.get("BACKLINKBOT_MAX_PAGES") or 0)


@dataclass(frozen=True)
class WorkLeft:
    """What the frontier still holds once the workers are gone."""

    queued: int
    leased: int
    seeds: int
    #: The page budget is spent: what is queued is left by design.
    budget_spent: bool = False

    @property
    def finished(self) -> bool:
        return self.budget_spent or not (self.queued or self.leased or self.seeds)


@dataclass
class CrawlSummary:
    seconds: float
    stats: dict[str, int]
    exit_codes: list[int]
    #: What was left in the frontier; None when Redis did not answer.
    left: WorkLeft | None = None
    #: The signals that stopped the crawl (SIGTERM, SIGINT), in order.
    stopped_by: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return self.stats.get("backlinkbot/pages/fetched", 0)

    @property
    def ok(self) -> bool:
        return all(code == 0 for code in self.exit_codes)

    @property
    def finished(self) -> bool:
        return self.left is not None and self.left.finished

    @property
    def exit_status(self) -> int:
        """0: finished, every worker exited 0; stopped with work left: 128 +
        the signal's number when a signal to the command stopped it (130 for
        SIGINT, 143 for SIGTERM, as a shell reports it), else
        :data:`STOPPED`; 1: a worker failed, or what is left is not known."""
        if self.left is not None and not self.left.finished:
            if self.stopped_by:
                return 128 + signal.Signals[self.stopped_by[0]].value
            return STOPPED
        return 0 if self.finished and self.ok else 1


def reset_frontier(server: redis.Redis, keys: CrawlKeys) -> None:
    """Forget the previous crawl's queue, seen URLs, leases and counters."""
    server.delete(*keys.all())
    for pattern in keys.patterns():
        batch = list(server.scan_iter(pattern, count=1000))
        for start in range(0, len(batch), 1000):
            server.delete(*batch[start : start + 1000])


def push_seeds(server: redis.Redis, keys: CrawlKeys, urls: list[str]) -> tuple[int, list[str]]:
    """Normalize and queue seeds in one round trip; returns (queued, rejected)."""
    good: list[str] = []
    bad: list[str] = []
    for url in urls:
        try:
            good.append(normalize_url(url))
        except InvalidURL:
            bad.append(url)
    if good:
        server.rpush(keys.start_urls, *good)
    return len(good), bad


def cluster_stats(server: redis.Redis, keys: CrawlKeys) -> dict[str, int]:
    """The crawl's cluster-wide counters (one ``HGETALL``)."""
    raw: dict[Any, Any] = server.hgetall(keys.stats)
    return {(k.decode() if isinstance(k, bytes) else str(k)): int(v) for k, v in raw.items()}


def _worker_command(options: CrawlOptions, index: int) -> list[str]:
    command = [sys.executable, "-m", "scrapy", "crawl", "backlinks"]
    settings = dict(options.settings)
    if options.max_pages:
        settings["BACKLINKBOT_MAX_PAGES"] = str(options.max_pages)
    if options.max_depth:
        settings["DEPTH_LIMIT"] = str(options.max_depth)
    if options.log_dir is not None:
        settings["LOG_FILE"] = str(options.log_dir / f"worker-{index}.log")
    for name, value in settings.items():
        command += ["-s", f"{name}={value}"]
    return command


def _parent_death_signal() -> Callable[[], None] | None:
    """A function that, run in a new child process (``preexec_fn``), has it
    get SIGTERM when its parent dies (Linux ``prctl``); None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def die_with_parent() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return die_with_parent


def _start_workers(options: CrawlOptions, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    die_with_parent = _parent_death_signal()
    return [
        subprocess.Popen(
            _worker_command(options, i),
            env=env,
            stdin=subprocess.DEVNULL,
            process_group=0,
            preexec_fn=die_with_parent,
        )
        for i in range(options.workers)
    ]


def _stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to the workers still running, SIGKILL to those still running
    :data:`STOP_SECONDS` later; returns once all have exited."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for worker in workers:
        try:
            worker.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


class _PassedOn:
    """SIGTERM and SIGINT of this process, passed on to the workers (only in
    the main thread, where Python runs signal handlers)."""

    def __init__(self, workers: list[subprocess.Popen[bytes]]) -> None:
        self.workers = workers
        self.received: list[str] = []
        self._saved: dict[int, Any] = {}

    def __call__(self, signum: int, frame: Any) -> None:
        self.received.append(signal.Signals(signum).name)
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signum)

    @contextlib.contextmanager
    def installed(self) -> Iterator[_PassedOn]:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM.value, signal.SIGINT.value):
                self._saved[signum] = signal.signal(signum, self)
        try:
            yield self
        finally:
            for signum, handler in self._saved.items():
                signal.signal(signum, handler)


class _Watch:
    """The runner's calls to Redis, which fail softly while it is away."""

    def __init__(self, server: redis.Redis, out: IO[str]) -> None:
        self.server = server
        self.out = out
        self.away = False

    def ask(self, what: Callable[[], _T]) -> _T | None:
        """``what()``, or None while Redis cannot be reached."""
        try:
            answer = what()
        except redis.RedisError as exc:
            if not self.away:
                reason = str(exc) or type(exc).__name__
                print(f"Redis unreachable ({reason}); the workers wait for it, and so does "
                      "this progress report", file=self.out, flush=True)  # fmt: skip
            self.away = True
            return None
        if self.away:
            print("Redis reachable again", file=self.out, flush=True)
            self.away = False
        return answer

    def wait_for(
        self,
        what: Callable[[], _T],
        *,
        still: Callable[[], bool] = lambda: True,
        seconds: float = float("inf"),
    ) -> _T | None:
        """``what()`` once Redis answers, asked every half second while
        ``still()`` (always, by default) and for at most ``seconds``; None if
        it never did."""
        deadline = time.monotonic() + seconds
        while (answer := self.ask(what)) is None:
            if not still() or time.monotonic() > deadline:
                return None
            time.sleep(0.5)
        return answer


def _wait_for_workers(
    watch: _Watch, keys: CrawlKeys, workers: list[subprocess.Popen[bytes]],
    *, timeout: float = 60.0,
) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout
    while (watch.ask(lambda: int(watch.server.hlen(keys.heartbeat))) or 0) < len(workers):
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            return
        time.sleep(0.1)


def since(stats: dict[str, int], baseline: dict[str, int]) -> dict[str, int]:
    """What ``stats`` added to ``baseline``: this run's counters."""
    return {name: value - baseline.get(name, 0) for name, value in stats.items()}


def links_stored(stats: dict[str, int]) -> int:
    """Edges written: new ones, changed ones, and ones seen again."""
    return sum(stats.get(f"backlinkbot/sink/links_{what}", 0) for what in _LINK_WRITES)


_LINK_WRITES = ("inserted", "updated", "restored", "refreshed")


class SinkWatch:
    """The graph store's state, for the progress line, from the counters:
    failing from a report that saw writes retried until one that sees pages
    stored again (workers back off for up to ``BACKLINKBOT_SINK_MAX_BACKOFF``
    between retries, so a report can see none while it is still away)."""

    def __init__(self) -> None:
        self.before: dict[str, int] = {}
        self.failing = False

    def state(self, stats: dict[str, int]) -> str:
        """Empty while the store takes the pages; else what waits for it."""

        def grew(name: str) -> int:
            return stats.get(name, 0) - self.before.get(name, 0)

        retried = grew("backlinkbot/sink/retries")
        if retried > 0:
            self.failing = True
        elif grew("backlinkbot/sink/pages_written") > 0:
            self.failing = False
        self.before = stats
        if not self.failing:
            return ""
        waiting = stats.get("backlinkbot/pages/fetched", 0) - sum(
            stats.get(f"backlinkbot/sink/pages_{what}", 0) for what in ("written", "rejected")
        )
        spilled = stats.get("backlinkbot/sink/pages_spilled", 0)
        return (
            f"MongoDB unavailable, writes retried: about {max(0, waiting)} pages wait"
            f" to be stored ({spilled} spilled to disk)"
        )


def progress_line(
    stats: dict[str, int], queued: int, rate: float, *, leased: int = 0, sink: str = ""
) -> str:
    line = (
        f"pages {stats.get('backlinkbot/pages/fetched', 0)}"
        f" | queued {queued}"
        f" | leased {leased}"
        f" | links stored {links_stored(stats)}"
        f" | errors {stats.get('backlinkbot/pages/errors', 0)}"
        f" | {rate:.1f} pages/s"
    )
    return f"{line} | {sink}" if sink else line


def _progress(server: redis.Redis, keys: CrawlKeys) -> tuple[dict[str, int], int, int]:
    """The cluster counters, queued and leased requests (one pipeline)."""
    with server.pipeline(transaction=False) as pipe:
        pipe.hgetall(keys.stats)
        pipe.get(keys.queued)
        pipe.zcard(keys.leased)
        raw, queued, leased = pipe.execute()
    stats = {(k.decode() if isinstance(k, bytes) else str(k)): int(v) for k, v in raw.items()}
    return stats, int(queued or 0), int(leased)


def work_left(server: redis.Redis, keys: CrawlKeys, page_budget: int) -> WorkLeft:
    """What the crawl's frontier holds (one pipeline)."""
    with server.pipeline(transaction=False) as pipe:
        pipe.get(keys.queued)
        pipe.zcard(keys.leased)
        pipe.llen(keys.start_urls)
        pipe.get(keys.dequeued)
        queued, leased, seeds, dequeued = pipe.execute()
    return WorkLeft(
        queued=int(queued or 0), leased=int(leased), seeds=int(seeds),
        budget_spent=page_budget > 0 and int(dequeued or 0) >= page_budget,
    )  # fmt: skip


def run_crawl(
    server: redis.Redis, keys: CrawlKeys, options: CrawlOptions, *, out: IO[str] = sys.stderr
) -> CrawlSummary:
    """Start the workers and wait for them, printing progress to ``out``."""
    env = dict(os.environ)
    env.setdefault("SCRAPY_SETTINGS_MODULE", "backlinkbot.settings")
    if options.log_dir is not None:
        options.log_dir.mkdir(parents=True, exist_ok=True)
    watch = _Watch(server, out)
    started = time.monotonic()
    workers = _start_workers(options, env)
    last_pages, last_time = 0, started
    sink = SinkWatch()

    def running() -> bool:
        return any(w.poll() is None for w in workers)

    with _PassedOn(workers).installed() as passed_on:
        try:
            if options.seeds_after_start:
                _wait_for_workers(watch, keys, workers)
                seeds = options.seeds_after_start
                watch.wait_for(lambda: push_seeds(server, keys, seeds), still=running)
            told = 0
            while alive := [w for w in workers if w.poll() is None]:
                if len(passed_on.received) > told:
                    told = len(passed_on.received)
                    print(f"{passed_on.received[-1]}: passed on to the workers; they finish "
                          "their pages and stop", file=out, flush=True)  # fmt: skip
                # Wake when the first live worker exits (its exit is seen
                # within 50 ms) or when progress is due: the crawl's end is
                # not left waiting for the next tick.
                due = last_time + options.progress_interval
                with contextlib.suppress(subprocess.TimeoutExpired):
                    alive[0].wait(timeout=max(0.0, due - time.monotonic()))
                now = time.monotonic()
                if now < due:
                    continue
                progress = watch.ask(lambda: _progress(server, keys))
                if progress is None:
                    last_time = now  # the next report when it is due again
                    continue
                totals, queued, leased = progress
                stats = since(totals, options.baseline)
                pages = stats.get("backlinkbot/pages/fetched", 0)
                rate = (pages - last_pages) / (now - last_time)
                last_pages, last_time = pages, now
                line = progress_line(stats, queued, rate, leased=leased, sink=sink.state(stats))
                print(line, file=out, flush=True)
        except BaseException:
            _stop_workers(workers)
            raise
    codes = [w.wait() for w in workers]
    seconds = time.monotonic() - started
    final = watch.wait_for(lambda: cluster_stats(server, keys), seconds=REDIS_WAIT)
    left = watch.wait_for(lambda: work_left(server, keys, options.page_budget), seconds=REDIS_WAIT)
    this_run = since(final, options.baseline) if final is not None else {}
    return CrawlSummary(seconds, this_run, codes, left=left, stopped_by=passed_on.received)


def verdict(summary: CrawlSummary) -> str:
    """The summary's last line: finished, or stopped with what left."""
    left = summary.left
    if left is None:
        return "crawl ended, but Redis did not answer: whether work is left is not known"
    if left.finished:
        if left.budget_spent:
            return f"crawl finished: the page budget is spent ({left.queued} URLs left queued)"
        return "crawl finished: the frontier is empty"
    by = f" by {' and '.join(dict.fromkeys(summary.stopped_by))}" if summary.stopped_by else ""
    return (
        f"crawl stopped{by} with work left: {left.queued} URLs queued, {left.leased} leased,"
        f" {left.seeds} seeds waiting; continue it with backlinkbot crawl --resume"
    )


def format_summary(summary: CrawlSummary) -> str:
    """This run's figures (a resumed crawl's earlier runs not counted), the
    fetches refused by reason with their setting, and :func:`verdict`."""
    s = summary.stats
    rate = summary.pages / summary.seconds if summary.seconds else 0.0
    rejected = sum(v for k, v in s.items() if k.startswith("backlinkbot/links_rejected/"))
    changed = s.get("backlinkbot/sink/links_updated", 0) + s.get(
        "backlinkbot/sink/links_restored", 0
    )
    lines = [
        f"crawl ran {summary.seconds:.1f} s ({rate:.1f} pages/s)",
        f"  pages fetched     {summary.pages}",
        f"    html            {s.get('backlinkbot/pages/html', 0)}",
        f"    redirects       {s.get('backlinkbot/pages/redirect', 0)}",
        f"    non-html        {s.get('backlinkbot/pages/skipped_non_html', 0)}",
        f"    fetch errors    {s.get('backlinkbot/pages/errors', 0)}",
        f"    links cut off   {s.get('backlinkbot/pages/links_truncated', 0)} pages",
        f"  links stored      {links_stored(s)}",
        f"    new             {s.get('backlinkbot/sink/links_inserted', 0)}",
        f"    changed         {changed}",
        f"    seen again      {s.get('backlinkbot/sink/links_refreshed', 0)}",
        f"  links rejected    {rejected}",
    ]
    refused = refused_fetches(s)
    lines.append(f"  fetches refused   {sum(count for _, count, _ in refused)}")
    lines += [f"    {count:<6} {reason} ({setting})" for reason, count, setting in refused]
    if retries := s.get("backlinkbot/sink/retries", 0):
        lines += [
            f"  MongoDB retries   {retries} writes",
            f"  spilled to disk   {s.get('backlinkbot/sink/pages_spilled', 0)} pages",
        ]
    lines += [
        f"  sink failures     {s.get('backlinkbot/sink/pages_rejected', 0)} pages",
        f"  left on disk      {s.get('backlinkbot/sink/pages_left_on_disk', 0)} pages",
        f"  workers           {len(summary.exit_codes)} (exit codes {summary.exit_codes})",
        verdict(summary),
    ]
    return "\n".join(lines)

"""``backlinkbot crawl`` run as a user runs it, and ended every way it can
end: it survives a Redis restart, never leaves a worker running after it,
and its exit status and last line say whether the crawl finished or was
stopped with work left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from backlinkbot.connection import CrawlKeys
from backlinkbot.demoweb import DemoWebServer, SyntheticWeb, generate_web
from backlinkbot.embedded import EmbeddedRedis
from backlinkbot.runner import STOPPED, cluster_stats

from .crawling import crawl_env, diff_edges, stored_edges

pytestmark = pytest.mark.e2e

FINISHED = "crawl finished: the frontier is empty"
QUICK = [
    "BACKLINKBOT_IDLE_POLL_INTERVAL=0.3",
    "BACKLINKBOT_STATS_INTERVAL=0.5",
    # Leases given up on a restarted Redis come back quickly.
    "BACKLINKBOT_LEASE_TIMEOUT=5",
]


@pytest.fixture(scope="module")
def web() -> SyntheticWeb:
    return generate_web(profile="test", seed=11)


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in status:
            found.append(int(entry))
    return found


def _is_worker(pid: int) -> bool:
    try:
        return b"backlinks" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(0.1)


class Command:
    """One ``backlinkbot crawl`` in a subprocess, its output in files."""

    def __init__(self, args: list[str], env: dict[str, str], tmp_path: Path, name: str) -> None:
        self.stdout = tmp_path / f"{name}.out"
        self.stderr = tmp_path / f"{name}.err"
        with open(self.stdout, "w") as out, open(self.stderr, "w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "backlinkbot", "crawl", *args],
                env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        self.workers: list[int] = []

    def wait_for_workers(self, count: int) -> None:
        def started() -> bool:
            assert self.process.poll() is None, self.stderr.read_text()[-3000:]
            self.workers = [pid for pid in _children(self.process.pid) if _is_worker(pid)]
            return len(self.workers) >= count

        _wait_for(started, 60, "the workers")

    def wait(self, timeout: float = 180) -> int:
        return self.process.wait(timeout=timeout)

    def last_line(self) -> str:
        lines = self.stdout.read_text().splitlines()
        return lines[-1] if lines else ""

    def kill(self) -> None:
        """SIGKILL to the command and to each of its workers still running."""
        for pid in [self.process.pid, *self.workers]:
            if _alive(pid) and (pid == self.process.pid or _is_worker(pid)):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()


@contextmanager
def crawl_command(
    web: SyntheticWeb, demo: DemoWebServer, *, redis_url: str, mongo_uri: str, database: str,
    prefix: str, tmp_path: Path, resume: bool = False, name: str = "crawl",
) -> Iterator[Command]:  # fmt: skip
    env = {**os.environ, **crawl_env(redis_url=redis_url, mongo_uri=mongo_uri,
                                     database=database, prefix=prefix, proxy=demo.url)}  # fmt: skip
    env["BACKLINKBOT_DATA_DIR"] = str(tmp_path / "data")
    args = ["--resume"] if resume else list(web.seeds)
    args += ["--workers", "2"]
    for setting in QUICK:
        args += ["-s", setting]
    command = Command(args, env, tmp_path, name)
    try:
        yield command
    finally:
        command.kill()  # a failed test leaves nothing running


def _pages(redis_url: str, prefix: str) -> int:
    client = redis.Redis.from_url(redis_url)
    try:
        return cluster_stats(client, CrawlKeys(prefix)).get("backlinkbot/pages/fetched", 0)
    except redis.RedisError:
        return 0
    finally:
        client.close()


def _assert_exact_graph(web: SyntheticWeb, db: Any) -> None:
    problems = diff_edges(web.expected_edges, stored_edges(db))
    assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:20])
    assert {d["_id"] for d in db.pages.find()} == set(web.expected_pages)


def test_the_command_survives_a_redis_restart(
    web: SyntheticWeb, mongo_uri: str, mongo_db: Any, redis_prefix: str, tmp_path: Path
) -> None:
    server = EmbeddedRedis(tmp_path / "redis", appendonly=True)
    url = server.start()
    try:
        with DemoWebServer(web, latency=0.1) as demo, crawl_command(
            web, demo, redis_url=url, mongo_uri=mongo_uri, database=mongo_db.name,
            prefix=redis_prefix, tmp_path=tmp_path,
        ) as command:  # fmt: skip
            command.wait_for_workers(2)
            _wait_for(lambda: _pages(url, redis_prefix) >= 10, 60, "a crawl under way")
            assert command.process.poll() is None, "the crawl ended before Redis could go"
            server.kill()
            time.sleep(5)  # more than two progress reports without Redis
            server.start()
            code = command.wait()
        err = command.stderr.read_text()
        assert code == 0, err[-3000:]
        assert command.last_line() == FINISHED, command.stdout.read_text()
        # The reports went on after Redis came back, and the summary came.
        after = err.split("Redis reachable again", 1)
        assert "Redis unreachable" in after[0] and len(after) == 2, err[-3000:]
        assert "pages " in after[1], err[-3000:]
        assert "links stored" in command.stdout.read_text()
        assert not any(_alive(pid) for pid in command.workers)
        _assert_exact_graph(web, mongo_db)
    finally:
        server.stop()


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_crawl_with_work_left_and_resume_finishes_it(
    how: str, web: SyntheticWeb, redis_url: str, mongo_uri: str, mongo_db: Any,
    redis_prefix: str, tmp_path: Path,
) -> None:  # fmt: skip
    run = {"redis_url": redis_url, "mongo_uri": mongo_uri, "database": mongo_db.name,
           "prefix": redis_prefix, "tmp_path": tmp_path}  # fmt: skip
    with DemoWebServer(web, latency=0.25) as demo:
        with crawl_command(web, demo, **run) as command:
            command.wait_for_workers(2)
            _wait_for(lambda: _pages(redis_url, redis_prefix) >= 5, 60, "a crawl under way")
            command.process.send_signal(getattr(signal, how))
            code = command.wait(timeout=90)
        assert code == 128 + getattr(signal, how), command.stderr.read_text()[-3000:]
        line = command.last_line()
        assert line.startswith(f"crawl stopped by {how} with work left: "), line
        assert line.endswith("continue it with backlinkbot crawl --resume"), line
        assert " 0 leased," in line, line  # every worker gave its leases back
        assert not any(_alive(pid) for pid in command.workers)
        if how == "SIGINT":
            return
        with crawl_command(web, demo, **run, resume=True, name="resume") as again:
            code = again.wait()
        assert code == 0, again.stderr.read_text()[-3000:]
        assert again.last_line() == FINISHED
    _assert_exact_graph(web, mongo_db)


def test_workers_stopped_from_outside_leave_work_and_the_command_says_so(
    web: SyntheticWeb, redis_url: str, mongo_uri: str, mongo_db: Any, redis_prefix: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    with DemoWebServer(web, latency=0.25) as demo, crawl_command(
        web, demo, redis_url=redis_url, mongo_uri=mongo_uri, database=mongo_db.name,
        prefix=redis_prefix, tmp_path=tmp_path,
    ) as command:  # fmt: skip
        command.wait_for_workers(2)
        _wait_for(lambda: _pages(redis_url, redis_prefix) >= 5, 60, "a crawl under way")
        for pid in command.workers:  # what systemd or a cluster manager might do
            os.kill(pid, signal.SIGTERM)
        code = command.wait(timeout=90)
    assert code == STOPPED, command.stderr.read_text()[-3000:]
    line = command.last_line()
    assert line.startswith("crawl stopped with work left: "), line
    assert "exit codes [0, 0]" in command.stdout.read_text()


def test_killing_the_command_stops_its_workers(
    web: SyntheticWeb, redis_url: str, mongo_uri: str, mongo_db: Any, redis_prefix: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    with DemoWebServer(web, latency=0.25) as demo, crawl_command(
        web, demo, redis_url=redis_url, mongo_uri=mongo_uri, database=mongo_db.name,
        prefix=redis_prefix, tmp_path=tmp_path,
    ) as command:  # fmt: skip
        command.wait_for_workers(2)
        command.process.kill()  # SIGKILL: nothing of the command runs any more
        command.process.wait()
        _wait_for(lambda: not any(_alive(pid) for pid in command.workers), 60,
                  "the workers to stop")  # fmt: skip

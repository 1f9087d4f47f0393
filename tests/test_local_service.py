"""The embedded default as one local service per data directory: started
once, shared by every command, in a session of its own, stopped when idle
or when asked, never two servers on the same files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from backlinkbot.embedded import EmbeddedMongo, EmbeddedRedis, LocalService, ServerError
from backlinkbot.embedded.servers import AOF_STARTUP_SLACK_BYTES
from backlinkbot.embedded.service import ServiceInUse, _alive

from .crawling import backlinkbot, command_env
from .terminal import Terminal

pytestmark = pytest.mark.e2e


def services(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return backlinkbot(
        "services", *args, env=command_env(BACKLINKBOT_DATA_DIR=str(data_dir)), timeout=120
    )


def wait_for(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_commands_share_one_service_and_never_unlink_its_socket(local_data_dir: Path) -> None:
    first = services("start", data_dir=local_data_dir)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("started Redis at unix://")
    service = LocalService(local_data_dir)
    state = service.state()
    assert state is not None
    # In a session of its own: a terminal's ^C does not reach it.
    assert os.getsid(state.keeper) != os.getsid(0)
    assert os.getsid(state.redis.pid) == os.getsid(state.keeper)

    # Two more commands at once use the same servers; none starts its own.
    env = command_env(BACKLINKBOT_DATA_DIR=str(local_data_dir))
    argv = [sys.executable, "-m", "backlinkbot", "status", "--interval", "0.5"]
    runs = [
        subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert all("queued requests" in out for out, _ in outputs)
    again = service.state()
    assert again == state
    assert Path(state.redis.url.removeprefix("unix://")).exists()
    log = (local_data_dir / "services.log").read_text()
    assert log.count("serving Redis") == 1, log

    # The servers' own checks: never a second server on the same files.
    with pytest.raises(ServerError, match="already listens"):
        EmbeddedRedis(local_data_dir / "redis").start()
    with pytest.raises(ServerError, match="already serves"):
        EmbeddedMongo(local_data_dir / "mongodb").start()
    assert Path(state.redis.url.removeprefix("unix://")).exists()


def test_status_and_stop(local_data_dir: Path) -> None:
    down = services("status", data_dir=local_data_dir)
    assert down.returncode == 3 and "not running" in down.stdout
    service = LocalService(local_data_dir)
    with service.use("a test holding the service"):
        up = services("status", data_dir=local_data_dir)
        assert up.returncode == 0, up.stderr
        assert "Redis    unix://" in up.stdout and "MongoDB  mongodb://127.0.0.1:" in up.stdout
        assert "a test holding the service" in up.stdout
        as_json = json.loads(services("--json", data_dir=local_data_dir).stdout)
        assert as_json["running"] and len(as_json["users"]) == 1
        refused = services("stop", data_dir=local_data_dir)
        assert refused.returncode == 1 and "in use by" in refused.stdout
        with pytest.raises(ServiceInUse):
            service.stop()
        assert service.state() is not None
    stopped = services("stop", data_dir=local_data_dir)
    assert stopped.returncode == 0 and stopped.stdout.strip() == "stopped"
    assert service.state() is None
    assert not (local_data_dir / "run" / "state.json").exists()


def test_servers_stop_once_unused_for_the_idle_time(local_data_dir: Path) -> None:
    service = LocalService(local_data_dir, idle_seconds=1.0)
    with service.use("test") as (state, started):
        assert started
        time.sleep(2.0)  # in use: the idle time does not run
        assert service.state() == state
    wait_for(lambda: service.state() is None, timeout=20)
    wait_for(lambda: not _alive(state.redis.pid, str(local_data_dir)), timeout=20)
    wait_for(lambda: not _alive(state.mongodb.pid, str(local_data_dir)), timeout=20)
    assert "unused for 1 s: stopping" in (local_data_dir / "services.log").read_text()


def test_a_killed_keeper_takes_its_servers_along_and_the_next_command_starts_anew(
    local_data_dir: Path,
) -> None:
    service = LocalService(local_data_dir)
    with service.use("test") as (state, _):
        pass
    os.kill(state.keeper, signal.SIGKILL)
    wait_for(lambda: not _alive(state.redis.pid, str(local_data_dir)))
    wait_for(lambda: not _alive(state.mongodb.pid, str(local_data_dir)))
    assert service.state() is None  # the state file is stale
    with service.use("test") as (fresh, started):
        assert started and fresh.keeper != state.keeper
        client = redis.Redis.from_url(fresh.redis.url)
        assert client.ping()
        client.close()


def test_the_keeper_restarts_a_server_that_died(local_data_dir: Path) -> None:
    service = LocalService(local_data_dir)
    with service.use("test") as (state, _):
        client = redis.Redis.from_url(state.redis.url)
        client.set("kept", "yes")
        client.close()
        time.sleep(1.2)  # appendfsync everysec
        os.kill(state.redis.pid, signal.SIGKILL)
        wait_for(lambda: (s := service.state()) is not None and s.redis.pid != state.redis.pid)
        client = redis.Redis.from_url(state.redis.url)
        wait_for(lambda: client.get("kept") == b"yes")
        client.close()
    assert (
        "redis exited (code -9); starting it again" in (local_data_dir / "services.log").read_text()
    )


def test_mongodb_log_has_each_line_once_and_no_shutdown_tracebacks(tmp_path: Path) -> None:
    import pymongo

    server = EmbeddedMongo(tmp_path)
    server.start()
    clients = [pymongo.MongoClient(server.url) for _ in range(3)]
    for client in clients:
        client.db.x.insert_one({"a": 1})
    server.stop()  # with the clients' connections still open
    for client in clients:
        client.close()
    lines = server.log_path.read_text().splitlines()
    assert sum("Listening on" in line for line in lines) == 1, lines
    assert not [line for line in lines if "Traceback" in line or "CancelledError" in line]


def test_the_append_only_file_is_rewritten_when_it_outgrew_its_data(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    server.start()
    client = redis.Redis.from_url(server.url)
    blob = b"\0" * (AOF_STARTUP_SLACK_BYTES // 4)
    for _ in range(6):  # what new crawls do to their seen-URL filter
        client.delete("filter")
        client.set("filter", blob)
    client.close()
    server.stop()
    grown = server.aof_path.stat().st_size
    assert grown > AOF_STARTUP_SLACK_BYTES
    server.start()
    try:
        assert server.compact()
        wait_for(lambda: server.aof_path.stat().st_size < grown / 4)
    finally:
        server.stop()


def test_ctrl_c_at_the_terminal_reaches_the_command_not_the_servers(
    local_data_dir: Path,
) -> None:
    env = command_env(BACKLINKBOT_DATA_DIR=str(local_data_dir))
    terminal = Terminal(["status", "--watch"], env)
    terminal.expect("workers")
    terminal.interrupt()
    assert terminal.wait(timeout=30) == 0, terminal.text
    state = LocalService(local_data_dir).state()
    assert state is not None, terminal.text
    client = redis.Redis.from_url(state.redis.url)
    assert client.ping()
    client.close()

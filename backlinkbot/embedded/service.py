"""The embedded default as one local service per data directory.

The first command that needs the local servers starts a keeper
(:mod:`.keeper`) in a session of its own, so a terminal's Ctrl-C reaches
the command and not the servers. The keeper starts Redis and the
MongoDB-wire server and writes their addresses and pids to
``<data dir>/run/state.json``; later commands (and workers started without
``REDIS_URL`` / ``MONGODB_URI``) find them there and use them.

Each command that uses the servers holds a lock on a file of its own under
``run/users/``; the system releases it when the command exits, however it
exits. When no such lock has been held for ``idle_seconds``, the keeper
stops the servers. ``run/lock`` makes starting, joining and stopping happen
one at a time, so two commands never start two servers on the same files.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from .servers import ServerError, process_command_line

__all__ = ["LocalService", "ServerState", "ServiceInUse", "ServiceState", "User"]

#: How long a command waits for the keeper to have both servers answering.
START_TIMEOUT = 60.0
KEEPER_MODULE = "backlinkbot.embedded.keeper"


@dataclass(frozen=True, slots=True)
class ServerState:
    url: str
    pid: int
    log: str


@dataclass(frozen=True, slots=True)
class ServiceState:
    """What ``run/state.json`` says: the keeper, its servers, when it started."""

    keeper: int
    started_at: float
    idle_seconds: float
    redis: ServerState
    mongodb: ServerState

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> ServiceState:
        raw = json.loads(text)
        return cls(
            keeper=int(raw["keeper"]),
            started_at=float(raw["started_at"]),
            idle_seconds=float(raw["idle_seconds"]),
            redis=ServerState(**raw["redis"]),
            mongodb=ServerState(**raw["mongodb"]),
        )


@dataclass(frozen=True, slots=True)
class User:
    """A process that uses the service now."""

    pid: int
    command: str
    since: float


class ServiceInUse(ServerError):
    """``stop`` without ``force`` while commands use the servers."""

    def __init__(self, users: list[User]) -> None:
        self.users = users
        names = ", ".join(f"pid {u.pid} ({u.command})" for u in users)
        super().__init__(f"in use by {names}")


def _alive(pid: int, marker: str) -> bool:
    """Process ``pid`` runs and its command line contains ``marker`` (so a
    pid reused by another program, or a zombie, does not count)."""
    command = process_command_line(pid)
    if command is None:
        if not Path("/proc").is_dir():  # no procfs: trust the pid alone
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
            return True
        return False
    return any(marker in part for part in command)


def _terminate(pid: int, marker: str, *, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``, if ``pid`` is still ours."""
    if not _alive(pid, marker):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid, marker):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


class _Lease:
    """This process's use of the service: an exclusively locked file under
    ``run/users/``, named only once locked (so nobody sees it unlocked)."""

    def __init__(self, users_dir: Path, command: str) -> None:
        users_dir.mkdir(parents=True, exist_ok=True)
        name = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        draft = users_dir / f".new-{name}"
        self.fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        os.write(self.fd, json.dumps(
            {"pid": os.getpid(), "command": command, "since": time.time()}
        ).encode())  # fmt: skip
        self.path = users_dir / name
        os.rename(draft, self.path)

    def release(self) -> None:
        if self.fd < 0:
            return
        self.path.unlink(missing_ok=True)
        os.close(self.fd)
        self.fd = -1


class LocalService:
    """The local servers of one data directory, shared by every command."""

    def __init__(self, data_dir: Path, *, idle_seconds: float = 600.0) -> None:
        self.data_dir = data_dir
        self.idle_seconds = idle_seconds
        self.run_dir = data_dir / "run"
        self.lock_path = self.run_dir / "lock"
        self.state_path = self.run_dir / "state.json"
        self.keeper_pid_path = self.run_dir / "keeper.pid"
        self.users_dir = self.run_dir / "users"
        self.log_path = data_dir / "services.log"

    # -- reading -------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, *, blocking: bool = True) -> Iterator[bool]:
        """Hold ``run/lock``; yields False when ``blocking`` is off and
        another process holds it."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)

    def _recorded(self) -> ServiceState | None:
        try:
            return ServiceState.from_json(self.state_path.read_text())
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def state(self) -> ServiceState | None:
        """The running service, or None (a state whose keeper died is not)."""
        state = self._recorded()
        if state is None or not _alive(state.keeper, KEEPER_MODULE):
            return None
        return state

    def users(self) -> list[User]:
        """The processes using the service now; files of dead ones are removed."""
        found = []
        try:
            entries = sorted(self.users_dir.iterdir())
        except OSError:
            return []
        for path in entries:
            if path.name.startswith("."):
                self._remove_old_draft(path)
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    found.append(self._user(path))
                    continue
                path.unlink(missing_ok=True)  # its process is gone
            finally:
                os.close(fd)
        return found

    @staticmethod
    def _user(path: Path) -> User:
        try:
            raw = json.loads(path.read_text())
            return User(int(raw["pid"]), str(raw["command"]), float(raw["since"]))
        except (OSError, ValueError, KeyError, TypeError):
            pid = path.name.partition("-")[0]
            return User(int(pid) if pid.isdigit() else 0, "?", 0.0)

    @staticmethod
    def _remove_old_draft(path: Path) -> None:
        with contextlib.suppress(OSError):
            if time.time() - path.stat().st_mtime > 60:
                path.unlink()

    # -- using ---------------------------------------------------------------

    @contextlib.contextmanager
    def use(self, command: str) -> Iterator[tuple[ServiceState, bool]]:
        """Use the running servers, starting them first if none run; yields
        the state and whether this call started them. The servers stay up
        after the block, until they have been idle long enough."""
        with self.locked():
            state = self.state()
            started = False
            if state is not None:
                self._wait_until_answering(state)
            else:
                self._clear_stale()
                state = self._start()
                started = True
            lease = _Lease(self.users_dir, command)
        try:
            yield state, started
        finally:
            lease.release()

    def _wait_until_answering(self, state: ServiceState, timeout: float = 15.0) -> None:
        """The keeper restarts a server that died; give it that long."""
        deadline = time.monotonic() + timeout
        while not _answers(state):
            if time.monotonic() > deadline or not _alive(state.keeper, KEEPER_MODULE):
                raise ServerError(
                    f"the local servers of {self.data_dir} do not answer; "
                    f"see {self.log_path} (backlinkbot services stop, then try again)"
                )
            time.sleep(0.1)

    def _start(self) -> ServiceState:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            offset = log.tell()
            # The keeper forks and its first process exits at once: the
            # keeper is nobody's child, in a session of its own.
            subprocess.run(
                [sys.executable, "-m", KEEPER_MODULE, "--data-dir", str(self.data_dir),
                 "--idle-seconds", str(self.idle_seconds)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, check=True, timeout=30,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            state = self.state()
            if state is not None:
                return state
            pid = _read_pid(self.keeper_pid_path)
            if pid is not None and not _alive(pid, KEEPER_MODULE):
                break
            time.sleep(0.05)
        else:
            self._clear_stale()
            raise ServerError(
                f"the local servers did not start within {START_TIMEOUT:.0f} s; see {self.log_path}"
            )
        self._clear_stale()
        raise ServerError(f"the local servers did not start: {self._last_error(offset)}")

    def _last_error(self, offset: int) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                lines = log.read().decode(errors="replace").strip().splitlines()
        except OSError:
            lines = []
        return f"{lines[-1]} (see {self.log_path})" if lines else f"see {self.log_path}"

    def _clear_stale(self) -> None:
        """Remove what a keeper that died left: its servers, if they still
        run, and its files. Called with ``run/lock`` held."""
        keeper = _read_pid(self.keeper_pid_path)
        if keeper is not None:
            _terminate(keeper, KEEPER_MODULE)
        recorded = self._recorded()
        if recorded is not None:
            _terminate(recorded.keeper, KEEPER_MODULE)
            # A server of ours names a path under the data dir on its command line.
            _terminate(recorded.redis.pid, f"{self.data_dir}{os.sep}")
            _terminate(recorded.mongodb.pid, f"{self.data_dir}{os.sep}")
        self.state_path.unlink(missing_ok=True)
        self.keeper_pid_path.unlink(missing_ok=True)

    # -- stopping ------------------------------------------------------------

    def stop(self, *, force: bool = False, timeout: float = 60.0) -> bool:
        """Stop the servers; returns False when none ran. Raises
        :class:`ServiceInUse` while commands use them, unless ``force``."""
        with self.locked():
            state = self.state()
            if state is None:
                self._clear_stale()
                return False
            users = self.users()
            if users and not force:
                raise ServiceInUse(users)
            _terminate(state.keeper, KEEPER_MODULE, timeout=timeout)
            self._clear_stale()
            return True


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _answers(state: ServiceState) -> bool:
    """Both servers accept connections (cheap: no command is sent)."""
    import socket

    redis_socket = state.redis.url.removeprefix("unix://")
    host, _, port = state.mongodb.url.removeprefix("mongodb://").rstrip("/").rpartition(":")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
            unix.settimeout(1)
            unix.connect(redis_socket)
        with socket.create_connection((host, int(port)), timeout=1):
            pass
    except (OSError, ValueError):
        return False
    return True

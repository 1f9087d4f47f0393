"""The keeper of the local service: runs the embedded servers of one data
directory for as long as commands use them.

Started by :class:`~backlinkbot.embedded.service.LocalService` as
``python -m backlinkbot.embedded.keeper --data-dir DIR --idle-seconds S``:
it detaches (forks; the first process exits), starts Redis and the
MongoDB-wire server as its children, records them in ``run/state.json``,
then every half second restarts a server that died, and stops both (and
exits) once no command has used them for S seconds, or on SIGTERM. What it
does goes to ``<data dir>/services.log``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from .servers import EmbeddedMongo, EmbeddedRedis, ServerError
from .service import LocalService, ServerState, ServiceState

__all__ = ["Keeper", "main"]

logger = logging.getLogger("backlinkbot.keeper")

#: A server that dies more often than this within RESTART_WINDOW seconds
#: is not started again: the keeper stops and says why.
MAX_RESTARTS = 3
RESTART_WINDOW = 60.0
TICK = 0.5


class Keeper:
    def __init__(self, data_dir: Path, idle_seconds: float) -> None:
        self.service = LocalService(data_dir, idle_seconds=idle_seconds)
        self.idle_seconds = idle_seconds
        self.redis = EmbeddedRedis(data_dir / "redis")
        self.mongo = EmbeddedMongo(data_dir / "mongodb")
        for server in (self.redis, self.mongo):
            server.die_with_parent = True
        self.started_at = time.time()
        self.stopping = False
        self.restarts: list[float] = []

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self.service.keeper_pid_path.write_text(str(os.getpid()))
        try:
            self.redis.start()
            self.mongo.start()
        except ServerError as exc:
            logger.error("cannot start the local servers: %s", exc)
            self._shut_down()
            return 1
        if self.redis.compact():
            logger.info("rewriting %s, which had grown past its data", self.redis.aof_path)
        self._write_state()
        logger.info(
            "serving Redis at %s (pid %s) and nx-27017 at %s (pid %s); "
            "stopping after %.0f s without a command using them",
            self.redis.url, self.redis.pid, self.mongo.url, self.mongo.pid, self.idle_seconds,
        )  # fmt: skip
        code = self._watch()
        self._shut_down()
        logger.info("stopped")
        return code

    def _watch(self) -> int:
        last_used = time.monotonic()
        while not self.stopping:
            time.sleep(TICK)
            for server in (self.redis, self.mongo):
                if not self.stopping and not server.running() and not self._restart(server):
                    return 1
            if self.service.users():
                last_used = time.monotonic()
            elif time.monotonic() - last_used >= self.idle_seconds:
                with self.service.locked(blocking=False) as alone:
                    # Someone holds the lock: a command is joining.
                    if alone and not self.service.users():
                        logger.info("unused for %.0f s: stopping", self.idle_seconds)
                        self._shut_down()
                        return 0
        logger.info("asked to stop")
        return 0

    def _restart(self, server: EmbeddedRedis | EmbeddedMongo) -> bool:
        now = time.monotonic()
        self.restarts = [t for t in self.restarts if now - t < RESTART_WINDOW]
        code = server.process.returncode if server.process is not None else None
        if len(self.restarts) >= MAX_RESTARTS:
            logger.error(
                "%s exited again (code %s), %d restarts in %.0f s: giving up; see %s",
                server.name, code, len(self.restarts), RESTART_WINDOW, server.log_path,
            )  # fmt: skip
            return False
        self.restarts.append(now)
        logger.warning("%s exited (code %s); starting it again", server.name, code)
        try:
            server.start()
        except ServerError as exc:
            logger.error("cannot start %s again: %s", server.name, exc)
            return False
        self._write_state()
        return True

    def _write_state(self) -> None:
        state = ServiceState(
            keeper=os.getpid(),
            started_at=self.started_at,
            idle_seconds=self.idle_seconds,
            redis=ServerState(self.redis.url, self.redis.pid or 0, str(self.redis.log_path)),
            mongodb=ServerState(self.mongo.url, self.mongo.pid or 0, str(self.mongo.log_path)),
        )
        draft = self.service.state_path.with_suffix(".new")
        draft.write_text(state.to_json())
        os.replace(draft, self.service.state_path)

    def _shut_down(self) -> None:
        # No new command may find the state of servers about to stop.
        self.service.state_path.unlink(missing_ok=True)
        for server in (self.mongo, self.redis):
            server.stop()
        self.service.keeper_pid_path.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backlinkbot.embedded.keeper")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--idle-seconds", type=float, default=600.0)
    args = parser.parse_args(argv)
    # Detach: whoever started us waits for this first process only.
    if os.fork() > 0:
        os._exit(0)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr,
        format=f"%(asctime)s keeper[{os.getpid()}] %(levelname)s: %(message)s",
    )  # fmt: skip
    return Keeper(args.data_dir, args.idle_seconds).run()


if __name__ == "__main__":
    sys.exit(main())

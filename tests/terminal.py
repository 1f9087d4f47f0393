"""Run a command in a pseudo-terminal, as a user at a terminal would: it is
the session's foreground process group, so a ^C typed there is SIGINT to
it and to every process of that group, and nothing else."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import sys
import time


class Terminal:
    def __init__(self, argv: list[str], env: dict[str, str], *, columns: int = 80) -> None:
        self.output = b""
        pid, fd = pty.fork()
        if pid == 0:  # the child: exec at once
            os.environ.clear()
            os.environ.update(env)
            os.environ["COLUMNS"] = str(columns)
            os.environ["TERM"] = "xterm"
            try:
                os.execv(sys.executable, [sys.executable, "-m", "backlinkbot", *argv])
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.status: int | None = None
        import fcntl
        import struct
        import termios

        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))

    @property
    def text(self) -> str:
        return self.output.decode(errors="replace")

    @property
    def plain(self) -> str:
        """What the terminal shows: no colour codes, no carriage returns."""
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", self.text).replace("\r", "")

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # the child closed the terminal
            return False
        if not chunk:
            return False
        self.output += chunk
        return True

    def expect(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.text:
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not seen within {timeout} s:\n{self.text[-3000:]}")
            if not self._read(0.2):
                raise AssertionError(f"exited before {text!r}:\n{self.text[-3000:]}")

    def drain(self, seconds: float) -> None:
        """Read what the command shows for ``seconds`` (a full terminal
        would block it)."""
        self._read(seconds)

    def interrupt(self) -> None:
        """Type ^C."""
        os.write(self.fd, b"\x03")

    def wait(self, timeout: float = 60.0) -> int:
        """The exit status (-N when killed by signal N)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._read(0.1)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                while self._read(0.05) and select.select([self.fd], [], [], 0)[0]:
                    pass
                os.close(self.fd)
                self.status = os.waitstatus_to_exitcode(status)
                return self.status
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.fd)
        raise AssertionError(f"still running after {timeout} s:\n{self.text[-3000:]}")

"""Progress of the commands' long steps, on stderr.

:class:`Progress` is the callback that long library steps take
(``progress(stage, done, total)``): on a terminal it redraws one line, at
most a few times a second; elsewhere (a log, a pipe) it writes a line at
most every ``every`` seconds; both when a stage begins and when it ends. :func:`slow_step` says
that a single call is still running once it took longer than a second.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

__all__ = ["Progress", "slow_step"]


class Progress:
    def __init__(
        self, *, out: IO[str] | None = None, every: float = 5.0, enabled: bool = True
    ) -> None:
        self.out = out or sys.stderr
        self.tty = self.out.isatty()
        self.every = 0.2 if self.tty else every
        self.enabled = enabled
        self.stage = ""
        self.started = time.monotonic()
        self.shown_at = 0.0
        self.width = 0

    def __call__(self, stage: str, done: int, total: int | None = None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        new_stage = stage != self.stage
        if new_stage:
            self.end()
            self.stage, self.started = stage, now
        if total is not None and done >= total:
            self._show(stage, done, total, now)
            self.end()
        elif new_stage or now - self.shown_at >= self.every:
            self._show(stage, done, total, now)

    def _show(self, stage: str, done: int, total: int | None, now: float) -> None:
        self.shown_at = now
        if total is None and not done:
            text = f"{stage}..."
        else:
            count = f"{done:,}" if total is None else f"{done:,} of {total:,}"
            text = f"{stage}: {count} ({now - self.started:.0f} s)"
        if self.tty:
            self.out.write("\r" + text.ljust(self.width))
            self.width = len(text)
        else:
            self.out.write(text + "\n")
        self.out.flush()

    def end(self) -> None:
        """Finish the current stage's line."""
        if self.tty and self.width:
            self.out.write("\n")
            self.out.flush()
        self.width = 0
        self.stage = ""


@contextmanager
def slow_step(label: str, *, after: float = 1.0, out: IO[str] | None = None) -> Iterator[None]:
    """Say ``label...`` if the block still runs after ``after`` seconds, and
    how long it took at the end (nothing for a quick block)."""
    stream = out or sys.stderr
    started = time.monotonic()
    said = threading.Event()

    def say() -> None:
        said.set()
        print(f"{label}...", file=stream, flush=True)

    timer = threading.Timer(after, say)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        if said.is_set():
            print(f"{label}: done in {time.monotonic() - started:.1f} s", file=stream, flush=True)

"""Failed calls to the shared Redis: counted, warned about now and then, and
paced, so that a component waits out an outage instead of giving anything up
(docs/FRONTIER.md, "Persistence and Redis restarts")."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

__all__ = ["REDIS_ERRORS", "RedisOutage"]

logger = logging.getLogger(__name__)

#: Stats key counting the calls to the shared Redis that failed.
REDIS_ERRORS = "backlinkbot/frontier/redis_errors"


class RedisOutage:
    """The failed calls of one component to the shared Redis.

    Each failure is counted under :data:`REDIS_ERRORS`; a warning is logged at
    most every ``warn_every`` seconds (and once when Redis answers again), and
    :meth:`waiting` is true for a pause after each failure (doubling from
    ``first_wait`` up to ``max_wait`` seconds), during which callers skip
    Redis and answer as if work were pending.
    """

    def __init__(
        self,
        stats: Any,
        log: logging.Logger | None = None,
        *,
        warn_every: float = 5.0,
        first_wait: float = 0.25,
        max_wait: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stats = stats
        self.log = log or logger
        self.warn_every = warn_every
        self.first_wait = first_wait
        self.max_wait = max_wait
        self.clock = clock
        #: Failed calls since Redis last answered.
        self.errors = 0
        self.retry_at = 0.0
        self._wait = 0.0
        self._warned_at: float | None = None

    def waiting(self) -> bool:
        """True while the pause after a failure lasts: do not call Redis."""
        return self.errors > 0 and self.clock() < self.retry_at

    def retry_now(self) -> None:
        """End the pause (a last try, when closing)."""
        self.retry_at = 0.0

    def failed(self, what: str, exc: BaseException) -> None:
        self.errors += 1
        if self.stats is not None:
            self.stats.inc_value(REDIS_ERRORS)
        now = self.clock()
        self._wait = min(self.max_wait, self._wait * 2 or self.first_wait)
        self.retry_at = now + self._wait
        if self._warned_at is None or now - self._warned_at >= self.warn_every:
            self._warned_at = now
            self.log.warning(
                "Redis unreachable (%s: %s); waiting and retrying, nothing is given up"
                " (%d failed calls so far)",
                what, str(exc) or type(exc).__name__, self.errors,
            )  # fmt: skip

    def succeeded(self) -> None:
        if not self.errors:
            return
        self.log.warning("Redis reachable again after %d failed calls", self.errors)
        self.errors = 0
        self._wait = 0.0
        self.retry_at = 0.0
        self._warned_at = None

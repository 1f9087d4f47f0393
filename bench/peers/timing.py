"""Response counting shared by the peers: first/last response times, the
time spent waiting to close once idle, and RSS."""

from __future__ import annotations

import resource
import time
from typing import Any


class Timing:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.first = 0.0
        self.last = 0.0
        self.responses = 0
        # The first and the latest spider_idle since the last response.
        self.idle_from: float | None = None
        self.idle_last = 0.0

    def response(self, **kwargs: Any) -> None:
        now = time.monotonic()
        self.first = self.first or now
        self.last = now
        self.responses += 1

    def idle(self, **kwargs: Any) -> None:
        """On ``spider_idle``: every response and item is processed by now.
        A spider that does not close at once (scrapy-redis's RedisSpider
        waits for more start URLs, up to ``MAX_IDLE_TIME_BEFORE_CLOSE``
        seconds) gets this signal again until it does."""
        now = time.monotonic()
        if self.idle_from is None or self.idle_from < self.last:
            self.idle_from = now
        self.idle_last = now

    def result(self, crawler: Any = None) -> dict[str, float]:
        idle_wait = self.idle_last - self.idle_from if self.idle_from is not None else 0.0
        return {
            "responses": self.responses,
            "active_seconds": self.last - self.started,
            # Idle, waiting to close: not crawl time.
            "idle_wait": max(0.0, idle_wait),
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }

"""Response counting shared by the peers: first/last response times and RSS."""

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

    def response(self, **kwargs: Any) -> None:
        now = time.monotonic()
        self.first = self.first or now
        self.last = now
        self.responses += 1

    def result(self, crawler: Any = None) -> dict[str, float]:
        return {
            "responses": self.responses,
            "active_seconds": self.last - self.started,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }

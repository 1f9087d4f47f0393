"""Names of the Redis keys that hold one crawl's shared state.

Every key starts with ``BACKLINKBOT_REDIS_PREFIX`` (default ``backlinkbot``),
so several crawls, or several test cases, can share one Redis server.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

__all__ = ["CrawlKeys", "worker_name"]


def worker_name(settings: Any) -> str:
    """This process's name in the cluster: ``BACKLINKBOT_WORKER_ID``, or
    ``<hostname>:<pid>``."""
    return str(settings.get("BACKLINKBOT_WORKER_ID") or f"{socket.gethostname()}:{os.getpid()}")


@dataclass(frozen=True, slots=True)
class CrawlKeys:
    prefix: str

    @property
    def requests(self) -> str:
        """Sorted set of serialized requests, scored by priority."""
        return f"{self.prefix}:requests"

    @property
    def dupefilter(self) -> str:
        """Set of fingerprints of every URL ever scheduled."""
        return f"{self.prefix}:dupefilter"

    @property
    def start_urls(self) -> str:
        """List of seeds (URLs or JSON objects) fed to the spiders."""
        return f"{self.prefix}:start_urls"

    @property
    def busy(self) -> str:
        """Hash worker id -> time it last took a request from the queue."""
        return f"{self.prefix}:busy"

    @property
    def heartbeat(self) -> str:
        """Hash worker id -> time of its last heartbeat."""
        return f"{self.prefix}:heartbeat"

    @property
    def dequeued(self) -> str:
        """Counter of requests handed out; checked against the page budget."""
        return f"{self.prefix}:dequeued"

    @property
    def stats(self) -> str:
        """Hash of cluster-wide counters (pages fetched, links stored, ...)."""
        return f"{self.prefix}:stats"

    @property
    def worker_stats(self) -> str:
        """Hash ``<worker>|<counter>`` -> value, for per-worker rates."""
        return f"{self.prefix}:worker_stats"

    def all(self) -> list[str]:
        return [
            self.requests,
            self.dupefilter,
            self.start_urls,
            self.busy,
            self.heartbeat,
            self.dequeued,
            self.stats,
            self.worker_stats,
        ]

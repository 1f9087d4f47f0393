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

    @classmethod
    def from_settings(cls, settings: Any) -> CrawlKeys:
        """The keys of the crawl ``BACKLINKBOT_REDIS_PREFIX`` names."""
        return cls(str(settings.get("BACKLINKBOT_REDIS_PREFIX")))

    @property
    def requests(self) -> str:
        """Base name of the per-host request queues (``<requests>:<host>``:
        sorted sets of serialized requests, scored by ``-priority``)."""
        return f"{self.prefix}:requests"

    def host_queue(self, host: str) -> str:
        return f"{self.requests}:{host}"

    @property
    def hosts(self) -> str:
        """Sorted set host -> earliest time its next request may be fetched."""
        return f"{self.prefix}:hosts"

    @property
    def queued(self) -> str:
        """Counter of requests waiting in the per-host queues."""
        return f"{self.prefix}:queued"

    @property
    def leased(self) -> str:
        """Sorted set lease id -> expiry time of requests handed to workers."""
        return f"{self.prefix}:leased"

    @property
    def lease_data(self) -> str:
        """Hash lease id -> ``host <TAB> score <TAB> serialized request``."""
        return f"{self.prefix}:lease_data"

    @property
    def crawl_delay(self) -> str:
        """Hash host -> robots.txt ``Crawl-delay`` in seconds (written by the
        robots.txt middleware, read by the queue)."""
        return f"{self.prefix}:crawl_delay"

    @property
    def paused(self) -> str:
        """Flag: while it exists, workers take no new requests."""
        return f"{self.prefix}:paused"

    @property
    def dupefilter(self) -> str:
        """Bloom filter bitmap of every URL ever scheduled (``<key>:<n>`` for
        each further shard of a filter larger than one Redis string)."""
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
    def host_pages(self) -> str:
        """Hash host -> requests queued for it (the per-host page budget)."""
        return f"{self.prefix}:host_pages"

    @property
    def host_ip(self) -> str:
        """Hash host -> the IP address its last direct answer came from
        (per-IP spacing, ``BACKLINKBOT_IP_DELAY``)."""
        return f"{self.prefix}:host_ip"

    @property
    def ip_ready(self) -> str:
        """Hash IP address -> earliest time (Redis server clock) of the next
        request to any host at that address."""
        return f"{self.prefix}:ip_ready"

    @property
    def stats(self) -> str:
        """Hash of cluster-wide counters (pages fetched, links stored, ...)."""
        return f"{self.prefix}:stats"

    @property
    def worker_stats(self) -> str:
        """Hash ``<worker>|<counter>`` -> value, for per-worker rates."""
        return f"{self.prefix}:worker_stats"

    @property
    def scope(self) -> str:
        """JSON of the crawl's scope policy (:mod:`backlinkbot.scope`)."""
        return f"{self.prefix}:scope"

    @property
    def seed_hosts(self) -> str:
        """Set of the hosts of the crawl's seeds (the scope's)."""
        return f"{self.prefix}:seed_hosts"

    @property
    def seed_domains(self) -> str:
        """Set of the registrable domains of the crawl's seeds."""
        return f"{self.prefix}:seed_domains"

    @property
    def domain_pages(self) -> str:
        """Hash domain -> requests sent to it (the per-domain page budget)."""
        return f"{self.prefix}:domain_pages"

    def dirty_domains(self, database: str) -> str:
        """Set of the domains whose counts in MongoDB ``database`` are out of
        date: added to by every worker's sink, drained by whichever recounts.
        It describes MongoDB, not the frontier: resetting the frontier for a
        new crawl keeps it."""
        return f"{self.prefix}:dirty_domains:{database}"

    def all(self) -> list[str]:
        """The fixed keys of a crawl (see :meth:`patterns` for the others)."""
        return [
            self.requests,
            self.hosts,
            self.queued,
            self.leased,
            self.lease_data,
            self.paused,
            self.dupefilter,
            self.start_urls,
            self.busy,
            self.heartbeat,
            self.dequeued,
            self.host_pages,
            self.host_ip,
            self.ip_ready,
            self.stats,
            self.worker_stats,
            self.scope,
            self.seed_hosts,
            self.seed_domains,
            self.domain_pages,
        ]

    def patterns(self) -> list[str]:
        """``SCAN`` patterns of the keys named after hosts or shards."""
        return [f"{self.requests}:*", f"{self.dupefilter}:*"]

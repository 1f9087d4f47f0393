"""The domains whose counts are out of date, shared by a crawl's workers.

Every worker's sink adds the target domains of the links it wrote (after
writing them) to one Redis set, ``<prefix>:dirty_domains:<database>``, and
recounts by taking domains out of it (``SPOP``). A domain is recounted once
after its last change, by whichever worker takes it, instead of once by
every worker that touched it; the domains touched by a worker that died are
recounted by the others.

A recount that starts after a write sees it, so taking a domain out before
recounting it loses nothing: a write that lands during the recount adds the
domain again. A recount that fails puts its domains back. While Redis cannot
be reached (or with no Redis configured, ``server=None``) the domains are
kept in this worker's memory and recounted by it, as a lone worker would;
after a failed call Redis is left alone for a short pause, and warnings are
spaced (:class:`~backlinkbot.connection.RedisOutage`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import redis

from backlinkbot.connection import RedisOutage

__all__ = ["DirtyDomains"]

logger = logging.getLogger(__name__)

#: Domains sent to Redis in one SADD.
_CHUNK = 1000


class DirtyDomains:
    def __init__(self, server: Any | None = None, key: str = "", *, warn_every: float = 30.0):
        self.server = server
        self.key = key
        #: Domains kept here while Redis is away (or not used).
        self.local: set[str] = set()
        # Used from the sink's writer thread: no stats (not thread-safe).
        self.outage = RedisOutage(None, logger, warn_every=warn_every)

    def _shared(self) -> Any | None:
        """The Redis client, unless there is none or it failed moments ago."""
        return None if self.outage.waiting() else self.server

    def _failed(self, exc: BaseException) -> None:
        self.outage.failed("sharing the domains to recount; this worker keeps its own"
                           " and recounts them itself", exc)  # fmt: skip

    def add(self, domains: Iterable[str]) -> None:
        """Mark ``domains`` out of date (call after their links are written)."""
        pending = self.local | set(domains)
        if not pending:
            return
        server = self._shared()
        if server is not None:
            try:
                items = list(pending)
                with server.pipeline(transaction=False) as pipe:
                    for start in range(0, len(items), _CHUNK):
                        pipe.sadd(self.key, *items[start : start + _CHUNK])
                    pipe.execute()
            except redis.RedisError as exc:
                self._failed(exc)
            else:
                self.outage.succeeded()
                self.local = set()
                return
        self.local = pending

    def take(self, count: int) -> list[str]:
        """Up to ``count`` out-of-date domains, now this caller's to recount
        (or to :meth:`add` back if the recount fails)."""
        taken = [self.local.pop() for _ in range(min(count, len(self.local)))]
        server = self._shared()
        if server is not None and len(taken) < count:
            try:
                got = server.spop(self.key, count - len(taken)) or []
            except redis.RedisError as exc:
                self._failed(exc)
            else:
                taken.extend(d.decode() if isinstance(d, bytes) else str(d) for d in got)
        return taken

    def size(self) -> int:
        """How many domains are out of date (this worker's own while Redis is away)."""
        server = self._shared()
        if server is None:
            return len(self.local)
        try:
            return len(self.local) + int(server.scard(self.key))
        except redis.RedisError as exc:
            self._failed(exc)
            return len(self.local)

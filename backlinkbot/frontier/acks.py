"""Lease acknowledgements: this worker's finished requests, let go of in Redis.

The scheduler sends them only once every request buffered before them is
queued, so the links found on a page are in the queue before the lease that
vouches for them goes (docs/FRONTIER.md, "Nothing is lost: leases").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import redis

from .leases import ServerChanged

if TYPE_CHECKING:
    from scrapy.statscollectors import StatsCollector

    from backlinkbot.connection import RedisOutage

    from .leases import Leases

__all__ = ["Acknowledgements"]

logger = logging.getLogger(__name__)

_ACKED = "backlinkbot/frontier/leases_acked"
_REQUEUED = "backlinkbot/frontier/leases_requeued"


class Acknowledgements:
    """The leases this worker is done with, until Redis has deleted them."""

    def __init__(
        self,
        leases: Leases,
        outage: RedisOutage,
        stats: StatsCollector | None,
        *,
        on_lost_writes: Callable[[], None],
    ) -> None:
        self.leases = leases
        self.outage = outage
        self.stats = stats
        #: Called when Redis may have lost its last writes (a new server run).
        self.on_lost_writes = on_lost_writes
        #: URLs done, whose leases are still to be acknowledged.
        self.done: list[str] = []
        #: URLs held here whose retry is buffered, not yet queued.
        self.retried: list[str] = []
        #: URLs whose retry is queued: their old lease is to be acknowledged.
        self.replaced: list[str] = []

    def __bool__(self) -> bool:
        return bool(self.done or self.retried or self.replaced)

    def finished(self, urls: list[str]) -> None:
        self.done.extend(urls)

    def retry_buffered(self, url: str) -> None:
        # Once the copy is queued it carries the work and the old lease must
        # go, or this worker would renew it forever and the crawl never end.
        self.retried.append(url)

    def send_replaced(self) -> None:
        """Every buffered request is queued: acknowledge the leases their
        retries replace."""
        self.replaced.extend(self.retried)
        self.retried.clear()
        if self.replaced:
            self._send(self.replaced, _REQUEUED)

    def send_done(self) -> None:
        """Acknowledge the leases of the finished requests (call only once
        every request buffered before them is queued)."""
        if self.done and not self.outage.waiting():
            self._send(self.done, _ACKED)

    def _send(self, urls: list[str], stat: str) -> None:
        """Acknowledge the leases of ``urls``, which leave the list once done."""
        batch = list(urls)
        try:
            acked = self.leases.ack(batch)
        except ServerChanged as exc:
            self._abandon(exc)
            return
        except redis.RedisError as exc:
            self.outage.failed("acknowledging finished requests", exc)
            return
        del urls[: len(batch)]
        self.outage.succeeded()
        if self.stats is not None and acked:
            self.stats.inc_value(stat, acked)

    def _abandon(self, exc: ServerChanged) -> None:
        # Redis restarted (or failed over) since these leases were taken, and
        # may have lost writes made before: links queued for pages whose
        # leases survived. Acknowledging those leases could lose the links;
        # left to expire, the pages are fetched again and the links found again.
        logger.warning(
            "Redis is a new server run (%s): it may have lost the last writes before"
            " it went away, so the %d leases this worker held are not acknowledged;"
            " their pages are fetched again once the leases expire",
            exc.run_id, exc.dropped,
        )  # fmt: skip
        if self.stats is not None and exc.dropped:
            self.stats.inc_value("backlinkbot/frontier/leases_abandoned", exc.dropped)
        self.on_lost_writes()
        self.done.clear()
        self.retried.clear()
        self.replaced.clear()

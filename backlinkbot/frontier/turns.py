"""Waiting for turns kept in the frontier's Redis, before a request goes out
(:class:`~backlinkbot.downloadermiddlewares.addressspacing.AddressSpacing`,
:class:`~backlinkbot.downloadhandlers.latesends.LateSendSpacing`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

import redis
from scrapy.utils.asyncio import sleep

from backlinkbot.connection import RedisOutage

if TYPE_CHECKING:
    from scrapy.statscollectors import StatsCollector

    from backlinkbot.connection import CrawlKeys

__all__ = ["TurnTaker"]


class TurnTaker:
    """Holds the crawl's Redis client and keys, and a Lua script that takes
    a turn (``SCRIPT``: answers the seconds to wait for it, 0 when it is
    taken, and Redis's time; both as strings)."""

    SCRIPT: ClassVar[str]
    logger: ClassVar[logging.Logger]

    def __init__(self, server: Any, keys: CrawlKeys, stats: StatsCollector) -> None:
        self.server = server
        self.keys = keys
        self.stats = stats
        self.outage = RedisOutage(stats, self.logger)
        self.script = server.register_script(self.SCRIPT)

    async def take_turn(
        self, keys: list[str], args: list[Any], waits: str, doing: str
    ) -> float | None:
        """Run the script until it takes the turn, sleeping the seconds it
        answers otherwise, each sleep counted under ``waits``; the turn's
        time (Redis ``TIME``). While Redis cannot be reached the request goes
        without (None; the failure is counted and logged as ``doing``)."""
        while not self.outage.waiting():
            try:
                wait, now = self.script(keys=keys, args=args)
            except redis.RedisError as exc:
                self.outage.failed(doing, exc)
                return None
            self.outage.succeeded()
            if float(wait) <= 0:
                return float(now)
            self.stats.inc_value(waits)
            await sleep(float(wait))  # asyncio's or Twisted's, by the reactor
        return None

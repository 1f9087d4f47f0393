"""Waiting for a turn that the shared frontier keeps in Redis."""

from __future__ import annotations

from typing import Any

import redis
from scrapy.utils.asyncio import sleep

from backlinkbot.frontier.cluster import RedisOutage

__all__ = ["take_turn"]


async def take_turn(
    script: Any, keys: list[str], args: list[Any], outage: RedisOutage, stats: Any,
    waits: str, doing: str,
) -> None:  # fmt: skip
    """Run ``script`` until it takes the turn (answers 0), sleeping the
    seconds it answers otherwise, each sleep counted under ``waits``. While
    Redis cannot be reached the request goes without (the failure is counted
    and logged as ``doing``)."""
    while not outage.waiting():
        try:
            wait = float(script(keys=keys, args=args))
        except redis.RedisError as exc:
            outage.failed(doing, exc)
            return
        outage.succeeded()
        if wait <= 0:
            return
        stats.inc_value(waits)
        await sleep(wait)  # asyncio's or Twisted's, by the reactor

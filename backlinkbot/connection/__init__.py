"""The crawl's Redis: every client, every key name, and riding out outages.

- :mod:`.client`: builds every Redis client of the project (sync and
  asyncio) from ``REDIS_URL`` / ``REDIS_PARAMS``.
- :mod:`.keys`: where each piece of a crawl's shared state lives.
- :mod:`.outage`: counts failed calls and paces retries while Redis is away.
"""

from .client import command_client, fail_fast, redis_client, redis_client_async
from .keys import CrawlKeys, worker_name
from .outage import REDIS_ERRORS, RedisOutage

__all__ = [
    "REDIS_ERRORS",
    "CrawlKeys",
    "RedisOutage",
    "command_client",
    "fail_fast",
    "redis_client",
    "redis_client_async",
    "worker_name",
]

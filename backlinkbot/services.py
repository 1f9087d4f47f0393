"""Connections to the shared services, configured the deployment way.

``REDIS_URL``, ``MONGODB_URI`` and ``MONGODB_DATABASE`` come from the
environment. Commands that need the services run inside
:func:`running_services`, which starts the embedded local servers for
whatever is not configured (the single-machine default) and says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pymongo
import redis
from pymongo.database import Database

from backlinkbot.connection import CrawlKeys, command_client
from backlinkbot.defaults import BACKLINKBOT_DATA_DIR, BACKLINKBOT_REDIS_PREFIX

__all__ = [
    "crawl_keys",
    "data_dir",
    "open_database",
    "open_redis",
    "running_services",
]


def data_dir() -> Path:
    """Where the embedded servers keep their data (``BACKLINKBOT_DATA_DIR``)."""
    return Path(os.environ.get("BACKLINKBOT_DATA_DIR") or BACKLINKBOT_DATA_DIR)


def crawl_keys() -> CrawlKeys:
    return CrawlKeys(os.environ.get("BACKLINKBOT_REDIS_PREFIX") or BACKLINKBOT_REDIS_PREFIX)


def open_database(uri: str | None = None, name: str | None = None) -> Database[dict[str, Any]]:
    """The graph store: ``MONGODB_URI`` / ``MONGODB_DATABASE`` (default
    ``backlinkbot``). Dates come back timezone-aware, in UTC."""
    uri = uri or os.environ.get("MONGODB_URI")
    if not uri:
        raise RuntimeError("MONGODB_URI is not set (run inside running_services())")
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(uri, tz_aware=True)
    return client[name or os.environ.get("MONGODB_DATABASE") or "backlinkbot"]


def open_redis(url: str | None = None) -> redis.Redis:
    return command_client(url)


@contextmanager
def running_services(*, announce: bool = True) -> Iterator[None]:
    """Make sure ``REDIS_URL`` and ``MONGODB_URI`` point at live servers."""
    if os.environ.get("REDIS_URL") and os.environ.get("MONGODB_URI"):
        yield
        return
    from backlinkbot.embedded import EmbeddedServices

    with EmbeddedServices(data_dir(), announce=announce):
        yield

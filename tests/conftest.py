"""Shared fixtures: real Redis and MongoDB-wire servers for the session.

The servers are started once per test session (per xdist worker) on free
local ports / sockets and stopped at the end. When ``REDIS_URL`` or
``MONGODB_URI`` is set, that server is used instead, so the same tests run
against a real MongoDB. Each test gets its own database name and Redis key
prefix, so tests never see each other's data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest
import redis

from backlinkbot.embedded import EmbeddedMongo, EmbeddedRedis

# Workers started by the end-to-end tests must not inherit a proxy, or a
# data dir, from the environment running the tests.
for _name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), appendonly=False)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("MONGODB_URI"):
        yield os.environ["MONGODB_URI"]
        return
    server = EmbeddedMongo(tmp_path_factory.mktemp("mongodb"))
    uri = server.start()
    try:
        yield uri
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mongo_client(mongo_uri: str) -> Iterator[pymongo.MongoClient[dict[str, Any]]]:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(mongo_uri, tz_aware=True)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def mongo_db(mongo_client: pymongo.MongoClient[dict[str, Any]]) -> Iterator[Any]:
    """A fresh, empty database for one test, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    try:
        yield mongo_client[name]
    finally:
        mongo_client.drop_database(name)


@pytest.fixture
def redis_prefix() -> str:
    """A Redis key prefix of this test's own."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def redis_client(redis_url: str, redis_prefix: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        keys = list(client.scan_iter(f"{redis_prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def local_data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data directory for the embedded local service, whose servers are
    stopped after the test (they would otherwise wait out their idle time)."""
    from backlinkbot.embedded import LocalService

    path = tmp_path / "data"
    try:
        yield path
    finally:
        LocalService(path).stop(force=True)

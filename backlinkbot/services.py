"""Connections to the shared services, configured the deployment way.

``REDIS_URL`` and ``MONGODB_URI`` (or the files ``REDIS_URL_FILE`` /
``MONGODB_URI_FILE`` name) and ``MONGODB_DATABASE`` come from the
environment. Commands that need the services run inside
:func:`running_services`: it uses the embedded local service of the data
directory for whatever is not configured (the single-machine default,
started if none runs) and checks, within seconds, that each server the
command needs answers, naming its address and what to check when it does not.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pymongo
import redis
from pymongo.database import Database
from scrapy.settings import Settings

from backlinkbot.configuration import from_environment
from backlinkbot.connection import CrawlKeys, command_client
from backlinkbot.defaults import BACKLINKBOT_DATA_DIR, BACKLINKBOT_REDIS_PREFIX
from backlinkbot.embedded import LocalService, ServiceState
from backlinkbot.safety.secrets import mask_secrets, read_secret_file

__all__ = [
    "CHECK_TIMEOUT",
    "ServiceUnreachable",
    "configured_url",
    "crawl_keys",
    "data_dir",
    "local_service",
    "open_database",
    "open_redis",
    "project_settings",
    "running_services",
]

#: Seconds a command waits for a server to answer before it gives up.
CHECK_TIMEOUT = 5.0


class ServiceUnreachable(RuntimeError):
    """Redis or MongoDB does not answer (or is configured wrong)."""


def project_settings() -> Settings:
    """The project's settings as a worker started now would see them
    (``backlinkbot.settings`` and the ``BACKLINKBOT_*`` environment)."""
    settings = Settings()
    settings.setmodule("backlinkbot.settings", priority="project")
    settings.setdict(from_environment(os.environ), priority="project")
    return settings


def data_dir() -> Path:
    """Where the embedded servers keep their data (``BACKLINKBOT_DATA_DIR``)."""
    return Path(os.environ.get("BACKLINKBOT_DATA_DIR") or BACKLINKBOT_DATA_DIR)


def crawl_keys() -> CrawlKeys:
    return CrawlKeys(os.environ.get("BACKLINKBOT_REDIS_PREFIX") or BACKLINKBOT_REDIS_PREFIX)


def configured_url(name: str) -> str | None:
    """``REDIS_URL`` or ``MONGODB_URI`` as configured: from the file
    ``<name>_FILE`` names (which wins), else the variable; None if neither."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return read_secret_file(path)
        except RuntimeError as exc:
            raise ServiceUnreachable(f"{name}_FILE: {exc}") from None
    return os.environ.get(name) or None


def local_service() -> LocalService:
    """The embedded local service of :func:`data_dir`."""
    idle = project_settings().getfloat("BACKLINKBOT_EMBEDDED_IDLE_SECONDS")
    return LocalService(data_dir(), idle_seconds=idle)


def open_database(uri: str | None = None, name: str | None = None) -> Database[dict[str, Any]]:
    """The graph store: ``MONGODB_URI`` / ``MONGODB_DATABASE`` (default
    ``backlinkbot``). Dates come back timezone-aware, in UTC."""
    uri = uri or configured_url("MONGODB_URI")
    if not uri:
        raise RuntimeError("MONGODB_URI is not set (run inside running_services())")
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(uri, tz_aware=True)
    return client[name or os.environ.get("MONGODB_DATABASE") or "backlinkbot"]


def open_redis(url: str | None = None) -> redis.Redis:
    return command_client(url)


def _first_line(exc: BaseException) -> str:
    """pymongo's server selection errors carry the whole topology; the
    reason is the part before it."""
    text = str(exc) or type(exc).__name__
    for cut in (" (configured timeouts", ", Timeout:", "\n"):
        text = text.split(cut, 1)[0]
    return text.strip().rstrip(".")


def check_redis(url: str, *, origin: str, timeout: float = CHECK_TIMEOUT) -> None:
    client = command_client(url)
    # A short wait for this check only: the command's client keeps its own.
    client.connection_pool.connection_kwargs.update(
        socket_connect_timeout=timeout, socket_timeout=timeout
    )
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        raise ServiceUnreachable(
            f"cannot reach Redis at {mask_secrets(url)} ({origin}): {_first_line(exc)}; "
            + _hint("REDIS_URL", origin)
        ) from None
    finally:
        client.close()


def _refused(uri: str) -> str | None:
    """Why no host of ``uri`` can be connected to, when each refuses at
    once (nothing listens): pymongo would wait out its whole timeout."""
    import socket

    try:
        nodes = pymongo.uri_parser.parse_uri(uri)["nodelist"]
    except (pymongo.errors.PyMongoError, ValueError):
        return None
    if not nodes:  # mongodb+srv: the hosts come from DNS
        return None
    reasons = []
    for host, port in nodes:
        try:
            with socket.create_connection((host, port), timeout=CHECK_TIMEOUT):
                return None
        except ConnectionRefusedError as exc:
            reasons.append(f"{host}:{port}: {exc.strerror}")
        except OSError:
            return None  # not a plain refusal: let pymongo tell
    return "; ".join(reasons)


def check_mongodb(uri: str, *, origin: str, timeout: float = CHECK_TIMEOUT) -> None:
    refused = _refused(uri)
    if refused:
        raise ServiceUnreachable(
            f"cannot reach MongoDB at {mask_secrets(uri)} ({origin}): {refused}; "
            + _hint("MONGODB_URI", origin)
        )
    millis = int(timeout * 1000)
    try:
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            uri, serverSelectionTimeoutMS=millis, connectTimeoutMS=millis
        )
    except (pymongo.errors.ConfigurationError, ValueError) as exc:
        raise ServiceUnreachable(f"{origin} is not a usable MongoDB URI: {exc}") from None
    try:
        client.admin.command("ping")
    except pymongo.errors.PyMongoError as exc:
        raise ServiceUnreachable(
            f"cannot reach MongoDB at {mask_secrets(uri)} ({origin}): {_first_line(exc)}; "
            + _hint("MONGODB_URI", origin)
        ) from None
    finally:
        client.close()


def _hint(name: str, origin: str) -> str:
    if origin.startswith("embedded"):
        return f"see {data_dir() / 'services.log'} and `backlinkbot services status`"
    return (
        f"check that the server runs and that {name} names it (unset it for the embedded default)"
    )


def _command_label() -> str:
    label = " ".join(["backlinkbot", *sys.argv[1:]])
    return label if len(label) <= 120 else label[:117] + "..."


@contextmanager
def _exported(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def running_services(
    *, announce: bool = True, need_redis: bool = False, need_mongodb: bool = True
) -> Iterator[None]:
    """Make sure ``REDIS_URL`` and ``MONGODB_URI`` point at live servers:
    the configured ones, or the embedded local service's (exported to
    ``os.environ`` for the block, so workers started in it use them too).
    Raises :class:`ServiceUnreachable` when one the command needs does not
    answer (MongoDB, unless ``need_mongodb`` is off; Redis only with
    ``need_redis``: the graph's readers never use it)."""
    redis_url, mongo_uri = configured_url("REDIS_URL"), configured_url("MONGODB_URI")
    origins = {"redis": "REDIS_URL", "mongodb": "MONGODB_URI"}
    if (redis_url or not need_redis) and (mongo_uri or not need_mongodb):
        _check(redis_url if need_redis else None, mongo_uri if need_mongodb else None, origins)
        yield
        return
    with local_service().use(_command_label()) as (state, started):
        exported = {}
        if not redis_url:
            redis_url = exported["REDIS_URL"] = state.redis.url
            origins["redis"] = "embedded Redis"
        if not mongo_uri:
            mongo_uri = exported["MONGODB_URI"] = state.mongodb.url
            origins["mongodb"] = "embedded nx-27017"
        if announce:
            print(_announcement(state, started, exported), file=sys.stderr, flush=True)
        with _exported(exported):
            _check(redis_url if need_redis else None, mongo_uri if need_mongodb else None, origins)
            yield


def _check(redis_url: str | None, mongo_uri: str | None, origins: dict[str, str]) -> None:
    if redis_url:
        check_redis(redis_url, origin=origins["redis"])
    if mongo_uri:
        check_mongodb(mongo_uri, origin=origins["mongodb"])


def _announcement(state: ServiceState, started: bool, exported: dict[str, str]) -> str:
    parts = []
    if "REDIS_URL" in exported:
        parts.append(f"Redis at {state.redis.url}")
    if "MONGODB_URI" in exported:
        parts.append(f"a MongoDB-wire server (nx-27017) at {state.mongodb.url}")
    what = " and ".join(parts)
    if started:
        idle = state.idle_seconds
        after = f"{idle / 60:.0f} min" if idle >= 120 else f"{idle:.0f} s"
        return (
            f"embedded default: started {what}; data in {data_dir()}; they stop "
            f"{after} after the last command (backlinkbot services stop: now)"
        )
    return f"embedded default: using {what}, already running (backlinkbot services status)"

"""Every Redis client of the project comes from here.

The settings are scrapy-redis's: ``REDIS_URL`` (``redis://``, ``rediss://``
for TLS, ``unix://``; read from ``REDIS_URL_FILE`` by
:mod:`backlinkbot.settings` when that is set), ``REDIS_PARAMS`` (client
keyword arguments such as ``ssl_ca_certs``, over scrapy-redis's defaults)
and the ``REDIS_HOST`` / ``REDIS_PORT`` / ``REDIS_DB`` shortcuts. Clients
fail fast (:func:`fail_fast`); callers retry at their own level
(:class:`~backlinkbot.connection.outage.RedisOutage`).
"""

from __future__ import annotations

import os
from typing import Any

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry
from scrapy.settings import Settings
from scrapy.utils.misc import load_object
from scrapy_redis import defaults as scrapy_redis_defaults
from scrapy_redis.connection import SETTINGS_PARAMS_MAP, get_redis

from backlinkbot.safety.secrets import read_secret_file

__all__ = ["command_client", "fail_fast", "redis_client", "redis_client_async", "redis_params"]


def redis_params(settings: Any) -> dict[str, Any]:
    """The keyword arguments of the crawl's client, as scrapy-redis builds
    them: its defaults, then ``REDIS_PARAMS``, then the ``REDIS_*`` shortcuts."""
    params: dict[str, Any] = dict(scrapy_redis_defaults.REDIS_PARAMS)
    params.update(settings.getdict("REDIS_PARAMS"))
    for name, param in SETTINGS_PARAMS_MAP.items():
        value = settings.get(name)
        if value:
            params[param] = value
    if isinstance(params.get("redis_cls"), str):
        params["redis_cls"] = load_object(params["redis_cls"])
    return params


def fail_fast(server: Any) -> Any:
    """Make the client ``server`` raise at once when a call fails.

    redis-py would send a command that failed on a dead connection once more:
    a command Redis ran but whose answer was lost would then run twice, and
    for a pop or a seed read that loses what the first run took. (A
    connection Redis closed while idle is still replaced transparently.)
    """
    if isinstance(server, redis.asyncio.Redis):
        server.set_retry(AsyncRetry(NoBackoff(), 0))
    elif hasattr(server, "set_retry"):
        server.set_retry(Retry(NoBackoff(), 0))
    return server


def redis_client(settings: Any) -> Any:
    """The crawl's Redis client, failing fast."""
    return fail_fast(get_redis(**redis_params(settings)))


def redis_client_async(settings: Any) -> redis.asyncio.Redis:
    """:func:`redis_client` for the event loop (``redis.asyncio``): the same
    server and parameters, answers read when they come."""
    params = redis_params(settings)
    params["redis_cls"] = redis.asyncio.Redis
    client: redis.asyncio.Redis = fail_fast(get_redis(**params))
    return client


def command_client(url: str | None = None) -> redis.Redis:
    """The Redis client of a ``backlinkbot`` command: ``url``, else
    ``REDIS_URL`` (or ``REDIS_URL_FILE``) from the environment, with the
    project's ``REDIS_PARAMS``. Unlike a worker's, it keeps redis-py's own
    retries: what the commands send is harmless when sent twice."""
    if not url and os.environ.get("REDIS_URL_FILE"):
        url = read_secret_file(os.environ["REDIS_URL_FILE"])
    url = url or os.environ.get("REDIS_URL")
    if not url:
        raise RuntimeError("REDIS_URL is not set (run inside running_services())")
    settings = Settings()
    settings.setmodule("backlinkbot.settings")
    settings.set("REDIS_URL", url)
    client: redis.Redis = get_redis(**redis_params(settings))
    return client

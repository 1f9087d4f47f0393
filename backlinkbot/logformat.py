"""Structured logs: one JSON object per line, for log shippers.

With ``BACKLINKBOT_LOG_JSON`` on, the :class:`JsonLogs` extension gives
Scrapy's log handler (``LOG_FILE``, or standard error) a :class:`JsonFormatter`
as soon as the crawler is built, and keeps it there. Every line then carries the time (UTC,
ISO 8601), level, logger, message, the worker id (``BACKLINKBOT_WORKER_ID``
or ``<hostname>:<pid>``) and the crawl id (the Redis key prefix), plus the
traceback of an exception. Scrapy's start-up lines (version banner, add-ons,
reactor), logged before extensions exist, keep Scrapy's own format.

:class:`LogLevelGate` (always on) stops building records nobody writes:
Scrapy leaves the root logger at ``NOTSET`` and filters by ``LOG_LEVEL`` in
its handler, so every ``logger.debug()`` of every request creates (and, for
secret masking, formats) a record that is then thrown away, about a tenth of
a worker's CPU at ``LOG_LEVEL = "INFO"``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.log import get_scrapy_root_handler

from backlinkbot.frontier.keys import worker_name

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["JsonFormatter", "JsonLogs", "LogLevelGate"]


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON with fixed context fields."""

    def __init__(self, **context: str) -> None:
        super().__init__()
        self.context = context

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **self.context,
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class JsonLogs:
    """Switches Scrapy's log handler to :class:`JsonFormatter`."""

    def __init__(self, formatter: JsonFormatter) -> None:
        self.formatter = formatter

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> JsonLogs:
        settings = crawler.settings
        if not settings.getbool("BACKLINKBOT_LOG_JSON"):
            raise NotConfigured("BACKLINKBOT_LOG_JSON is off")
        ext = cls(
            JsonFormatter(
                worker=worker_name(settings),
                crawl=str(settings.get("BACKLINKBOT_REDIS_PREFIX")),
            )
        )
        ext.install()
        return ext

    def install(self) -> None:
        _JsonGuard.apply(self.formatter)
        logging.getLogger().addHandler(_JsonGuard(self.formatter))


class _JsonGuard(logging.Handler):
    """Keeps Scrapy's root log handler on the JSON formatter.

    Scrapy replaces its root handler (with a plain formatter) once more after
    the extensions are built. This handler writes nothing: it sits before the
    replacement in the root logger's handlers, so it sees each record first
    and gives the current Scrapy handler the JSON formatter if it lacks it.
    """

    def __init__(self, formatter: JsonFormatter) -> None:
        super().__init__()
        self.json = formatter

    @staticmethod
    def apply(formatter: JsonFormatter) -> None:
        handler = get_scrapy_root_handler()
        if handler is not None and handler.formatter is not formatter:
            handler.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        self.apply(self.json)


class LogLevelGate:
    """Raises the root and ``scrapy`` loggers to the level of Scrapy's log
    handler once the engine runs (Scrapy resets them while the crawler
    starts), so that records below ``LOG_LEVEL`` are never created. Does
    nothing without Scrapy's root handler (an embedding application's
    logging stays as configured)."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LogLevelGate:
        ext = cls()
        crawler.signals.connect(ext.engine_started, signal=signals.engine_started)
        return ext

    def engine_started(self) -> None:
        handler = get_scrapy_root_handler()
        if handler is None:
            return
        # Scrapy's logging config also sets its own logger to DEBUG.
        for logger in (logging.getLogger(), logging.getLogger("scrapy")):
            if logger.level < handler.level:
                logger.setLevel(handler.level)

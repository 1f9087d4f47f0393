"""JSON log lines (``BACKLINKBOT_LOG_JSON``): Scrapy's log handler
(``LOG_FILE``, or standard error) gets a
:class:`~backlinkbot.logformat.JsonFormatter` as soon as the crawler is built,
and keeps it. Scrapy's start-up lines, logged before extensions exist, keep
Scrapy's own format.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.exceptions import NotConfigured
from scrapy.utils.log import get_scrapy_root_handler

from backlinkbot.connection import worker_name
from backlinkbot.logformat import JsonFormatter

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["JsonLogs"]


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

"""Records below ``LOG_LEVEL`` are never created.

Scrapy leaves the root logger at ``NOTSET`` and filters by level in its
handler, so every ``logger.debug()`` would build (and mask) a record that is
then thrown away.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.utils.log import get_scrapy_root_handler

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["LogLevelGate"]


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

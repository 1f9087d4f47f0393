"""The backlinkbot add-on: settings derived from other settings.

Runs before the crawler's settings are frozen (Scrapy add-ons) and sets, at
"addon" priority so that ``-s NAME=VALUE`` still wins:

- the scrapy-redis key names, from ``BACKLINKBOT_REDIS_PREFIX``;
- how often an idle worker looks at the shared queue
  (``BACKLINKBOT_IDLE_POLL_INTERVAL``): Scrapy's engine wakes an idle spider
  every 5 s, long enough for one worker to drain a small frontier alone;
- ``REDIS_URL`` / ``MONGODB_URI`` of the embedded local service of
  ``BACKLINKBOT_DATA_DIR`` (started if none runs, used for the life of the
  process) for whichever is not configured, while ``BACKLINKBOT_EMBEDDED``
  is on: the single-machine default;
- Scrapy's remote control left out of ``EXTENSIONS_BASE`` (it runs code
  sent to a local port: ``REMOTE_CONTROL_ENABLED`` alone must not turn it
  on; naming it in ``EXTENSIONS`` does), and the cookies middleware left
  out of ``DOWNLOADER_MIDDLEWARES_BASE`` while ``COOKIES_ENABLED`` is off:
  a disabled default component still has its module imported when Scrapy
  builds the crawler, which slows every worker's start.

It also warns about ``BACKLINKBOT_*`` names, in the settings or the
environment, that are no setting (with the closest one), and has Scrapy say
"Disabled <component>: <setting> is off" at DEBUG level, not as a warning,
for a component of ours that a setting left at its default switches off.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy.core.engine import ExecutionEngine

from backlinkbot import defaults
from backlinkbot.configuration import unknown_setting_warnings
from backlinkbot.connection import CrawlKeys

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

__all__ = ["BacklinkbotAddon"]

logger = logging.getLogger(__name__)

#: (``*_BASE`` setting, default component, the setting that switches it
#: on, or None: left out whatever the settings say).
LEFT_OUT_COMPONENTS = (
    ("EXTENSIONS_BASE", "scrapy.extensions.remote_control.RemoteControl", None),
    ("DOWNLOADER_MIDDLEWARES_BASE", "scrapy.downloadermiddlewares.cookies.CookiesMiddleware",
     "COOKIES_ENABLED"),
)  # fmt: skip

_embedded: contextlib.ExitStack | None = None


def _use_embedded(data_dir: str, idle_seconds: float) -> tuple[str, str]:
    """The URLs of the local service of ``data_dir``, used by this process
    until it exits (once per process)."""
    global _embedded
    from backlinkbot.embedded import LocalService

    if _embedded is None:
        _embedded = contextlib.ExitStack()
        atexit.register(_embedded.close)
    service = LocalService(Path(data_dir), idle_seconds=idle_seconds)
    label = "worker (" + " ".join(["scrapy", *sys.argv[1:]])[:100] + ")"
    state, _ = _embedded.enter_context(service.use(label))
    return state.redis.url, state.mongodb.url


#: What a component of ours says when a setting switches it off.
_SWITCHED_OFF = re.compile(r"(BACKLINKBOT_[A-Z_]+) is (?:0|off)")


class _QuietDisabledDefaults(logging.Filter):
    """Scrapy warns "Disabled <component>: <reason>" for every component
    that raised NotConfigured; for ours whose switch is at its default
    (metrics, JSON logs, per-IP spacing off) that is the normal state."""

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__()
        self.settings = settings

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.msg != "Disabled %(clspath)s: %(eargs)s" or not isinstance(args, dict):
            return True
        match = _SWITCHED_OFF.fullmatch(str(args.get("eargs", "")))
        if match and str(args.get("clspath", "")).startswith("backlinkbot."):
            name = match[1]
            if self.settings.get(name) == getattr(defaults, name, object()):
                record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


def _quiet_disabled_defaults(settings: BaseSettings) -> None:
    middleware_logger = logging.getLogger("scrapy.middleware")
    for old in [f for f in middleware_logger.filters if isinstance(f, _QuietDisabledDefaults)]:
        middleware_logger.removeFilter(old)
    middleware_logger.addFilter(_QuietDisabledDefaults(settings))


def _warn_unknown_names(settings: BaseSettings) -> None:
    names = [name for name, _ in settings.items()]
    for message in unknown_setting_warnings(names, "in the settings"):
        logger.warning(message)
    for message in unknown_setting_warnings(os.environ, "in the environment"):
        logger.warning(message)


def _leave_out_defaults(settings: BaseSettings) -> None:
    """Drop the ``LEFT_OUT_COMPONENTS`` from their ``*_BASE`` settings (those
    with a switch only while it is off), so that Scrapy does not import
    them only to disable them."""
    for base_name, path, switch in LEFT_OUT_COMPONENTS:
        if switch is not None and settings.getbool(switch):
            continue
        base = dict(settings.getdict(base_name))
        if base.pop(path, None) is not None:
            settings.set(base_name, base, priority="addon")


class BacklinkbotAddon:
    def update_settings(self, settings: BaseSettings) -> None:
        _warn_unknown_names(settings)
        _quiet_disabled_defaults(settings)
        _leave_out_defaults(settings)
        poll = settings.getfloat("BACKLINKBOT_IDLE_POLL_INTERVAL")
        if poll > 0:
            # A class constant of the engine, read when the engine opens the
            # spider (after add-ons ran); one crawler per worker process.
            ExecutionEngine._SLOT_HEARTBEAT_INTERVAL = poll
        keys = CrawlKeys.from_settings(settings)
        settings.set("SCHEDULER_QUEUE_KEY", keys.requests, priority="addon")
        settings.set("SCHEDULER_DUPEFILTER_KEY", keys.dupefilter, priority="addon")
        settings.set("REDIS_START_URLS_KEY", keys.start_urls, priority="addon")
        if settings.getbool("BACKLINKBOT_EMBEDDED") and not (
            settings.get("REDIS_URL") and settings.get("MONGODB_URI")
        ):
            redis_url, mongo_uri = _use_embedded(
                str(settings.get("BACKLINKBOT_DATA_DIR")),
                settings.getfloat("BACKLINKBOT_EMBEDDED_IDLE_SECONDS"),
            )
            for name, url in (("REDIS_URL", redis_url), ("MONGODB_URI", mongo_uri)):
                if not settings.get(name):
                    settings.set(name, url, priority="addon")

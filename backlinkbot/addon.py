"""The backlinkbot add-on: settings derived from other settings.

Runs before the crawler's settings are frozen (Scrapy add-ons) and sets, at
"addon" priority so that ``-s NAME=VALUE`` still wins:

- the scrapy-redis key names, from ``BACKLINKBOT_REDIS_PREFIX``;
- how often an idle worker looks at the shared queue
  (``BACKLINKBOT_IDLE_POLL_INTERVAL``): Scrapy's engine wakes an idle spider
  every 5 s, long enough for one worker to drain a small frontier alone;
- ``REDIS_URL`` / ``MONGODB_URI`` of the embedded local servers, which it
  starts (once per process) when neither is configured and
  ``BACKLINKBOT_EMBEDDED`` is on: the single-machine default;
- Scrapy's remote control left out of ``EXTENSIONS_BASE`` (it runs code
  sent to a local port: ``REMOTE_CONTROL_ENABLED`` alone must not turn it
  on; naming it in ``EXTENSIONS`` does), and the cookies middleware left
  out of ``DOWNLOADER_MIDDLEWARES_BASE`` while ``COOKIES_ENABLED`` is off:
  a disabled default component still has its module imported when Scrapy
  builds the crawler (aiohttp and tldextract: 0.18 s of every worker's
  start).
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy.core.engine import ExecutionEngine

from backlinkbot.connection import CrawlKeys

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

    from backlinkbot.embedded import EmbeddedServices

__all__ = ["BacklinkbotAddon"]

#: (``*_BASE`` setting, default component, the setting that switches it
#: on, or None: left out whatever the settings say).
LEFT_OUT_COMPONENTS = (
    ("EXTENSIONS_BASE", "scrapy.extensions.remote_control.RemoteControl", None),
    ("DOWNLOADER_MIDDLEWARES_BASE", "scrapy.downloadermiddlewares.cookies.CookiesMiddleware",
     "COOKIES_ENABLED"),
)  # fmt: skip

_embedded: EmbeddedServices | None = None


def _start_embedded(data_dir: str) -> None:
    global _embedded
    if _embedded is not None:
        return
    from backlinkbot.embedded import EmbeddedServices

    _embedded = EmbeddedServices(Path(data_dir))
    _embedded.__enter__()
    atexit.register(_embedded.__exit__, None, None, None)


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
        configured = {name: settings.get(name) for name in ("REDIS_URL", "MONGODB_URI")}
        if settings.getbool("BACKLINKBOT_EMBEDDED") and not all(configured.values()):
            for name, value in configured.items():
                if value:
                    os.environ[name] = str(value)
            _start_embedded(str(settings.get("BACKLINKBOT_DATA_DIR")))
            settings.set("REDIS_URL", os.environ["REDIS_URL"], priority="addon")
            settings.set("MONGODB_URI", os.environ["MONGODB_URI"], priority="addon")

"""Defaults of backlinkbot's own settings, each defined once.

``backlinkbot.settings`` star-imports this module; components read the values
with typed getters (``getint``, ``getbool``...) from the crawler's settings.
"""

from __future__ import annotations

import os

__all__ = [
    "BACKLINKBOT_CLOSE_WHEN_DONE",
    "BACKLINKBOT_DATA_DIR",
    "BACKLINKBOT_EMBEDDED",
    "BACKLINKBOT_FOLLOW_LINKS",
    "BACKLINKBOT_IDLE_POLL_INTERVAL",
    "BACKLINKBOT_MAX_PAGES",
    "BACKLINKBOT_REDIS_PREFIX",
    "BACKLINKBOT_SINK_BATCH_PAGES",
    "BACKLINKBOT_SINK_FLUSH_SECONDS",
    "BACKLINKBOT_SINK_MAX_RETRIES",
    "BACKLINKBOT_STATS_INTERVAL",
    "BACKLINKBOT_STORE_INTERNAL",
    "BACKLINKBOT_WORKER_ID",
    "BACKLINKBOT_WORKER_TIMEOUT",
]

#: Prefix of every Redis key of the crawl (queue, dupefilter, seeds, stats).
BACKLINKBOT_REDIS_PREFIX = os.environ.get("BACKLINKBOT_REDIS_PREFIX") or "backlinkbot"
#: This worker's name in the cluster's shared state ("" = "<hostname>:<pid>").
BACKLINKBOT_WORKER_ID = ""
#: Seconds without a heartbeat after which a worker counts as gone.
BACKLINKBOT_WORKER_TIMEOUT = 60.0
#: Seconds between an idle worker's looks at the shared queue (Scrapy's
#: engine otherwise looks every 5 s).
BACKLINKBOT_IDLE_POLL_INTERVAL = 1.0
#: Requests handed out by the frontier, cluster-wide; 0 means no limit.
BACKLINKBOT_MAX_PAGES = 0
#: Close the spider once the frontier is empty and every worker is idle;
#: False keeps workers waiting for new seeds (a long-running service).
BACKLINKBOT_CLOSE_WHEN_DONE = True
#: Schedule the links found on each page (False: fetch the seeds only).
BACKLINKBOT_FOLLOW_LINKS = True
#: Also store same-domain (internal) edges in ``links``.
BACKLINKBOT_STORE_INTERNAL = False
#: The sink writes once this many pages are buffered ...
BACKLINKBOT_SINK_BATCH_PAGES = 200
#: ... or this many seconds after the oldest buffered page arrived.
BACKLINKBOT_SINK_FLUSH_SECONDS = 2.0
#: Attempts for one batch before the sink gives up on MongoDB (with backoff).
BACKLINKBOT_SINK_MAX_RETRIES = 30
#: Seconds between pushes of this worker's counters to the cluster stats.
BACKLINKBOT_STATS_INTERVAL = 1.0
#: Start local Redis / MongoDB-wire servers when REDIS_URL / MONGODB_URI are
#: unset (the single-machine default).
BACKLINKBOT_EMBEDDED = True
#: Where the embedded servers keep their data.
BACKLINKBOT_DATA_DIR = os.environ.get("BACKLINKBOT_DATA_DIR") or os.path.expanduser(
    "~/.local/share/backlinkbot"
)

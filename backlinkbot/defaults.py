"""Defaults of backlinkbot's own settings, each defined once.

``backlinkbot.settings`` star-imports this module; components read the values
with typed getters (``getint``, ``getbool``...) from the crawler's settings.
"""

from __future__ import annotations

import os

__all__ = [
    "BACKLINKBOT_ALLOW_DOMAINS",
    "BACKLINKBOT_ALLOW_URLS",
    "BACKLINKBOT_CLOSE_WHEN_DONE",
    "BACKLINKBOT_DATA_DIR",
    "BACKLINKBOT_DENY_DOMAINS",
    "BACKLINKBOT_DENY_URLS",
    "BACKLINKBOT_DNS_OVERRIDES",
    "BACKLINKBOT_DOMAIN_RECOUNT_MAX_LINKS",
    "BACKLINKBOT_DOMAIN_RECOUNT_SECONDS",
    "BACKLINKBOT_DUPEFILTER_CAPACITY",
    "BACKLINKBOT_DUPEFILTER_ERROR_RATE",
    "BACKLINKBOT_DUPEFILTER_RECENT_URLS",
    "BACKLINKBOT_EMBEDDED",
    "BACKLINKBOT_EMBEDDED_IDLE_SECONDS",
    "BACKLINKBOT_FOLLOW_LINKS",
    "BACKLINKBOT_FRONTIER_BATCH",
    "BACKLINKBOT_HOST_DELAY",
    "BACKLINKBOT_IDLE_POLL_INTERVAL",
    "BACKLINKBOT_IP_DELAY",
    "BACKLINKBOT_LAST_SEEN_REFRESH",
    "BACKLINKBOT_LEASE_ACK",
    "BACKLINKBOT_LEASE_TIMEOUT",
    "BACKLINKBOT_LOG_JSON",
    "BACKLINKBOT_LOG_KEEP",
    "BACKLINKBOT_LOST_CONFIRM_SECONDS",
    "BACKLINKBOT_MAX_DEPTH",
    "BACKLINKBOT_MAX_DOMAIN_PAGES",
    "BACKLINKBOT_MAX_HOST_PAGES",
    "BACKLINKBOT_MAX_PAGES",
    "BACKLINKBOT_MAX_PAGE_LINKS",
    "BACKLINKBOT_MAX_REDIRECTS",
    "BACKLINKBOT_MAX_URL_LENGTH",
    "BACKLINKBOT_METRICS_ADDRESS",
    "BACKLINKBOT_METRICS_PORT",
    "BACKLINKBOT_METRICS_PORT_SPAN",
    "BACKLINKBOT_POP_BATCH",
    "BACKLINKBOT_RECRAWL_AFTER",
    "BACKLINKBOT_RECRAWL_BATCH",
    "BACKLINKBOT_RECRAWL_INTERVAL",
    "BACKLINKBOT_REDIS_PREFIX",
    "BACKLINKBOT_ROBOTS_CACHE_SECONDS",
    "BACKLINKBOT_ROBOTS_RETRY_SECONDS",
    "BACKLINKBOT_SCOPE",
    "BACKLINKBOT_SCOPE_HOPS",
    "BACKLINKBOT_SINK_BATCH_PAGES",
    "BACKLINKBOT_SINK_CLOSE_TIMEOUT",
    "BACKLINKBOT_SINK_FLUSH_SECONDS",
    "BACKLINKBOT_SINK_MAX_BACKOFF",
    "BACKLINKBOT_SINK_MAX_RETRIES",
    "BACKLINKBOT_SINK_MEMORY_PAGES",
    "BACKLINKBOT_SINK_SPILL_DIR",
    "BACKLINKBOT_SSRF_ALLOW",
    "BACKLINKBOT_SSRF_GUARD",
    "BACKLINKBOT_STATS_INTERVAL",
    "BACKLINKBOT_STORE_INTERNAL",
    "BACKLINKBOT_TRAP_PATH_REPEATS",
    "BACKLINKBOT_TRAP_QUERY_VARIANTS",
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
#: Attempts for one batch (with backoff) before the sink moves it to disk and
#: retries it after the others; batches are never dropped.
BACKLINKBOT_SINK_MAX_RETRIES = 30
#: Pages the sink holds in memory while MongoDB is slow or away; further
#: batches are spilled to files in BACKLINKBOT_SINK_SPILL_DIR.
BACKLINKBOT_SINK_MEMORY_PAGES = 2000
#: Where the sink spills batches ("" = "<BACKLINKBOT_DATA_DIR>/spill"); one
#: subdirectory per database, replayed by the next worker that opens it.
BACKLINKBOT_SINK_SPILL_DIR = ""
#: Seconds a closing worker waits for MongoDB before leaving unstored batches
#: on disk.
BACKLINKBOT_SINK_CLOSE_TIMEOUT = 60.0
#: Longest pause, in seconds, between two attempts to reach MongoDB.
BACKLINKBOT_SINK_MAX_BACKOFF = 10.0
#: Seconds after a link was first missed before a refetch may declare it
#: lost (the first miss only marks it ``unconfirmed_since``).
BACKLINKBOT_LOST_CONFIRM_SECONDS = 3600.0
#: Seconds after which a recrawl that finds a page's links unchanged also
#: moves their ``last_seen`` (30 days); sooner, only the page's
#: ``links_seen_at`` moves, so the recrawl writes one document, not one per
#: link. 0 refreshes ``last_seen`` on every fetch.
BACKLINKBOT_LAST_SEEN_REFRESH = 30 * 24 * 3600.0
#: Seconds between the sink's recounts of the domains whose links changed
#: (and once more when the worker closes). A recount reads the live links of
#: each such domain, so this bounds how stale the counts are against how
#: much of MongoDB's time they take.
BACKLINKBOT_DOMAIN_RECOUNT_SECONDS = 30.0
#: Domains with more live backlinks than this are not recounted by the sink
#: but by the batch job ``python -m backlinkbot.storage.domains`` (0 = all by
#: the sink).
BACKLINKBOT_DOMAIN_RECOUNT_MAX_LINKS = 100000
#: Seconds after which a fetched page is due for a recrawl (7 days).
BACKLINKBOT_RECRAWL_AFTER = 7 * 24 * 3600.0
#: Pages ``backlinkbot recrawl`` queues per round.
BACKLINKBOT_RECRAWL_BATCH = 10000
#: Seconds between rounds of ``backlinkbot recrawl`` (0 = one round and exit;
#: with BACKLINKBOT_CLOSE_WHEN_DONE=False on the workers, a continuous crawl).
BACKLINKBOT_RECRAWL_INTERVAL = 0.0
#: Seconds between pushes of this worker's counters to the cluster stats.
BACKLINKBOT_STATS_INTERVAL = 1.0
#: Start local Redis / MongoDB-wire servers when REDIS_URL / MONGODB_URI are
#: unset (the single-machine default).
BACKLINKBOT_EMBEDDED = True
#: Where the embedded servers keep their data.
BACKLINKBOT_DATA_DIR = os.environ.get("BACKLINKBOT_DATA_DIR") or os.path.expanduser(
    "~/.local/share/backlinkbot"
)
#: Seconds the embedded servers keep running after the last command that
#: used them ended (``backlinkbot services stop`` stops them at once).
BACKLINKBOT_EMBEDDED_IDLE_SECONDS = 600.0
#: Crawls whose worker logs ``backlinkbot crawl`` keeps under
#: ``<BACKLINKBOT_DATA_DIR>/logs/`` (one directory per crawl, oldest removed).
BACKLINKBOT_LOG_KEEP = 10

# -- Safety (docs/SAFETY.md) ------------------------------------------------
#: Refuse to fetch loopback, private, link-local, multicast, reserved and
#: unspecified addresses, literal or resolved (the SSRF guard).
BACKLINKBOT_SSRF_GUARD = True
#: Exceptions to the SSRF guard: CIDRs, addresses and host names (a leading
#: dot also allows subdomains), as a list or comma-separated.
BACKLINKBOT_SSRF_ALLOW: list[str] = []
#: Fixed DNS answers, ``name=address`` items as a list or comma-separated
#: (like /etc/hosts lines for the crawl); still checked by the SSRF guard.
BACKLINKBOT_DNS_OVERRIDES: list[str] = []
#: Seconds a fetched robots.txt stays in the cluster-wide Redis cache.
BACKLINKBOT_ROBOTS_CACHE_SECONDS = 86400
#: Seconds a host whose robots.txt answered 5xx or timed out counts as fully
#: disallowed before robots.txt is fetched again (RFC 9309 section 2.3.1.4).
BACKLINKBOT_ROBOTS_RETRY_SECONDS = 600
#: Longest URL scheduled for fetching (the link is still recorded); 0 = no limit.
BACKLINKBOT_MAX_URL_LENGTH = 2048
#: Deepest link (hops from a seed) scheduled for fetching; 0 = no limit.
BACKLINKBOT_MAX_DEPTH = 100
#: Requests queued per host in one crawl, cluster-wide (kept exactly by the
#: frontier queue); 0 = no limit.
BACKLINKBOT_MAX_HOST_PAGES = 100_000
#: A path whose run of one to three segments repeats this many times in a row
#: (``/a/b/a/b/a/b``) is a crawler trap; 0 = no check.
BACKLINKBOT_TRAP_PATH_REPEATS = 3
#: Distinct query strings scheduled per host and path by one worker before
#: further variations count as a trap; 0 = no limit.
BACKLINKBOT_TRAP_QUERY_VARIANTS = 200
#: Redirect hops followed from one first request; 0 = no limit.
BACKLINKBOT_MAX_REDIRECTS = 5
#: Links kept of one page, the first in document order; the rest are neither
#: stored nor followed, only counted (the page's ``links_truncated``), so one
#: page cannot take a worker's memory or the sink's writes; 0 = no limit.
BACKLINKBOT_MAX_PAGE_LINKS = 20_000

# -- Frontier (docs/FRONTIER.md) --------------------------------------------
#: Seconds between two requests to one host, cluster-wide, when its
#: robots.txt gives no Crawl-delay.
BACKLINKBOT_HOST_DELAY = 0.25
#: Seconds between two requests to one IP address, cluster-wide, whichever
#: hosts it serves; 0 = no per-IP spacing (per host only). Addresses are
#: resolved before a host's first request and learned from direct answers;
#: through a proxy, which resolves host names itself, none is known and each
#: host gets one request per IP delay.
BACKLINKBOT_IP_DELAY = 0.0
#: Seconds a request handed to a worker stays leased without renewal; a dead
#: worker's requests return to the queue this long after its last renewal.
BACKLINKBOT_LEASE_TIMEOUT = 60.0
#: When a lease is done: "stored" (the sink's pages_stored signal) or
#: "scraped" (item_scraped, for crawls without the MongoDB sink).
BACKLINKBOT_LEASE_ACK = "stored"
#: Discovered requests checked and queued in one Redis call, at most.
BACKLINKBOT_FRONTIER_BATCH = 500
#: Requests leased in one Redis call, at most (never more than the
#: downloader has free slots, so none waits in the worker).
BACKLINKBOT_POP_BATCH = 16
#: URLs the seen-URL Bloom filter is sized for ...
BACKLINKBOT_DUPEFILTER_CAPACITY = 10_000_000
#: ... and its false-positive rate at that size (a false positive is a URL
#: that is not crawled).
BACKLINKBOT_DUPEFILTER_ERROR_RATE = 0.001
#: URLs a worker remembers having handed to that filter lately (in each of two
#: generations, by hash): met again, they cost no Redis work. 0 = off.
BACKLINKBOT_DUPEFILTER_RECENT_URLS = 50_000

# -- Scope (docs/SCOPE.md) ---------------------------------------------------
#: Where the crawl follows links: "all" (everywhere), "domains" (the seeds'
#: registrable domains) or "hosts" (the seeds' hosts). Every link is recorded
#: whatever the scope. Stored with the crawl in Redis: every worker applies
#: the crawl's.
BACKLINKBOT_SCOPE = "all"
#: Links followed out of scope (1: the targets of in-scope pages' external
#: links are fetched, their own links not followed).
BACKLINKBOT_SCOPE_HOPS = 0
#: Domains (and their subdomains) in scope besides the seeds'.
BACKLINKBOT_ALLOW_DOMAINS: list[str] = []
#: Domains (and their subdomains) never followed into.
BACKLINKBOT_DENY_DOMAINS: list[str] = []
#: Regular expressions: a URL one of them matches is in scope.
BACKLINKBOT_ALLOW_URLS: list[str] = []
#: Regular expressions: a URL one of them matches is never followed.
BACKLINKBOT_DENY_URLS: list[str] = []
#: Pages fetched per registrable domain, cluster-wide; 0 = no limit.
BACKLINKBOT_MAX_DOMAIN_PAGES = 0

# -- Operations (docs/DEPLOYMENT.md) ------------------------------------------
#: Serve Prometheus metrics on this port (0 = off); with several workers on one
#: machine, each takes the first free port of the span below.
BACKLINKBOT_METRICS_PORT = int(os.environ.get("BACKLINKBOT_METRICS_PORT") or 0)
#: How many ports, from BACKLINKBOT_METRICS_PORT on, a worker tries.
BACKLINKBOT_METRICS_PORT_SPAN = 16
#: Address the metrics server listens on.
BACKLINKBOT_METRICS_ADDRESS = os.environ.get("BACKLINKBOT_METRICS_ADDRESS") or "0.0.0.0"
#: Log one JSON object per line, with the worker id and the crawl id.
BACKLINKBOT_LOG_JSON = os.environ.get("BACKLINKBOT_LOG_JSON", "").lower() in {
    "1",
    "true",
    "yes",
    "on",
}

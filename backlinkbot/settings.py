"""Scrapy settings of the backlinkbot project.

Deployment values come from the environment (``REDIS_URL``, ``MONGODB_URI``,
``MONGODB_DATABASE``); every setting can also be given the Scrapy way
(``-s NAME=VALUE``). Our own settings are prefixed ``BACKLINKBOT_`` and their
defaults live in :mod:`backlinkbot.defaults`, where each is documented; each
can also be an environment variable of the same name
(:mod:`backlinkbot.configuration`; ``-s`` wins over the environment).
"""

from __future__ import annotations

import os

from backlinkbot import USER_AGENT
from backlinkbot.configuration import from_environment
from backlinkbot.defaults import *  # noqa: F403  (each BACKLINKBOT_* default, defined once)
from backlinkbot.safety.secrets import read_secret_file

# BACKLINKBOT_* environment variables replace their defaults, for the
# workers as for the commands.
globals().update(from_environment(os.environ))

BOT_NAME = "backlinkbot"
SPIDER_MODULES = ["backlinkbot.spiders"]
NEWSPIDER_MODULE = "backlinkbot.spiders"

ADDONS = {"backlinkbot.addon.BacklinkbotAddon": 0}

USER_AGENT = USER_AGENT
ROBOTSTXT_OBEY = True
ROBOTSTXT_USER_AGENT = "backlinkbot"
ROBOTSTXT_PARSER = "scrapy.robotstxt.ProtegoRobotParser"

# Deployment: the shared frontier and the graph store. When both are unset the
# add-on starts the embedded local servers.
if os.environ.get("REDIS_URL"):
    REDIS_URL = os.environ["REDIS_URL"]
if os.environ.get("MONGODB_URI"):
    MONGODB_URI = os.environ["MONGODB_URI"]
# Credentials can also come from files (container secrets): *_FILE wins.
if os.environ.get("REDIS_URL_FILE"):
    REDIS_URL = read_secret_file(os.environ["REDIS_URL_FILE"])
if os.environ.get("MONGODB_URI_FILE"):
    MONGODB_URI = read_secret_file(os.environ["MONGODB_URI_FILE"])
MONGODB_DATABASE = os.environ.get("MONGODB_DATABASE") or "backlinkbot"

# The frontier: scrapy-redis's scheduler with our queue, dupefilter and a JSON
# serializer. State is shared by every worker, so closing never flushes it.
SCHEDULER = "backlinkbot.frontier.scheduler.FrontierScheduler"
SCHEDULER_PERSIST = True
SCHEDULER_QUEUE_CLASS = "backlinkbot.frontier.queue.FrontierQueue"
DUPEFILTER_CLASS = "backlinkbot.frontier.dupefilter.URLDupeFilter"
SCHEDULER_SERIALIZER = "backlinkbot.frontier.serializer"
REDIS_START_URLS_AS_SET = False

# Redirects and meta refreshes are links: the spider records them as edges and
# schedules their targets itself.
REDIRECT_ENABLED = False
METAREFRESH_ENABLED = False
HTTPERROR_ALLOW_ALL = True
# The Referer header would be stored with every queued request.
REFERER_ENABLED = False
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy's remote control runs code sent to a local HTTP port (token in a
# file); a fleet of workers is operated through Redis and the metrics port.
REMOTE_CONTROL_ENABLED = False

DOWNLOADER_MIDDLEWARES = {
    # Checks every request, also those that waited for robots.txt.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "backlinkbot.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": 100,
    # The scope's page budget per domain; after robots.txt, which it spares.
    "backlinkbot.downloadermiddlewares.domainbudget.DomainBudget": 110,
    # Refuses non-public addresses before robots.txt or the page is fetched.
    "backlinkbot.downloadermiddlewares.ssrf.SSRFGuardMiddleware": 50,
    # Decompression bombs become failed pages instead of silent skips.
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "backlinkbot.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": 590,
    # Proxies from the environment, as Scrapy's, with no_proxy read once.
    "scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware": None,
    "backlinkbot.downloadermiddlewares.httpproxy.HttpProxyMiddleware": 750,
    # Per-IP spacing (BACKLINKBOT_IP_DELAY) for robots.txt and first contacts,
    # once the proxy is known; disabled unless the setting is above 0.
    "backlinkbot.downloadermiddlewares.addressspacing.AddressSpacing": 760,
}
# Following links: trap checks, and a page's links handed to the frontier in
# one batch before the page goes to the item pipelines.
SPIDER_MIDDLEWARES = {
    "backlinkbot.spidermiddlewares.follow.FollowLinksMiddleware": 800,
    # The spider sets each request's depth and priority itself, and the trap
    # checks bound depth (BACKLINKBOT_MAX_DEPTH, DEPTH_LIMIT) and URL length
    # (BACKLINKBOT_MAX_URL_LENGTH): Scrapy's two would only add a layer to
    # every response's output.
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
}
# Connections only ever go to addresses the SSRF policy allows.
TWISTED_DNS_RESOLVER = "backlinkbot.safety.resolver.SafeResolver"
ITEM_PIPELINES = {
    "pipelines.dedup.EdgeDedupPipeline": 200,
    "pipelines.mongo.MongoSinkPipeline": 300,
}
EXTENSIONS = {
    "backlinkbot.extensions.clusterstats.ClusterStats": 500,
    # Masks passwords in URLs in every log record (also before it runs).
    "backlinkbot.extensions.secretmasking.SecretMasking": 0,
    # Operations: JSON logs (BACKLINKBOT_LOG_JSON), Prometheus metrics
    # (BACKLINKBOT_METRICS_PORT); each disabled unless asked for.
    "backlinkbot.extensions.jsonlogs.JsonLogs": 1,
    # Records below LOG_LEVEL are not even created.
    "backlinkbot.extensions.loglevel.LogLevelGate": 2,
    "backlinkbot.extensions.metrics.PrometheusMetrics": 510,
    # Each host's IP address for the frontier's per-IP spacing; disabled
    # unless BACKLINKBOT_IP_DELAY is set.
    "backlinkbot.extensions.hostaddresses.HostAddresses": 520,
}

# Fetch policy.
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
DNS_TIMEOUT = 10
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
DEPTH_LIMIT = 0
DEPTH_STATS_VERBOSE = False
# Connections to a forward proxy are kept and reused, not reopened; a request
# sent late moves its host's (and address's) next turn on, so the next one
# still keeps the delay.
DOWNLOAD_HANDLERS = {
    "http": "backlinkbot.downloadhandlers.http.PooledHTTPDownloadHandler",
    "https": "backlinkbot.downloadhandlers.http.PooledHTTPDownloadHandler",
}
# Scrapy's stats without a wrapper around every call (backlinkbot/statscollectors.py).
STATS_CLASS = "backlinkbot.statscollectors.CrawlStatsCollector"
# Scrapy parses the source of every callback of every response to warn about
# `return value` in generators (its cache misses on bound methods).
WARN_ON_GENERATOR_RETURN_VALUE = False
# A page gives one item (its links go to the frontier in one batch): Scrapy's
# default of 100 would start 100 item tasks for every response.
CONCURRENT_ITEMS = 1
LOG_LEVEL = "INFO"

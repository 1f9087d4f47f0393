"""Prometheus metrics of one worker, served over HTTP (``BACKLINKBOT_METRICS_PORT``).

Values are read when Prometheus scrapes, in the HTTP server's thread, from
the worker's stats and the shared frontier; the metrics are listed in
docs/DEPLOYMENT.md. Several workers on one machine take the first free port
of ``BACKLINKBOT_METRICS_PORT_SPAN`` ports.
"""

from __future__ import annotations

import collections
import logging
import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from backlinkbot.connection import CrawlKeys, redis_client, worker_name

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import CollectorRegistry
    from scrapy.crawler import Crawler

__all__ = ["COUNTERS", "FRONTIER_GAUGES", "PrometheusMetrics"]

logger = logging.getLogger(__name__)

#: Counters taken from this worker's stats: metric name -> (stats key, help).
COUNTERS = {
    "backlinkbot_pages_fetched": ("backlinkbot/pages/fetched", "Pages fetched (any status)."),
    "backlinkbot_page_errors": ("backlinkbot/pages/errors", "Pages that failed to download."),
    "backlinkbot_links_stored": ("backlinkbot/sink/links_inserted", "New edges stored."),
    "backlinkbot_sink_pages_written": ("backlinkbot/sink/pages_written", "Pages stored."),
    "backlinkbot_sink_retries": ("backlinkbot/sink/retries", "Failed MongoDB writes retried."),
    "backlinkbot_sink_pages_spilled": (
        "backlinkbot/sink/pages_spilled",
        "Pages the sink moved to disk while MongoDB lagged.",
    ),
    "backlinkbot_sink_pages_rejected": (
        "backlinkbot/sink/pages_rejected",
        "Pages MongoDB refused (bad documents).",
    ),
    "backlinkbot_lease_expiries": (
        "backlinkbot/frontier/leases_reaped",
        "Expired leases of dead workers requeued.",
    ),
    "backlinkbot_leases_acked": ("backlinkbot/frontier/leases_acked", "Leases acknowledged."),
    "backlinkbot_leases_released": (
        "backlinkbot/frontier/leases_released",
        "Leases returned to the queue on close.",
    ),
}
#: Frontier gauges: metric name -> (CrawlKeys attribute, Redis command, help).
FRONTIER_GAUGES = {
    "backlinkbot_frontier_queued": ("queued", "get", "Requests waiting in the frontier."),
    "backlinkbot_frontier_leased": ("leased", "zcard", "Requests handed to workers."),
    "backlinkbot_frontier_hosts": ("hosts", "zcard", "Hosts with queued requests."),
    "backlinkbot_frontier_seeds": ("start_urls", "llen", "Seeds not yet read by a worker."),
    "backlinkbot_frontier_workers": ("heartbeat", "hlen", "Workers with a heartbeat."),
    "backlinkbot_frontier_busy_workers": ("busy", "hlen", "Workers holding requests."),
}
_STATUS = re.compile(r"^downloader/response_status_count/(\d+)$")
#: Seconds of history behind the pages/s gauge.
RATE_WINDOW = 60.0


class PrometheusMetrics:
    def __init__(self, crawler: Crawler, server: Any, keys: CrawlKeys, worker: str, *,
                 port: int, span: int, address: str) -> None:  # fmt: skip
        self.crawler = crawler
        self.server = server
        self.keys = keys
        self.worker = worker
        self.port = port
        self.span = span
        self.address = address
        self.registry: CollectorRegistry | None = None
        self.samples: collections.deque[tuple[float, int]] = collections.deque()
        self.http: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrometheusMetrics:
        settings = crawler.settings
        port = settings.getint("BACKLINKBOT_METRICS_PORT")
        if port <= 0:
            raise NotConfigured("BACKLINKBOT_METRICS_PORT is 0")
        try:  # imported only when metrics are asked for
            import prometheus_client  # noqa: F401
        except ImportError:
            raise NotConfigured("BACKLINKBOT_METRICS_PORT needs prometheus-client") from None
        ext = cls(
            crawler,
            redis_client(settings),
            CrawlKeys.from_settings(settings),
            worker_name(settings),
            port=port,
            span=max(1, settings.getint("BACKLINKBOT_METRICS_PORT_SPAN")),
            address=str(settings.get("BACKLINKBOT_METRICS_ADDRESS")),
        )
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        from prometheus_client.exposition import start_http_server
        from prometheus_client.registry import CollectorRegistry

        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        for port in range(self.port, self.port + self.span):
            try:
                self.http, _thread = start_http_server(port, self.address, self.registry)
            except OSError:
                continue
            assert self.crawler.stats is not None
            self.crawler.stats.set_value("backlinkbot/metrics/port", port)
            logger.info("Prometheus metrics on http://%s:%s/metrics", self.address, port)
            return
        logger.error("No free port for metrics in %s-%s", self.port, self.port + self.span - 1)

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.http is not None:
            self.http.shutdown()
            self.http.server_close()
            self.http = None

    # -- collection (in the HTTP server's thread) ----------------------------

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        assert self.crawler.stats is not None
        # A dict copy is atomic under the GIL; the reactor thread keeps counting.
        stats = dict(self.crawler.stats.get_stats())
        labels = {"worker": self.worker, "crawl": self.keys.prefix}
        names, values = list(labels), list(labels.values())
        for metric, (key, text) in COUNTERS.items():
            counter = CounterMetricFamily(metric, text, labels=names)
            counter.add_metric(values, float(stats.get(key, 0)))
            yield counter
        yield self._rate(stats, names, values)
        responses = CounterMetricFamily(
            "backlinkbot_responses", "HTTP responses by status.", labels=[*names, "status"]
        )
        generic = GaugeMetricFamily(
            "backlinkbot_scrapy_stat", "Every numeric Scrapy stat of this worker.",
            labels=[*names, "stat"],
        )  # fmt: skip
        for key, value in sorted(stats.items()):
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if match := _STATUS.match(key):
                responses.add_metric([*values, match.group(1)], float(value))
            generic.add_metric([*values, key], float(value))
        yield responses
        yield generic
        yield self._sink_backlog(names, values)
        yield from self._frontier(names, values)

    def _rate(self, stats: dict[str, Any], names: list[str], values: list[str]) -> Metric:
        from prometheus_client.core import GaugeMetricFamily

        now, fetched = time.monotonic(), int(stats.get("backlinkbot/pages/fetched", 0))
        self.samples.append((now, fetched))
        while len(self.samples) > 2 and now - self.samples[1][0] >= RATE_WINDOW:
            self.samples.popleft()
        then, before = self.samples[0]
        if then == now:  # first scrape: the average since the spider opened
            start = stats.get("start_time")
            elapsed = time.time() - start.timestamp() if start is not None else 0.0
            rate = fetched / elapsed if elapsed > 0 else 0.0
        else:
            rate = (fetched - before) / (now - then)
        gauge = GaugeMetricFamily(
            "backlinkbot_pages_per_second", "Pages fetched per second, last minute.",
            labels=names,
        )  # fmt: skip
        gauge.add_metric(values, rate)
        return gauge

    def _sink_backlog(self, names: list[str], values: list[str]) -> Metric:
        from prometheus_client.core import GaugeMetricFamily

        gauge = GaugeMetricFamily(
            "backlinkbot_sink_backlog_pages", "Pages waiting for MongoDB in this worker.",
            labels=[*names, "where"],
        )  # fmt: skip
        sink = self._sink()
        spill = getattr(sink, "spill", None)
        gauge.add_metric([*values, "buffer"], float(len(getattr(sink, "pending", ()) or ())))
        gauge.add_metric([*values, "memory"], float(getattr(spill, "in_memory", 0) or 0))
        gauge.add_metric([*values, "disk_batches"], float(getattr(spill, "on_disk", 0) or 0))
        return gauge

    def _sink(self) -> Any:
        engine = self.crawler.engine
        scraper = getattr(engine, "scraper", None)
        for pipeline in getattr(getattr(scraper, "itemproc", None), "middlewares", ()):
            if type(pipeline).__name__ == "MongoSinkPipeline":
                return pipeline
        return None

    def _frontier(self, names: list[str], values: list[str]) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        wanted = [
            (metric, key, command, text)
            for metric, (attribute, command, text) in FRONTIER_GAUGES.items()
            if isinstance(key := getattr(self.keys, attribute, None), str)
        ]
        try:
            with self.server.pipeline(transaction=False) as pipe:
                for _metric, key, command, _text in wanted:
                    getattr(pipe, command)(key)
                results = pipe.execute(raise_on_error=False)
        except Exception as exc:  # Redis away: the worker's own metrics still count
            logger.debug("Frontier metrics unavailable: %s", exc)
            results = None
        up = GaugeMetricFamily("backlinkbot_frontier_up", "Redis answered.", labels=names)
        up.add_metric(values, 0.0 if results is None else 1.0)
        yield up
        if results is None:
            return
        for (metric, _key, _command, text), result in zip(wanted, results, strict=True):
            if isinstance(result, Exception):
                continue
            gauge = GaugeMetricFamily(metric, text, labels=names)
            gauge.add_metric(values, float(result or 0))
            yield gauge

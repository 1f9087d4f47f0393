"""The shared Redis frontier, built on scrapy-redis's plug points (docs/FRONTIER.md).

- :mod:`.serializer`: JSON (not pickle) for requests on the shared queue.
- :mod:`.scheduler`: batched enqueues and pops (``SCHEDULER``).
- :mod:`.acks`: lease acknowledgements, once the links found before are queued.
- :mod:`.queue`: per-host queues, cluster-wide politeness, leased pops
  (``SCHEDULER_QUEUE_CLASS``).
- :mod:`.leases`: requests handed out stay in Redis until done; reaper.
- :mod:`.dupefilter`, :mod:`.bloom`: seen-URL Bloom filter (``DUPEFILTER_CLASS``).
- :mod:`.cluster`: which workers are busy, and when the crawl is finished.
- :mod:`.spacing`: per-host and per-IP spacing beyond the pop: turns kept
  when a request is sent, host addresses.
"""

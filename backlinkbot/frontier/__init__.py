"""The shared Redis frontier, built on scrapy-redis's plug points.

- :mod:`.keys`: where each piece of a crawl's state lives in Redis.
- :mod:`.serializer`: JSON (not pickle) for requests on the shared queue.
- :mod:`.queue`: the request queue (``SCHEDULER_QUEUE_CLASS``).
- :mod:`.dupefilter`: seen-URL filter (``DUPEFILTER_CLASS``).
- :mod:`.cluster`: which workers are busy, and when the crawl is finished.
"""

"""Item pipelines: normalize URLs, merge duplicate links into edges, store.

``ITEM_PIPELINES`` runs them in this order:

1. :class:`pipelines.normalize.NormalizePipeline` — page and link URLs to
   their normalized form, hosts and registrable domains; bad URLs counted.
2. :class:`pipelines.dedup.EdgeDedupPipeline` — several links from one page
   to one target become one edge (the merge rules of docs/SCHEMA.md).
3. :class:`pipelines.mongo.MongoSinkPipeline` — bulk writes into MongoDB.
"""

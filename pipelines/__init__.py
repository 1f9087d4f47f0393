"""Item pipelines: merge duplicate links into edges, store.

``ITEM_PIPELINES`` runs them in this order, on page items whose links the
spider already normalized into edges:

1. :class:`pipelines.dedup.EdgeDedupPipeline` — several links from one page
   to one target become one edge (docs/SCHEMA.md merge rules).
2. :class:`pipelines.mongo.MongoSinkPipeline` — bulk writes into MongoDB.
"""

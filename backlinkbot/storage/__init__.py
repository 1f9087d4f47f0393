"""The backlink graph in MongoDB: schema, writer, queries, recrawls.

- :mod:`.schema`: collection names, indexes, document ids and fingerprints.
- :mod:`.writer`: turns batches of crawled pages into bulk writes; new,
  unchanged, unconfirmed, lost and restored links.
- :mod:`.buffer`: the sink's bounded buffer that spills batches to disk.
- :mod:`.domains`: per-domain backlink counts.
- :mod:`.queries`: the questions the CLI and downstream readers ask.
- :mod:`.recrawl`: which pages are due for another fetch, queued under a lock.
"""

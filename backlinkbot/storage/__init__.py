"""The backlink graph in MongoDB: schema, writer, queries.

- :mod:`.schema`: collection names, indexes, document ids and fingerprints.
- :mod:`.writer`: turns batches of crawled pages into bulk writes.
- :mod:`.domains`: per-domain backlink counts.
- :mod:`.queries`: the questions the CLI and downstream readers ask.
"""

"""Signals of our own, sent through the crawler's signal manager.

``pages_stored``: the sink sends it (in the reactor thread) after a batch of
pages and their links is safely in MongoDB, with ``urls``: the list of page
URLs of that batch. The frontier uses it to acknowledge the requests it
leased for those pages.
"""

from __future__ import annotations

__all__ = ["pages_stored"]

pages_stored = object()

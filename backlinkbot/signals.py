"""Signals of our own, sent through the crawler's signal manager.

``pages_stored``: the sink sends it (in the reactor thread) after a batch of
pages and their links is safely in MongoDB, or kept for good in a
``rejected-*`` file because it cannot be stored, with ``urls``: the list of
page URLs of that batch. The frontier uses it to acknowledge the requests it
leased for those pages (they are not fetched again).
"""

from __future__ import annotations

__all__ = ["pages_stored"]

pages_stored = object()

"""Queue seeds into a crawl's Redis seed list, deduplicated.

Seeds go to ``<prefix>:start_urls``, where every worker reads them. A seed
is skipped when an earlier one of the same input has its URL, or when the
crawl has seen its URL already (its bits are all set in the crawl's Bloom
filter; read only, the workers still decide): the workers would drop it
anyway. A ``recrawl`` seed is fetched again whatever was seen, so it is
never skipped as seen. The seeds' hosts and domains are added to the crawl's
scope sets (:mod:`backlinkbot.scope`) in the same round trip.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import redis

from backlinkbot.connection import CrawlKeys
from backlinkbot.frontier.bloom import BloomGeometry
from backlinkbot.scope import seed_sets_commands
from backlinkbot.seeds.formats import Seed

__all__ = ["Queued", "queue_seeds"]

#: Seeds pushed per round trip.
_CHUNK = 1000


@dataclass
class Queued:
    """What :func:`queue_seeds` did: seeds queued, and those skipped as
    duplicates of the input or as already seen by the crawl."""

    queued: int = 0
    duplicates: int = 0
    seen: int = 0
    urls: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return self.duplicates + self.seen


def _seen(
    server: redis.Redis, keys: CrawlKeys, geometry: BloomGeometry, urls: list[str]
) -> list[bool]:
    """Whether each URL's bits are all set in the crawl's Bloom filter."""
    pipe = server.pipeline(transaction=False)
    for url in urls:
        shard, offsets = geometry.locate(url)
        key = f"{keys.dupefilter}:{shard}" if shard else keys.dupefilter
        ops: list[Any] = []
        for offset in offsets:
            ops += ["GET", "u1", offset]
        pipe.execute_command("BITFIELD_RO", key, *ops)  # type: ignore[no-untyped-call]
    return [all(bits) for bits in pipe.execute()]


def queue_seeds(
    server: redis.Redis,
    keys: CrawlKeys,
    seeds: Iterable[Seed],
    *,
    geometry: BloomGeometry | None = None,
) -> Queued:
    """Push ``seeds`` to the crawl's seed list, less duplicates and (with the
    crawl's Bloom ``geometry``) those the crawl has seen."""
    out = Queued()
    fresh: list[Seed] = []
    known: set[str] = set()
    for seed in seeds:
        if seed.url in known:
            out.duplicates += 1
            continue
        known.add(seed.url)
        fresh.append(seed)
    for start in range(0, len(fresh), _CHUNK):
        chunk = fresh[start : start + _CHUNK]
        if geometry is not None:
            flags = _seen(server, keys, geometry, [s.url for s in chunk])
            kept = [s for s, seen in zip(chunk, flags, strict=True)
                    if not seen or s.options.get("recrawl") is True]  # fmt: skip
            out.seen += len(chunk) - len(kept)
            chunk = kept
        if not chunk:
            continue
        pipe = server.pipeline(transaction=False)
        for command in seed_sets_commands(keys, [s.url for s in chunk]):
            pipe.execute_command(*command)  # type: ignore[no-untyped-call]
        pipe.rpush(keys.start_urls, *(s.entry() for s in chunk))
        pipe.execute()
        out.queued += len(chunk)
        out.urls += [s.url for s in chunk]
    return out

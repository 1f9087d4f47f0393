"""Bloom filter geometry and bit positions of the seen-URL filter (pure functions).

1. bits ``m = ceil(-n ln p / (ln 2)^2)``, hashes ``k = round(m / n * ln 2)``
   (Bloom 1970);
2. a filter larger than one Redis string (2^32 bits) is split into equal
   shards, a URL's bits all in the shard its hash picks;
3. the ``k`` positions are ``h1 + i * h2 (mod bits per shard)`` from one
   128-bit BLAKE2b digest (Kirsch & Mitzenmacher 2006).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

__all__ = ["BloomGeometry"]

#: Bits in one Redis string (512 MB).
MAX_SHARD_BITS = 2**32


@dataclass(frozen=True, slots=True)
class BloomGeometry:
    shards: int
    shard_bits: int
    hashes: int

    @classmethod
    def for_capacity(cls, capacity: int, error_rate: float) -> BloomGeometry:
        if capacity <= 0:
            raise ValueError(f"expected a positive capacity, got {capacity!r}")
        if not 0.0 < error_rate < 1.0:
            raise ValueError(f"expected an error rate in (0, 1), got {error_rate!r}")
        bits = math.ceil(-capacity * math.log(error_rate) / math.log(2) ** 2)
        hashes = max(1, round(bits / capacity * math.log(2)))
        shards = math.ceil(bits / MAX_SHARD_BITS)
        return cls(shards=shards, shard_bits=math.ceil(bits / shards), hashes=hashes)

    @property
    def bytes(self) -> int:
        return self.shards * math.ceil(self.shard_bits / 8)

    def locate(self, url: str) -> tuple[int, list[int]]:
        """The shard and the ``k`` bit offsets of ``url``."""
        digest = hashlib.blake2b(url.encode("utf-8"), digest_size=16).digest()
        h1 = int.from_bytes(digest[:8], "little")
        h2 = int.from_bytes(digest[8:], "little") | 1
        m = self.shard_bits
        shard = (h1 >> 48) % self.shards if self.shards > 1 else 0
        h1, h2 = h1 % m, h2 % m
        offsets = []
        for _ in range(self.hashes):  # (h1 + i * h2) mod m, by additions
            offsets.append(h1)
            h1 += h2
            if h1 >= m:
                h1 -= m
        return shard, offsets

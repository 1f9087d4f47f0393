"""Seen-URL memory and accuracy: our Bloom dupefilter against scrapy-redis's.

Fills both filters with the same N distinct URLs in one embedded Redis,
measures each key with ``MEMORY USAGE``, and probes the Bloom filter with N
other URLs for its false-positive rate. scrapy-redis's ``RFPDupeFilter``
keeps a set of 40-character hex request fingerprints (what its
``request_seen`` adds; filled here through a pipeline, as it would be one
``SADD`` at a time).

    python bench/bench_dupefilter.py --urls 1000000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import redis
from scrapy import Request
from scrapy_redis.dupefilter import RFPDupeFilter

from backlinkbot.embedded import EmbeddedRedis
from backlinkbot.frontier.bloom import BloomGeometry

_SETBITS = "for i = 1, #ARGV do redis.call('SETBIT', KEYS[1], ARGV[i], 1) end"


def url(i: int, kind: str = "page") -> str:
    return f"https://www{i % 5000}.example{i % 97}.com/{kind}/{i}?q={i * 7919 % 100003}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--urls", type=int, default=1_000_000)
    parser.add_argument("--error-rate", type=float, default=0.001)
    args = parser.parse_args()
    n = args.urls
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp), appendonly=False)
        client = redis.Redis.from_url(server.start())
        try:
            geometry = BloomGeometry.for_capacity(n, args.error_rate)
            started = time.perf_counter()
            # As the dupefilter does: allocate once, then set bits in Lua.
            client.set("bloom", bytes(geometry.bytes))
            setbits = client.register_script(_SETBITS)
            offsets: list[int] = []
            for i in range(n):
                offsets += geometry.locate(url(i))[1]
                if len(offsets) >= 200_000:
                    setbits(keys=["bloom"], args=offsets)
                    offsets = []
            setbits(keys=["bloom"], args=offsets)
            bloom_seconds = time.perf_counter() - started
            bitmap = client.get("bloom")
            assert bitmap is not None
            false = sum(
                all(bitmap[o >> 3] & (0x80 >> (o & 7)) for o in geometry.locate(url(i, "other"))[1])
                for i in range(n)
            )
            rfp = RFPDupeFilter(client, "rfp")
            started = time.perf_counter()
            with client.pipeline(transaction=False) as pipe:
                for i in range(n):
                    pipe.sadd("rfp", rfp.request_fingerprint(Request(url(i))))
                    if i % 20000 == 0:
                        pipe.execute()
                pipe.execute()
            rfp_seconds = time.perf_counter() - started
            bloom_bytes = int(client.memory_usage("bloom", samples=0) or 0)
            rfp_bytes = int(client.memory_usage("rfp", samples=0) or 0)
        finally:
            client.close()
            server.stop()
    ten_million = BloomGeometry.for_capacity(10_000_000, args.error_rate)
    print(f"URLs: {n:,}  (Bloom filter sized for {n:,} at p={args.error_rate})")
    print(
        f"bloom (ours)          {bloom_bytes:>12,} bytes  {bloom_bytes / n:6.2f} B/URL  "
        f"k={geometry.hashes}  fill {bloom_seconds:.1f}s"
    )
    print(
        f"RFPDupeFilter (set)   {rfp_bytes:>12,} bytes  {rfp_bytes / n:6.2f} B/URL  "
        f"fill {rfp_seconds:.1f}s"
    )
    print(f"ratio RFPDupeFilter/bloom: {rfp_bytes / bloom_bytes:.1f}x")
    print(f"false positives: {false:,} of {n:,} probes = {false / n:.4%}")
    print(
        f"at 10,000,000 URLs: {ten_million.bytes:,} bytes = "
        f"{ten_million.bytes / 10_000_000:.2f} B/URL, k={ten_million.hashes}"
    )


if __name__ == "__main__":
    main()

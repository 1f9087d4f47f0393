"""``backlinkbot seed FILE...``: queue seeds into the running crawl.

Reads the seed formats of :mod:`backlinkbot.seeds` (``-`` is standard input),
reports each bad line with its place, and queues the rest, less duplicates
and URLs the crawl has seen (its Bloom filter, sized by the same settings as
the workers'), then prints what was queued, skipped and invalid.
"""

from __future__ import annotations

import argparse
import json

from backlinkbot import defaults
from backlinkbot.commands import seeding
from backlinkbot.frontier.bloom import BloomGeometry
from backlinkbot.seeds import queue_seeds
from backlinkbot.services import crawl_keys, open_redis, running_services

help = "queue seeds (URLs, domains, top-list CSV, JSON lines) into the running crawl"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="seed files; - is stdin")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")


def run(args: argparse.Namespace) -> int:
    read = seeding.seeds_from([], args.files, command="seed")
    seeding.report_invalid(read.invalid)
    geometry = BloomGeometry.for_capacity(
        defaults.BACKLINKBOT_DUPEFILTER_CAPACITY, defaults.BACKLINKBOT_DUPEFILTER_ERROR_RATE
    )
    with running_services(announce=not args.json):
        server = open_redis()
        done = queue_seeds(server, crawl_keys(), read.seeds, geometry=geometry)
        server.close()
    counts = {"queued": done.queued, "skipped": done.skipped, "invalid": len(read.invalid)}
    if args.json:
        print(json.dumps(counts))
    else:
        print(f"queued {done.queued}, skipped {done.skipped} ({done.duplicates} duplicates, "
              f"{done.seen} seen by the crawl), invalid {len(read.invalid)}")  # fmt: skip
    return 1 if read.invalid and not read.seeds else 0

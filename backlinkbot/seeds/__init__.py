"""Seeds: the formats users have, read into URLs, and queued into a crawl.

:mod:`.formats` turns lines (URL lists, bare domains, ``rank,domain`` CSV of
top-site lists, JSON lines with per-seed options) into seeds or numbered
errors; :mod:`.queueing` pushes them to a crawl's Redis seed list,
deduplicated. docs/SCOPE.md describes the formats.
"""

from backlinkbot.seeds.formats import Invalid, Seed, SeedFile, read_lines, read_sources
from backlinkbot.seeds.queueing import Queued, queue_seeds

__all__ = ["Invalid", "Queued", "Seed", "SeedFile", "queue_seeds", "read_lines", "read_sources"]

"""The URLs a worker handed to the shared seen-URL filter lately.

A page's links are mostly the links of the pages before it: the same site
navigation, header and footer on every page of a site. Each of them was
handed to the shared Bloom filter the first time; checking it again costs
its bit offsets, its share of the Lua call and of the encoded batch, for an
answer already known ("seen"). :class:`RecentURLs` remembers the hashes of
the URLs this worker handed over lately, in two generations of at most
``size`` each (the older one is dropped when the newer is full), so memory is
bounded by ``2 * size`` hashes (about 6 MB at the default 50,000) whatever
the crawl's size.

Remembering is only a shortcut for the shared filter's answer: a URL is
remembered once it is buffered for the filter, and the filter's own answer
for it is final. A 64-bit hash collision (about one in 10^14 lookups here)
would skip a URL, far below the Bloom filter's own error rate. When Redis
may have lost recent writes (a restart, an outage), the worker forgets
everything (:meth:`clear`), so that a URL lost with them is queued again when
it is found again.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["RecentURLs"]


class RecentURLs:
    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError(f"expected a size >= 0, got {size!r}")
        self.size = size
        self._current: set[int] = set()
        self._previous: set[int] = set()

    def __len__(self) -> int:
        return len(self._current) + len(self._previous)

    def split(self, urls: Iterable[str]) -> tuple[list[str], list[str]]:
        """``(fresh, known)``: the URLs not handed over lately (now remembered,
        each once, in order) and the ones that were (or repeat an earlier URL
        of ``urls``)."""
        if not self.size:
            return list(urls), []
        fresh: list[str] = []
        known: list[str] = []
        current, previous = self._current, self._previous
        for url in urls:
            key = hash(url)
            if key in current or key in previous:
                known.append(url)
                continue
            fresh.append(url)
            current.add(key)
            if len(current) >= self.size:
                self._previous, self._current = current, set()
                current, previous = self._current, self._previous
        return fresh, known

    def clear(self) -> None:
        self._current = set()
        self._previous = set()

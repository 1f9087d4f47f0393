"""The URLs a worker handed to the shared seen-URL filter lately.

A page's links mostly repeat the links of the pages before it (navigation,
header, footer). :class:`RecentURLs` remembers their hashes in two
generations of at most ``size`` each, so that the dupefilter answers those
"seen" without Redis; the shared filter's own answer stays final, and the
worker forgets everything (:meth:`RecentURLs.clear`) when Redis may have lost
its last writes. docs/FRONTIER.md, "Seen URLs", gives sizes and figures.
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

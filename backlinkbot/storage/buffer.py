"""A bounded buffer of page batches that spills to disk.

The sink hands batches of pages to its writer thread through this buffer.
Up to ``memory_pages`` pages are held in memory; beyond that each new batch
is written to a file in ``directory`` (JSON lines, written to a temporary
name and renamed, so a file is either complete or absent). Batches come out
in memory first, then files oldest first; a batch taken from a file is
deleted only when :meth:`done` says it is safely stored, so a process that
dies mid-write leaves its batch for the next one.

Several processes may share the directory. Each holds an exclusive
``flock`` on a lock file of its own (``.owner-<token>.lock``) and takes only
its own files while their owner runs: the pages of a batch belong to the
worker that fetched them (it acknowledges their frontier leases once they
are stored). Files of an owner whose lock is free — a worker stopped while
MongoDB was away, or one that died — are adopted by renaming them to the
adopter's token.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from backlinkbot.items import Edge, PageItem

__all__ = ["Batch", "SpillBuffer", "dump_page", "load_page"]

logger = logging.getLogger(__name__)

_SUFFIX = ".jsonl"


def dump_page(page: PageItem, *, lenient: bool = False) -> str:
    """One page as a JSON line (its edges, not its raw links); ``lenient``
    writes values JSON cannot hold as their ``repr`` (for kept-aside files)."""
    data = {s: getattr(page, s) for s in PageItem.__slots__ if s not in ("links", "edges")}
    data["fetched_at"] = page.fetched_at.isoformat()
    data["edges"] = [{s: getattr(e, s) for s in Edge.__slots__} for e in page.edges]
    return json.dumps(data, ensure_ascii=False, default=repr if lenient else None)


def load_page(line: str) -> PageItem:
    data = json.loads(line)
    # A file spilled by an earlier version may hold fields PageItem has no more.
    data = {k: v for k, v in data.items() if k in PageItem.__slots__}
    data["fetched_at"] = datetime.fromisoformat(data["fetched_at"])
    data["edges"] = [Edge(**e) for e in data["edges"]]
    return PageItem(**data)


@dataclass
class Batch:
    pages: list[PageItem]
    #: The file the batch came from, None for a batch held in memory.
    path: Path | None = None


class SpillBuffer:
    """Thread-safe FIFO of page batches, bounded in memory, spilling to disk."""

    def __init__(self, directory: Path, *, memory_pages: int) -> None:
        self.directory = directory
        self.memory_pages = memory_pages
        self.memory: deque[list[PageItem]] = deque()
        self.in_memory = 0
        self.on_disk = 0
        self.spilled_pages = 0
        self.token = f"{os.getpid()}x{uuid.uuid4().hex[:8]}"
        self._lock = threading.Condition()
        self._serial = 0
        self._owner: Any = None
        self._taken: set[Path] = set()
        self._woken = False

    # -- files ---------------------------------------------------------------

    def _open(self) -> None:
        """Create the directory and take this buffer's owner lock."""
        if self._owner is not None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        self._owner = open(self.directory / f".owner-{self.token}.lock", "w")  # noqa: SIM115
        fcntl.flock(self._owner.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def close(self) -> None:
        """Give up ownership: another buffer may adopt what is left."""
        if self._owner is not None:
            lock = Path(self._owner.name)
            self._owner.close()
            self._owner = None
            lock.unlink(missing_ok=True)

    def _new_path(self) -> Path:
        self._serial += 1
        name = f"batch-{time.time_ns():020d}-{self.token}-{self._serial:06d}{_SUFFIX}"
        return self.directory / name

    def _write(self, pages: list[PageItem]) -> Path:
        self._open()
        path = self._new_path()
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "w", encoding="utf-8") as out:
            for page in pages:
                try:
                    line = dump_page(page)
                except (TypeError, ValueError) as exc:
                    # Not a page the writer could store either: keep it aside.
                    kept = self.reject(Batch([page]), f"cannot be spilled: {exc}")
                    logger.error("Page %s cannot be spilled (%s); kept in %s", page.url, exc, kept)
                    continue
                out.write(line)
                out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        return path

    def _owner_gone(self, token: str) -> bool:
        try:
            with open(self.directory / f".owner-{token}.lock", "a") as lock:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        (self.directory / f".owner-{token}.lock").unlink(missing_ok=True)
        return True

    def _claim(self) -> Path | None:
        """The oldest file of ours not being written, else one adopted from
        an owner that is gone."""
        if not self.directory.is_dir():
            return None
        self._open()
        adoptable: list[Path] = []
        for path in sorted(self.directory.glob("batch-*" + _SUFFIX)):
            token = path.name.split("-")[2]
            if token == self.token:
                if path not in self._taken:
                    return path
            else:
                adoptable.append(path)
        gone: dict[str, bool] = {}
        for path in adoptable:
            token = path.name.split("-")[2]
            if token not in gone:
                gone[token] = self._owner_gone(token)
            if not gone[token]:
                continue
            target = path.with_name(path.name.replace(f"-{token}-", f"-{self.token}-", 1))
            try:
                os.rename(path, target)
            except OSError:
                continue  # another process adopted it first
            return target
        return None

    def pending_files(self) -> int:
        if not self.directory.is_dir():
            return 0
        return sum(1 for p in self.directory.iterdir() if p.name.startswith("batch-"))

    def own_pages(self) -> int:
        """Pages in this buffer's own files (one line each)."""
        if not self.directory.is_dir():
            return 0
        pages = 0
        for path in self.directory.glob(f"batch-*-{self.token}-*{_SUFFIX}"):
            with open(path, "rb") as lines:
                pages += sum(1 for line in lines if line.strip())
        return pages

    # -- queue ---------------------------------------------------------------

    def put(self, pages: list[PageItem]) -> bool:
        """Queue a batch; True when it went to disk."""
        with self._lock:
            spilled = self.in_memory + len(pages) > self.memory_pages and self.in_memory > 0
            if spilled:
                self._write(pages)
                self.on_disk += 1
                self.spilled_pages += len(pages)
            else:
                self.memory.append(pages)
                self.in_memory += len(pages)
            self._lock.notify()
            return spilled

    def wake(self) -> None:
        """Have a :meth:`get` waiting now (or the next one, when none
        waits) answer None at once when no batch is there."""
        with self._lock:
            self._woken = True
            self._lock.notify_all()

    def get(self, timeout: float) -> Batch | None:
        """The next batch, or None when none came within ``timeout`` (or
        :meth:`wake` was called)."""
        with self._lock:
            deadline = time.monotonic() + timeout
            while True:
                if self.memory:
                    pages = self.memory.popleft()
                    self.in_memory -= len(pages)
                    return Batch(pages)
                path = self._claim()
                if path is not None:
                    self._taken.add(path)
                    self.on_disk = max(0, self.on_disk - 1)
                    try:
                        with open(path, encoding="utf-8") as lines:
                            pages = [load_page(line) for line in lines if line.strip()]
                    except (OSError, ValueError, TypeError) as exc:
                        logger.error("Unreadable spill file %s (%s); moved aside", path, exc)
                        os.replace(path, path.with_name(f"bad-{path.name}"))
                        self._taken.discard(path)
                        continue
                    return Batch(pages, path)
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._woken:
                    self._woken = False
                    return None
                self._lock.wait(remaining)

    def done(self, batch: Batch) -> None:
        """The batch is stored: forget it."""
        if batch.path is not None:
            batch.path.unlink(missing_ok=True)
            with self._lock:
                self._taken.discard(batch.path)

    def release(self, batch: Batch) -> Path:
        """The batch could not be stored now: keep it on disk for later, in
        the file returned."""
        with self._lock:
            if batch.path is None:
                path = self._write(batch.pages)
            else:
                path = batch.path
                self._taken.discard(path)
            self.on_disk += 1
            return path

    def reject(self, batch: Batch, reason: str) -> Path:
        """MongoDB refused the batch for good: keep it aside, never lost."""
        self._open()
        path = self.directory / f"rejected-{time.time_ns():020d}-{os.getpid()}{_SUFFIX}"
        with open(path, "w", encoding="utf-8") as out:
            out.write(json.dumps({"reason": reason}) + "\n")
            for page in batch.pages:
                out.write(dump_page(page, lenient=True) + "\n")
        if batch.path is not None:
            batch.path.unlink(missing_ok=True)
            with self._lock:
                self._taken.discard(batch.path)
        return path

    def spill_all(self) -> int:
        """Move every batch held in memory to disk; returns pages moved."""
        moved = 0
        with self._lock:
            while self.memory:
                pages = self.memory.popleft()
                self.in_memory -= len(pages)
                self._write(pages)
                self.on_disk += 1
                moved += len(pages)
        return moved

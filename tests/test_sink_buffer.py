"""The sink's spill buffer: bounded memory, files on disk, recovery."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backlinkbot.items import Edge, PageItem
from backlinkbot.storage.buffer import SpillBuffer, dump_page, load_page

T0 = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)


def pages(n: int, start: int = 0) -> list[PageItem]:
    return [
        PageItem(
            url=f"http://a{i}.com/", status=200, fetched_at=T0, host=f"a{i}.com",
            domain=f"a{i}.com", ip="192.0.2.1", content_type="text/html",
            edges=[Edge(src=f"http://a{i}.com/", dst="http://b.com/é", src_host=f"a{i}.com",
                        dst_host="b.com", src_domain=f"a{i}.com", dst_domain="b.com",
                        anchor="ünïcode \u2028", nofollow=True)],
        )
        for i in range(start, start + n)
    ]  # fmt: skip


Make = Callable[[int], SpillBuffer]


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Make]:
    """Buffers on ``tmp_path``, closed after the test."""
    made: list[SpillBuffer] = []

    def build(memory_pages: int) -> SpillBuffer:
        made.append(SpillBuffer(tmp_path, memory_pages=memory_pages))
        return made[-1]

    yield build
    for buffer in made:
        buffer.close()


def urls(batch: list[PageItem]) -> list[str]:
    return [p.url for p in batch]


@pytest.mark.parametrize(
    "page",
    [
        pages(1)[0],
        PageItem(url="http://x.org/", status=None, fetched_at=T0, error="DNSLookupError"),
        PageItem(url="http://x.org/", status=301, fetched_at=T0, redirect_to="http://y.org/"),
    ],
)
def test_page_round_trip(page: PageItem) -> None:
    assert load_page(dump_page(page)) == page


def test_pages_spilled_with_fields_since_removed_still_load() -> None:
    page = pages(1)[0]
    old = json.loads(dump_page(page)) | {"depth": 3, "links_found": 1, "base_url": page.url}
    assert load_page(json.dumps(old)) == page


def test_memory_is_bounded_and_order_is_kept(tmp_path: Path, make: Make) -> None:
    buffer = make(4)
    spilled = [buffer.put(pages(2, start=2 * k)) for k in range(5)]
    assert spilled == [False, False, True, True, True]
    assert buffer.in_memory == 4 and buffer.pending_files() == 3
    got = []
    while (batch := buffer.get(timeout=0)) is not None:
        got.extend(urls(batch.pages))
        buffer.done(batch)
    assert got == urls(pages(10))
    assert buffer.pending_files() == 0


def test_wake_ends_a_wait_once(tmp_path: Path, make: Make) -> None:
    buffer = make(4)
    threading.Timer(0.1, buffer.wake).start()
    started = time.monotonic()
    assert buffer.get(timeout=10) is None  # woken, not timed out
    assert time.monotonic() - started < 5
    # Woken while no get waits: batches still come out first, then the
    # next empty get answers at once, and only that one.
    buffer.wake()
    buffer.put(pages(1))
    assert buffer.get(timeout=10) is not None
    started = time.monotonic()
    assert buffer.get(timeout=10) is None
    assert time.monotonic() - started < 5
    started = time.monotonic()
    assert buffer.get(timeout=0.2) is None
    assert time.monotonic() - started >= 0.2


def test_files_of_a_running_owner_are_left_alone(tmp_path: Path, make: Make) -> None:
    owner = make(1)
    owner.put(pages(1))
    owner.put(pages(1, start=1))  # to disk
    other = make(10)
    assert other.get(timeout=0) is None  # its owner runs: its pages, its leases
    owner.close()  # the owner is gone: its files are adopted
    adopted = other.get(timeout=0)
    assert adopted is not None and urls(adopted.pages) == ["http://a1.com/"]
    assert other.token in adopted.path.name  # type: ignore[union-attr]
    other.done(adopted)
    assert other.get(timeout=0) is None and other.pending_files() == 0


def test_a_batch_taken_but_not_done_survives_the_process(tmp_path: Path, make: Make) -> None:
    first = make(1)
    first.put(pages(1))
    first.put(pages(1, start=1))  # to disk
    first.get(timeout=0)  # the memory one
    on_disk = first.get(timeout=0)
    assert on_disk is not None and on_disk.path is not None
    assert first.get(timeout=0) is None  # taken, not handed out twice
    first.close()  # the process ends before the batch is stored
    later = make(10)
    again = later.get(timeout=0)
    assert again is not None and urls(again.pages) == ["http://a1.com/"]
    later.done(again)
    assert later.get(timeout=0) is None


def test_release_and_spill_all_keep_everything(tmp_path: Path, make: Make) -> None:
    buffer = make(10)
    buffer.put(pages(2))
    buffer.put(pages(2, start=2))
    batch = buffer.get(timeout=0)
    assert batch is not None
    buffer.release(batch)  # could not be stored: to disk
    assert buffer.spill_all() == 2
    assert buffer.in_memory == 0 and buffer.pending_files() == 2
    buffer.close()
    restarted = make(10)
    got = set()
    while (b := restarted.get(timeout=0)) is not None:
        got |= set(urls(b.pages))
        restarted.done(b)
    assert got == set(urls(pages(4)))


def test_rejected_batch_is_kept_aside(tmp_path: Path, make: Make) -> None:
    buffer = make(10)
    buffer.put(pages(3))
    batch = buffer.get(timeout=0)
    assert batch is not None
    path = buffer.reject(batch, "document too large")
    lines = path.read_text(encoding="utf-8").rstrip("\n").split("\n")
    assert "document too large" in lines[0] and len(lines) == 4
    assert buffer.get(timeout=0) is None  # not replayed as a batch


def test_unreadable_file_is_moved_aside(tmp_path: Path, make: Make) -> None:
    (tmp_path / "batch-00000000000000000001-1-000001.jsonl").write_text("{not json\n")
    buffer = make(10)
    assert buffer.get(timeout=0) is None
    assert [p.name.startswith("bad-") for p in tmp_path.glob("*batch-*")] == [True]


def test_a_page_that_cannot_be_spilled_is_kept_aside(tmp_path: Path, make: Make) -> None:
    buffer = make(1)
    buffer.put(pages(1))
    bad, good = pages(2, start=1)
    bad.edges[0].anchor = {"not json"}  # type: ignore[assignment]
    assert buffer.put([bad, good])  # to disk, without the bad page
    buffer.get(timeout=0)
    spilled = buffer.get(timeout=0)
    assert spilled is not None and urls(spilled.pages) == ["http://a2.com/"]
    (kept,) = tmp_path.glob("rejected-*.jsonl")
    assert "http://a1.com/" in kept.read_text(encoding="utf-8")

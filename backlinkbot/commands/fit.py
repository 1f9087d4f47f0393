"""Tables that fit the terminal: one line per row, long text shortened.

Each column is fixed (dates, flags: shown whole) or shrinkable (URLs,
anchors). When the whole values do not fit in ``width``, the shrinkable
columns share what is left, each getting no more than it needs, and their
cells are shortened: URLs in the middle, two thirds kept from the start
(``www.example.c…ricing``: the host and the end of the path stay
readable), other text at the end.
Optional columns that are empty in every row are left out, and when even
that leaves too little room, the columns that say the least (``drop``:
1 goes first, then 2...). Full values are what JSON and CSV are for.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["Column", "fit_table", "shorten"]

ELLIPSIS = "…"
#: No shrinkable column is made narrower than this.
MIN_WIDTH = 12


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    #: "" (shown whole), "middle" or "end": where a long value is cut.
    shorten: str = ""
    justify: str = "left"
    #: Left out when empty in every row.
    optional: bool = False
    #: Left out (1 first, then 2...) when the shrinkable columns lack room.
    drop: int = 0


def shorten(text: str, width: int, where: str = "end") -> str:
    """``text`` in at most ``width`` cells, cut in the middle or at the end."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    if where == "middle":
        # Two thirds for the start: a URL's host says most about it.
        head = -(-2 * (width - 1) // 3)
        tail = width - 1 - head
        return _take(text, head) + ELLIPSIS + _take_end(text, tail)
    return _take(text, width - 1) + ELLIPSIS


def _take(text: str, width: int) -> str:
    out, used = [], 0
    for char in text:
        used += cell_len(char)
        if used > width:
            break
        out.append(char)
    return "".join(out)


def _take_end(text: str, width: int) -> str:
    return _take(text[::-1], width)[::-1] if width > 0 else ""


def _widths(natural: list[int], shrinkable: list[bool], room: int) -> list[int]:
    """Water-filling: the shrinkable columns share ``room``, the narrowest
    first, none given more than its natural width."""
    widths = list(natural)
    flexible = sorted((i for i, s in enumerate(shrinkable) if s), key=lambda i: natural[i])
    left, count = room, len(flexible)
    for i in flexible:
        share = max(MIN_WIDTH, left // count) if count else 0
        widths[i] = min(natural[i], share)
        left -= widths[i]
        count -= 1
    return widths


def _table(title: str, caption: str | None) -> Table:
    return Table(title=title, caption=caption, box=box.SIMPLE_HEAD, show_edge=False)


@functools.cache
def _overhead(columns: int) -> int:
    """Cells a table of ``columns`` columns takes besides their content."""
    table = _table("", None)
    for _ in range(columns):
        table.add_column("", no_wrap=True, min_width=1, max_width=1)
    table.add_row(*("x" * columns))
    out = io.StringIO()
    Console(file=out, width=10_000).print(table)
    return max(cell_len(line) for line in out.getvalue().splitlines()) - columns


def fit_table(
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    width: int,
    caption: str | None = None,
) -> Table:
    """A rich Table of ``rows`` (strings, one per column) no wider than
    ``width`` when that is possible at all."""
    keep = [
        i for i, column in enumerate(columns)
        if not (column.optional and not any(row[i] for row in rows))
    ]  # fmt: skip
    natural = {
        i: max([cell_len(columns[i].name), *(cell_len(row[i]) for row in rows)]) for i in keep
    }

    def room(kept: list[int]) -> int:
        fixed = sum(natural[i] for i in kept if not columns[i].shorten)
        return width - _overhead(len(kept)) - fixed

    def needed(kept: list[int]) -> int:
        return sum(min(natural[i], MIN_WIDTH) for i in kept if columns[i].shorten)

    for i in sorted((i for i in keep if columns[i].drop), key=lambda i: columns[i].drop):
        if room(keep) >= needed(keep):
            break
        keep.remove(i)
    shown = [columns[i] for i in keep]
    cells = [[row[i] for i in keep] for row in rows]
    widths = _widths(
        [natural[i] for i in keep], [bool(columns[i].shorten) for i in keep], room(keep)
    )
    table = _table(title, caption)
    for column, size in zip(shown, widths, strict=True):
        table.add_column(column.name, justify=column.justify, no_wrap=True,  # type: ignore[arg-type]
                         min_width=size, max_width=size)  # fmt: skip
    for row in cells:
        # Text from the web is never read as console markup.
        table.add_row(*(
            Text(shorten(cell, size, column.shorten or "end"))
            for cell, size, column in zip(row, widths, shown, strict=True)
        ))  # fmt: skip
    return table

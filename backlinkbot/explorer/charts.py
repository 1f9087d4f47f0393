"""Server-drawn charts: the geometry of an SVG line or bar chart.

The report draws its charts as inline SVG from this geometry (templates
``charts.html``), so a page needs no script: one point (a ``circle`` with a
``title``) per day of the history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BarChart", "LineChart", "bar_chart", "line_chart", "nice_top"]

WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28
#: Date labels on the x axis.
X_LABELS = 6


def nice_top(value: float) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is >= ``value``.

    >>> nice_top(0), nice_top(7), nice_top(13), nice_top(480)
    (1, 10, 20, 500)
    """
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power)
    return int(10 * power)  # pragma: no cover


@dataclass
class Axis:
    ticks: list[tuple[float, str]] = field(default_factory=list)  # (y or x, label)


@dataclass
class LineChart:
    title: str
    series: str
    points: list[tuple[float, float, str]]  # x, y, tooltip
    polyline: str
    y_axis: Axis
    x_axis: Axis
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom: float = HEIGHT - BOTTOM


@dataclass
class BarChart:
    title: str
    bars: list[tuple[float, float, float, float, str, str]]  # x, y, w, h, class, tooltip
    zero: float
    y_axis: Axis
    x_axis: Axis
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT


def _x(index: int, count: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return LEFT + (span * index / (count - 1) if count > 1 else span / 2)


def _x_axis(days: list[str]) -> Axis:
    if not days:
        return Axis()
    step = max(1, math.ceil(len(days) / X_LABELS))
    return Axis([(_x(i, len(days)), days[i]) for i in range(0, len(days), step)])


def line_chart(title: str, rows: list[dict[str, Any]], key: str) -> LineChart:
    """One point per row (a day of the history) of ``row[key]``."""
    top = nice_top(max((r[key] for r in rows), default=0))
    plot = HEIGHT - TOP - BOTTOM
    points = [
        (round(_x(i, len(rows)), 1), round(TOP + plot * (1 - r[key] / top), 1),
         f"{r['day']}: {r[key]}")
        for i, r in enumerate(rows)
    ]  # fmt: skip
    y_axis = Axis([(round(TOP + plot * (1 - f), 1), f"{round(top * f):,}") for f in (0, 0.5, 1)])
    return LineChart(
        title=title, series=key, points=points,
        polyline=" ".join(f"{x},{y}" for x, y, _ in points),
        y_axis=y_axis, x_axis=_x_axis([r["day"] for r in rows]),
    )  # fmt: skip


def bar_chart(title: str, rows: list[dict[str, Any]]) -> BarChart:
    """New links up and lost links down, one pair of bars per day."""
    top = nice_top(max((max(r["new"], r["lost"]) for r in rows), default=0))
    plot = HEIGHT - TOP - BOTTOM
    zero = TOP + plot / 2
    half = plot / 2
    width = max(1.0, (WIDTH - LEFT - RIGHT) / max(len(rows), 1) * 0.8)
    bars = []
    for i, r in enumerate(rows):
        x = round(_x(i, len(rows)) - width / 2, 1)
        up, down = half * r["new"] / top, half * r["lost"] / top
        bars.append((x, round(zero - up, 1), round(width, 1), round(up, 1), "new",
                     f"{r['day']}: {r['new']} new"))  # fmt: skip
        bars.append((x, round(zero, 1), round(width, 1), round(down, 1), "lost",
                     f"{r['day']}: {r['lost']} lost"))  # fmt: skip
    y_axis = Axis([(TOP, f"+{top:,}"), (zero, "0"), (TOP + plot, f"-{top:,}")])
    return BarChart(title=title, bars=bars, zero=round(zero, 1), y_axis=y_axis,
                    x_axis=_x_axis([r["day"] for r in rows]))  # fmt: skip

"""Geometry for the server-rendered SVG charts (pure: numbers in, coordinates out; templates draw)."""
from __future__ import annotations

import math
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 40  # room for the axis labels
MAX_X_LABELS = 12
LABEL_CHAR_WIDTH = 8  # about 0.6 em at the stylesheet's 13px chart labels, in viewBox units


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int
    show_label: bool


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class Chart:
    """Everything a template needs to draw a chart inside a WIDTH × HEIGHT viewBox."""

    width: int
    height: int
    bars: tuple[Bar, ...] = ()
    points: tuple[tuple[float, float, str, int], ...] = ()
    ticks: tuple[Tick, ...] = ()
    line_y: float | None = None  # e.g. the cut-off on a trend chart
    marker_x: float | None = None  # e.g. the cut-off on a histogram of totals

    @property
    def plot_left(self) -> int:
        return LEFT

    @property
    def plot_right(self) -> int:
        return self.width - RIGHT

    @property
    def baseline(self) -> int:
        return self.height - BOTTOM

    @property
    def polyline(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _label, _value in self.points)


def nice_ceiling(value: float) -> int:
    """The smallest of 1, 2, 5 × 10ⁿ at or above value (so axis ticks are round numbers)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power)
    return int(10 * power)  # pragma: no cover - the loop always returns


def _ticks(top: int, scale) -> tuple[Tick, ...]:
    return tuple(Tick(scale(top * i / 4), round(top * i / 4)) for i in range(5) if top * i / 4 == int(top * i / 4))


def bar_chart(data: list[tuple[str, int]], marker: float | None = None) -> Chart:
    """Vertical bars for (label, count) pairs, y from 0 to a round maximum, at most ~12 x labels; a
    vertical marker line at `marker` bar widths from the left (e.g. 6.6: three fifths into the 7th bar)."""
    plot_height = HEIGHT - TOP - BOTTOM
    top = nice_ceiling(max((value for _label, value in data), default=0))
    scale = lambda value: HEIGHT - BOTTOM - plot_height * value / top  # noqa: E731
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(data))
    # Label every n-th bar so that labels never overlap, however long (dates) or many (weeks) they are.
    widest = LABEL_CHAR_WIDTH * (max((len(label) for label, _value in data), default=1) + 1)
    every = max(1, math.ceil(len(data) / MAX_X_LABELS), math.ceil(widest / slot))
    bars = tuple(
        Bar(x=LEFT + i * slot + slot * 0.1, y=scale(value), width=slot * 0.8, height=plot_height * value / top,
            label=label, value=value, show_label=i % every == 0)
        for i, (label, value) in enumerate(data)
    )
    return Chart(WIDTH, HEIGHT, bars=bars, ticks=_ticks(top, scale),
                 marker_x=LEFT + marker * slot if marker is not None else None)


def trend_chart(data: list[tuple[str, int]], max_value: int, line_at: int | None = None) -> Chart:
    """A line through (label, value) points in time order over a fixed 0–max_value scale; one point sits centred."""
    plot_height = HEIGHT - TOP - BOTTOM
    scale = lambda value: HEIGHT - BOTTOM - plot_height * value / max_value  # noqa: E731
    plot_width = WIDTH - LEFT - RIGHT
    if len(data) == 1:
        xs = [LEFT + plot_width / 2]
    else:
        xs = [LEFT + plot_width * i / (len(data) - 1) for i in range(len(data))]
    points = tuple((x, scale(value), label, value) for x, (label, value) in zip(xs, data, strict=True))
    ticks = tuple(Tick(scale(v), v) for v in sorted({0, max_value // 2, max_value}))
    return Chart(WIDTH, HEIGHT, points=points, ticks=ticks,
                 line_y=scale(line_at) if line_at is not None else None)

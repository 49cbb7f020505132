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
    labelled: tuple[bool, ...] = ()  # which trend points get their label under the axis

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


def trend_chart(data: list[tuple[float, str, int]], max_value: int, line_at: int | None = None) -> Chart:
    """A line through (time, label, value) points over a fixed 0–max_value scale, each placed along the
    x axis by its time (seconds, any origin), so a gap of 60 days is drawn twice as wide as one of 30;
    one point, or points all at one moment, sit centred."""
    plot_height = HEIGHT - TOP - BOTTOM
    scale = lambda value: HEIGHT - BOTTOM - plot_height * value / max_value  # noqa: E731
    plot_width = WIDTH - LEFT - RIGHT
    times = [when for when, _label, _value in data]
    span = max(times) - min(times) if times else 0
    if span <= 0:
        xs = [LEFT + plot_width / 2 for _ in data]
    else:
        xs = [LEFT + plot_width * (when - times[0]) / span for when in times]
    points = tuple((x, scale(value), label, value) for x, (_when, label, value) in zip(xs, data, strict=True))
    ticks = tuple(Tick(scale(v), v) for v in sorted({0, max_value // 2, max_value}))
    return Chart(WIDTH, HEIGHT, points=points, ticks=ticks,
                 line_y=scale(line_at) if line_at is not None else None, labelled=_labelled(points))


def _labelled(points: tuple[tuple[float, float, str, int], ...]) -> tuple[bool, ...]:
    """Which points get a date under the axis: the last, the first unless it would touch the last, and
    those in between whose label fits clear of its labelled neighbours (points close in time would print
    over each other). The first label hangs right of its point, the last left, the others centred."""
    if not points:
        return ()
    gap = 8
    widths = [LABEL_CHAR_WIDTH * (len(label) + 1) for _x, _y, label, _value in points]
    shown = [False] * len(points)
    shown[-1] = True
    if len(points) == 1:
        return tuple(shown)
    last_left = points[-1][0] - widths[-1]
    first_right = points[0][0] + widths[0]
    shown[0] = first_right + gap <= last_left
    right = first_right if shown[0] else -math.inf
    for index in range(1, len(points) - 1):
        x, half = points[index][0], widths[index] / 2
        if x - half >= right + gap and x + half + gap <= last_left:
            shown[index] = True
            right = x + half
    return tuple(shown)

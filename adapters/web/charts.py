"""Geometry for the server-drawn SVG charts: numbers in, coordinates out; templates draw them.

No JavaScript and no inline `style=` (the CSP forbids both): the templates use SVG attributes
and classes from style.css. Every chart here is a pure function of its data, so it is cheap to
test and looks the same in every browser.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import attrs

from postsales.core.machines import Lifecycle


def nice_max(value: float) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return int(step * power)
    return int(10 * power)  # pragma: no cover - the loop always returns


# -- horizontal bars: one category a row -----------------------------------------------------


@attrs.frozen
class HBar:
    label: str
    value: int
    y: float
    width: float
    text_x: float
    key: str


@attrs.frozen
class HBarChart:
    bars: list[HBar]
    width: int
    height: int
    label_width: int
    bar_height: int
    row_height: int
    total: int


def hbar_chart(
    data: Sequence[tuple[str, int]], *, label_width: int = 180, plot_width: int = 420
) -> HBarChart:
    """Rows of labelled bars scaled to the largest value (0 draws no bar, only the number)."""
    row, bar = 28, 18
    top = nice_max(max((v for _, v in data), default=0))
    bars = []
    for i, (label, value) in enumerate(data):
        width = plot_width * value / top
        key = label.lower().replace("_", "-").replace(" ", "-")
        bars.append(HBar(label, value, i * row + 5, round(width, 1), label_width + width + 6, key))
    return HBarChart(
        bars=bars,
        width=label_width + plot_width + 70,
        height=max(1, len(data)) * row + 6,
        label_width=label_width,
        bar_height=bar,
        row_height=row,
        total=sum(v for _, v in data),
    )


# -- vertical stacked bars: one day a column --------------------------------------------------


@attrs.frozen
class Segment:
    series: int  # index into the chart's series, for the colour class
    name: str
    value: int
    y: float
    height: float


@attrs.frozen
class Column:
    day: date
    x: float
    total: int
    segments: list[Segment]
    label: str | None  # the date shown under this column, or None to keep the axis readable


@attrs.frozen
class Tick:
    value: int
    y: float


@attrs.frozen
class ColumnChart:
    columns: list[Column]
    ticks: list[Tick]
    series: tuple[str, ...]
    width: int
    height: int
    left: int
    top: int
    bottom: float  # y of the baseline
    bar_width: float


def column_chart(
    days: Sequence[tuple[date, dict[str, int]]],
    series: Sequence[str],
    *,
    plot_width: int = 1180,
    plot_height: int = 200,
) -> ColumnChart:
    """Stacked columns, one a day, the series stacked in the order given."""
    left, top, below = 44, 10, 26
    top_value = nice_max(max((sum(counts.values()) for _, counts in days), default=0))
    slot = plot_width / max(1, len(days))
    bar_width = max(2.0, round(slot * 0.72, 1))
    baseline = top + plot_height
    every = max(1, math.ceil(len(days) / 12))
    columns = []
    for i, (day, counts) in enumerate(days):
        y = float(baseline)
        segments = []
        for s, name in enumerate(series):
            value = counts.get(name, 0)
            if not value:
                continue
            height = plot_height * value / top_value
            y -= height
            segments.append(Segment(s, name, value, round(y, 1), round(height, 1)))
        # Label the newest day and every `every`-th before it, so today is always named.
        label = day.strftime("%b %d") if (len(days) - 1 - i) % every == 0 else None
        x = left + i * slot + (slot - bar_width) / 2
        columns.append(Column(day, round(x, 1), sum(counts.values()), segments, label))
    ticks = [
        Tick(top_value * n // 4, round(baseline - plot_height * n / 4, 1))
        for n in range(5)
        if top_value * n % 4 == 0  # whole numbers only: a count of 2.5 refunds means nothing
    ]
    return ColumnChart(
        columns=columns,
        ticks=ticks,
        series=tuple(series),
        width=left + plot_width + 8,
        height=baseline + below,
        left=left,
        top=top,
        bottom=baseline,
        bar_width=bar_width,
    )


# -- state machines: a transition chart ------------------------------------------------------


@attrs.frozen
class StateBox:
    name: str
    x: float  # centre of the column
    initial: bool
    final: bool


@attrs.frozen
class Lane:
    """One declared transition, drawn on its own row: dots on the sources, an arrow to dest."""

    trigger: str
    guard: str | None
    y: float
    dest_x: float
    sources: list[float]  # x of each source column (not the destination's)
    self_loop: bool  # the destination is also a source (e.g. partial shipments)
    line_from: float
    line_to: float
    arrow_left: bool  # the arrow reaches the destination from the right (a step back)
    arrow_right: bool  # the arrow reaches the destination from the left (a step forward)


@attrs.frozen
class TransitionChart:
    states: list[StateBox]
    lanes: list[Lane]
    width: int
    height: int
    label_width: int
    column: int
    box_top: int
    box_height: int
    lanes_top: int


def transition_chart(lifecycle: Lifecycle, *, column: int = 136) -> TransitionChart:
    """States as boxes in one row (declaration order); below, one lane per transition.

    A lane joins its source states (dots) to its destination (an arrowhead on the box's
    column); it reads "from any dotted state, `trigger` leads to the arrowed state".
    """
    label_width, box_top, box_height, lane_height = 200, 8, 34, 30
    lanes_top = box_top + box_height + 22
    xs = {s: label_width + column * i + column / 2 for i, s in enumerate(lifecycle.states)}
    states = [
        StateBox(s, xs[s], s in lifecycle.initial, s in lifecycle.final) for s in lifecycle.states
    ]
    lanes = []
    for i, spec in enumerate(lifecycle.transitions):
        dest = xs[spec.dest]
        sources = [xs[s] for s in spec.sources if s != spec.dest]
        every = [*sources, dest]
        lanes.append(
            Lane(
                trigger=spec.trigger,
                guard=spec.guard,
                y=lanes_top + i * lane_height + lane_height / 2,
                dest_x=dest,
                sources=sources,
                self_loop=spec.dest in spec.sources,
                line_from=min(every),
                line_to=max(every),
                arrow_left=any(x > dest for x in sources),
                arrow_right=any(x < dest for x in sources),
            )
        )
    return TransitionChart(
        states=states,
        lanes=lanes,
        width=label_width + column * len(lifecycle.states) + 10,
        height=lanes_top + lane_height * len(lanes) + 10,
        label_width=label_width,
        column=column,
        box_top=box_top,
        box_height=box_height,
        lanes_top=lanes_top,
    )


def transition_rows(lifecycle: Lifecycle) -> list[tuple[str, str, str, str | None]]:
    """`(source, trigger, dest, guard)` for every declared edge: the diagram as a table."""
    return [
        (source, spec.trigger, spec.dest, spec.guard)
        for spec in lifecycle.transitions
        for source in spec.sources
    ]

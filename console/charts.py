"""Charts as server-side SVG: this module computes the geometry (where each point, bar, tick and
failure marker goes, with the words that go with it); templates/console/_chart.html and
_bars.html draw it. No JavaScript, nothing from the internet, no style attributes (the CSP forbids
them: colours come from classes in sluice.css).

Readable without colour: each series has its own marker shape and line dash, failed runs are a
cross with the word "failed" in the legend and in each marker's title, and every bar carries its
number as text. Pure Python over plain values (flows/run_stats.py asks the database).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from console.templatetags.sluice import duration

WIDTH = 720
HEIGHT = 220
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 34, 48  # room for the y labels, the legend, the x labels
BAR_ROW = 32
BAR_LABEL = 250  # width of the label column of a bar chart


@dataclass(frozen=True)
class Series:
    key: str  # the attribute of each slot that holds the value
    name: str  # "Records processed"
    marker: str  # "circle", "square" or "diamond": the shape tells the series apart
    css: str  # class of its line and markers in sluice.css


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str
    d: str = ""  # the SVG path of its marker


def marker(shape: str, x: float, y: float) -> str:
    """The SVG path of a marker centred on (x, y): the shape alone tells the series apart."""
    if shape == "square":
        return f"M{x - 3.5:.1f},{y - 3.5:.1f}h7v7h-7z"
    if shape == "diamond":
        return f"M{x:.1f},{y - 5:.1f}l5,5l-5,5l-5,-5z"
    if shape == "cross":  # a failed run
        return f"M{x - 5:.1f},{y - 5:.1f}l10,10m0,-10l-10,10"
    return f"M{x - 4:.1f},{y:.1f}a4,4 0 1,0 8,0a4,4 0 1,0 -8,0z"  # circle


@dataclass(frozen=True)
class LegendEntry:
    d: str
    css: str
    text: str
    x: float


@dataclass
class Line:
    series: Series
    segments: list[str]  # "x,y x,y ..." for each stretch without a gap
    points: list[Point]


@dataclass(frozen=True)
class Tick:
    at: float  # x or y in the SVG
    label: str


@dataclass
class LineChart:
    title: str
    description: str
    empty: str  # the sentence shown instead of a chart with no data ("" when there are data)
    lines: list[Line] = field(default_factory=list)
    failures: list[Point] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    legend: list[LegendEntry] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k not below `value`, so axis labels are round numbers."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power + 1e-9 * power:
            return step * power
    return 10 * power  # unreachable: 10 x power >= value


def count_text(value: float) -> str:
    """12345 -> "12,345"; 1_500_000 -> "1.5M": axis labels stay short."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:.3g}M"
    if value >= 10_000:
        return f"{value / 1000:.3g}k"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def seconds_text(value: float | None) -> str:
    """A duration as the history tables say it: "0.42 s", "3 min 5 s", "2 h 4 min"."""
    if value is None:
        return "not finished"
    if 0 < value < 60 and float(value).is_integer() or value == 0:
        return f"{value:.0f} s"  # an axis tick: "5 s", not "5.00 s"
    return duration(timedelta(seconds=value))


def line_chart(title: str, slots: Sequence, series: Sequence[Series], *, empty: str,
               value_text: Callable[[float], str] = count_text, description: str = "") -> LineChart:
    """A line per series over `slots` (objects with `label`, `runs`, `failures`, `note` and the
    series' keys), evenly spaced oldest to newest, with a cross under each slot that had a failed
    run. A slot whose value is None breaks the line (a run still going has no duration yet)."""
    chart = LineChart(title=title, description=description, empty="")
    if not any(slot.runs for slot in slots):
        chart.empty = empty
        return chart
    values = [getattr(slot, s.key) for slot in slots for s in series]
    top = nice_ceiling(max((v for v in values if v is not None), default=0))
    span_x, span_y = chart.right - chart.left, chart.bottom - chart.top

    def x_of(index: int) -> float:
        if len(slots) == 1:
            return round(chart.left + span_x / 2, 1)
        return round(chart.left + span_x * index / (len(slots) - 1), 1)

    def y_of(value: float) -> float:
        return round(chart.bottom - span_y * value / top, 1)

    for s in series:
        segments, current, points = [], [], []
        for index, slot in enumerate(slots):
            value = getattr(slot, s.key)
            if value is None:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            x, y = x_of(index), y_of(value)
            current.append(f"{x},{y}")
            if not slot.runs:
                continue  # an hour or day without runs: the line passes through 0, no marker
            title = (f"{slot.label}: {s.name.lower()} {value_text(value)}{_runs_text(slot)}"
                     f"{' — ' + slot.note if slot.note else ''}")
            points.append(Point(x, y, title, marker(s.marker, x, y)))
        if current:
            segments.append(" ".join(current))
        chart.lines.append(Line(s, segments, points))
    for index, slot in enumerate(slots):
        if slot.failures:
            what = slot.note if slot.runs == 1 and slot.note else f"{slot.failures} of {_runs(slot.runs)}"
            x = x_of(index)
            chart.failures.append(Point(x, chart.bottom, f"{slot.label}: failed — {what}",
                                        marker("cross", x, chart.bottom)))
    chart.y_ticks = [Tick(y_of(top * i / 4), value_text(top * i / 4)) for i in range(5)]
    picks = sorted({0, len(slots) // 2, len(slots) - 1})
    chart.x_ticks = [Tick(x_of(i), slots[i].label) for i in picks]
    chart.legend = _legend(chart.left, series, failed=bool(chart.failures))
    return chart


def _legend(x: float, series: Sequence[Series], failed: bool) -> list[LegendEntry]:
    """Shape then words, left to right above the plot; about 8 px a character at the chart's size."""
    entries = [(s.marker, s.css, s.name) for s in series]
    if failed:
        entries.append(("cross", "failure", "failed run"))
    legend = []
    for shape, css, text in entries:
        legend.append(LegendEntry(marker(shape, x + 5, 13), css, text, x + 14))
        x += 14 + 8 * len(text) + 20
    return legend


def _runs(count: int) -> str:
    return f"{count:,} run{'s' if count != 1 else ''}"


def _runs_text(slot) -> str:
    return "" if getattr(slot, "execution_id", "") else f" ({_runs(slot.runs)})"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the number as shown next to the bar ("12.3 s", "1,204 calls")
    href: str = ""
    css: str = "bar"


@dataclass(frozen=True)
class BarRow:
    bar: Bar
    y: float  # top of the row
    width: float  # of the bar
    label: str  # the label, shortened to fit its column


@dataclass
class BarChart:
    title: str
    empty: str
    rows: list[BarRow] = field(default_factory=list)
    width: int = WIDTH
    height: int = 0
    label_width: int = BAR_LABEL
    row_height: int = BAR_ROW


def bar_chart(title: str, bars: Sequence[Bar], *, empty: str) -> BarChart:
    """Horizontal bars, one per row, each with its label on the left and its number on the right:
    the length is a picture of the number, the number is always there to read."""
    chart = BarChart(title=title, empty="" if bars else empty)
    # What the longest bar may take: the rest of the width after the labels and the longest
    # number's text (about 9 px a character), so the text never runs off the picture.
    room = max(100, WIDTH - BAR_LABEL - 16 - 9 * max((len(bar.text) for bar in bars), default=0))
    top = max((bar.value for bar in bars), default=0) or 1
    for index, bar in enumerate(bars):
        width = round(room * bar.value / top, 1)
        label = bar.label if len(bar.label) <= 26 else bar.label[:25] + "…"
        chart.rows.append(BarRow(bar, index * BAR_ROW, max(width, 2.0) if bar.value else 0, label))
    chart.height = len(bars) * BAR_ROW
    return chart

"""The SVG charts (console/charts.py and its templates): where points and failure markers go, the
words that make them readable without colour, and the empty state. Pure: no database."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from django.template.loader import render_to_string

from console.charts import Bar, Series, bar_chart, line_chart, nice_ceiling, seconds_text

PROCESSED = Series("processed", "Records processed", "circle", "series-processed")
WRITTEN = Series("written", "Records written", "square", "series-written")


@dataclass
class Run:
    label: str
    processed: int
    written: int
    seconds: float | None = 1.0
    runs: int = 1
    failures: int = 0
    note: str = "Successful"
    execution_id: str = "e"


def test_nice_ceiling_rounds_the_axis_up_to_a_round_number():
    assert [nice_ceiling(v) for v in (0, 0.3, 1, 7, 12, 240, 251, 999, 1001)] == [
        1, 0.5, 1, 10, 20, 250, 500, 1000, 2000]


def test_points_are_spaced_oldest_to_newest_and_scaled_to_the_axis():
    runs = [Run("a", 0, 0), Run("b", 50, 40), Run("c", 100, 100)]
    chart = line_chart("Records", runs, [PROCESSED, WRITTEN], empty="none")
    processed, written = chart.lines
    assert [(p.x, p.y) for p in processed.points] == [
        (chart.left, chart.bottom), ((chart.left + chart.right) / 2, (chart.top + chart.bottom) / 2),
        (chart.right, chart.top)]
    assert processed.segments == [" ".join(f"{p.x},{p.y}" for p in processed.points)]
    assert written.points[1].title == "b: records written 40 — Successful"
    assert [t.label for t in chart.y_ticks] == ["0", "25", "50", "75", "100"]
    assert [t.label for t in chart.x_ticks] == ["a", "b", "c"]
    # each series has its own marker shape: a circle (arcs) and a square (h/v lines)
    assert "a4,4" in processed.points[0].d and "h7v7" in written.points[0].d
    assert chart.failures == [] and [e.text for e in chart.legend] == ["Records processed", "Records written"]


def test_a_failed_run_is_a_cross_under_it_with_its_reason_and_a_legend_entry():
    runs = [Run("a", 10, 10), Run("b", 0, 0, failures=1, note="Error: Stop the run: Email is empty"),
            Run("c", 10, 10)]
    chart = line_chart("Records", runs, [PROCESSED], empty="none")
    (cross,) = chart.failures
    assert (cross.x, cross.y) == (chart.lines[0].points[1].x, chart.bottom)
    assert cross.title == "b: failed — Error: Stop the run: Email is empty"
    assert chart.legend[-1].text == "failed run"


def test_a_day_of_runs_says_how_many_failed_and_a_day_without_runs_is_zero_without_a_marker():
    days = [Run("d1", 30, 30, runs=3, failures=2, note="", execution_id=""),
            Run("d2", 0, 0, seconds=None, runs=0, note="", execution_id="")]
    chart = line_chart("Records", days, [PROCESSED], empty="none")
    assert chart.failures[0].title == "d1: failed — 2 of 3 runs"
    assert chart.lines[0].points[0].title == "d1: records processed 30 (3 runs)"
    assert len(chart.lines[0].points) == 1 and chart.lines[0].segments[0].count(",") == 2


def test_a_run_without_a_duration_breaks_the_line():
    runs = [Run("a", 1, 1, seconds=2), Run("b", 1, 1, seconds=None), Run("c", 1, 1, seconds=4)]
    chart = line_chart("Duration", runs, [Series("seconds", "Duration", "diamond", "d")], empty="none",
                       value_text=seconds_text)
    assert len(chart.lines[0].segments) == 2 and len(chart.lines[0].points) == 2
    assert chart.lines[0].points[1].title == "c: duration 4 s — Successful"


def test_no_runs_is_a_sentence_not_an_empty_chart():
    chart = line_chart("Records", [Run("a", 0, 0, runs=0)], [PROCESSED], empty="No runs in the last 7 days.")
    html = render_to_string("console/_chart.html", {"chart": chart})
    assert "No runs in the last 7 days." in html and "<svg" not in html


def test_the_svg_is_labelled_has_a_title_per_marker_and_no_style_attribute():
    runs = [Run("a", 5, 5), Run("b", 0, 0, failures=1, note="Error: <bad> & worse")]
    chart = line_chart("Records & more", runs, [PROCESSED, WRITTEN], empty="none", description="1 failed run.")
    html = render_to_string("console/_chart.html", {"chart": chart})
    assert 'role="img"' in html and 'aria-label="Records &amp; more. 1 failed run."' in html
    assert "<title>Records &amp; more</title>" in html
    assert "style=" not in html  # the CSP forbids style attributes
    assert "Error: &lt;bad&gt; &amp; worse" in html  # escaped, as everything a run says
    assert len(re.findall(r'<path class="marker" d="[^"]+"><title>', html)) == 2 + 2 + 1
    assert 'data-failures="1"' in html and ">failed run</text>" in html


def test_bars_carry_their_number_as_text_and_scale_to_the_longest():
    chart = bar_chart("Runs by status", [Bar("Successful", 40, "40"), Bar("Error", 10, "10", href="/x/")],
                      empty="No runs.")
    ok, error = chart.rows
    assert error.width == ok.width / 4 and ok.width > 0 and error.y == 32
    html = render_to_string("console/_bars.html", {"chart": chart})
    assert ">40</text>" in html and ">10</text>" in html and '<a href="/x/">' in html
    assert "style=" not in html
    assert render_to_string("console/_bars.html", {"chart": bar_chart("t", [], empty="No runs.")}).strip() \
        == '<p class="empty chart-empty">No runs.</p>'


def test_long_labels_are_shortened_and_durations_read_as_the_history_says_them():
    (row,) = bar_chart("t", [Bar("x" * 40, 1, "1")], empty="").rows
    assert row.label == "x" * 25 + "…"
    assert [seconds_text(v) for v in (None, 0, 5, 2.5, 75)] == ["not finished", "0 s", "5 s", "2.50 s", "1 min 15 s"]
    assert seconds_text(timedelta(hours=2).total_seconds()) == "2 h 0 min"

"""The charts of the flow page and the home page's dashboard: flows/run_stats.py's figures drawn by
console/charts.py. The views call one function each; the time range is a URL parameter
(`?chart=runs|days` on a flow page, `?window=24h|7d` on the home page), switched by links."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from accounts import access
from console.charts import Bar, Series, bar_chart, line_chart, seconds_text
from flows import run_stats
from flows.models import Flow

PROCESSED = Series("processed", "Records processed", "circle", "series-processed")
WRITTEN = Series("written", "Records written", "square", "series-written")
DURATION = Series("seconds", "Duration", "diamond", "series-duration")

# The words of each status on the dashboard, and the class of its bar (sluice.css); the words
# are on the bar, so the colour only repeats them.
STATUS_BARS = {
    "Successful": "bar bar-ok", "Error": "bar bar-error", "InProgress": "bar bar-running",
    "Skipped": "bar bar-warn", "CancelStarted": "bar bar-muted", "Canceled": "bar bar-muted",
}


def flow_chart_context(request: HttpRequest, flow: Flow) -> dict[str, Any]:
    chart = run_stats.choose(request.GET.get("chart"), run_stats.FLOW_CHARTS, "runs")
    slots = run_stats.flow_slots(flow, chart)
    if chart == "days":
        empty, per = f"No runs in the last {run_stats.FLOW_DAYS} days.", "a day"
        duration_name = "Average duration"
    else:
        empty, per, duration_name = "This flow has not run yet.", "a run", "Duration"
    failures = sum(slot.failures for slot in slots)
    return {"run_chart": {
        "choice": chart,
        "choices": [(key, label, f"?chart={key}#run-charts") for key, label in run_stats.FLOW_CHARTS.items()],
        "slots": slots,
        "runs": sum(slot.runs for slot in slots),
        "failures": failures,
        "records": line_chart(
            f"Records processed and written, {per} at a time", slots, [PROCESSED, WRITTEN], empty=empty,
            description=f"{failures} failed run{'s' if failures != 1 else ''} marked with a cross."),
        "duration": line_chart(
            f"{duration_name} of {per.replace('a ', 'each ')}", slots,
            [Series("seconds", duration_name, DURATION.marker, DURATION.css)],
            empty=empty, value_text=seconds_text),
    }}


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    window = run_stats.choose(request.GET.get("window"), run_stats.DASHBOARD_WINDOWS, "24h")
    label, _length, bucket = run_stats.DASHBOARD_WINDOWS[window]
    user = request.user
    # a team's people see their teams' runs only (accounts/access.py)
    data = run_stats.dashboard(window, flows=None if user.is_superuser
                               else access.visible(user, Flow.objects.all()))
    empty = f"No runs in the {label.lower()}."
    status_bars = [Bar(status, runs, f"{runs:,}", css=STATUS_BARS.get(status, "bar"))
                   for status, runs in data.by_status.items()]
    slowest = [Bar(row["flow"], row["longest"] or 0,
                   f"{seconds_text(row['longest'])} longest, {seconds_text(row['average'])} on average",
                   href=reverse("flows:detail", args=[row["flow"]])) for row in data.slowest]
    failing = [Bar(row["flow"], row["failures"], f"{row['failures']:,} failed of {row['runs']:,} runs",
                   href=reverse("flows:detail", args=[row["flow"]]), css="bar bar-error")
               for row in data.failing]
    calls = [Bar(row["connection"], row["total"],
                 f"{row['total']:,} ({row['source']:,} as source, {row['destination']:,} as destination)",
                 href=reverse("connections:detail", args=[row["connection"]])) for row in data.api_calls]
    return {"dashboard": {
        "window": window,
        "label": label,
        "choices": [(key, choice[0], f"?window={key}#dashboard")
                    for key, choice in run_stats.DASHBOARD_WINDOWS.items()],
        "data": data,
        "by_status": bar_chart(f"Runs by status, {label.lower()}", status_bars, empty=empty),
        "records": line_chart(
            f"Records moved, an {bucket} at a time" if bucket == "hour" else "Records moved, a day at a time",
            data.slots, [PROCESSED, WRITTEN], empty=empty,
            description=f"{data.totals['failures']} failed run{'s' if data.totals['failures'] != 1 else ''}"
                        " marked with a cross."),
        "slowest": bar_chart("Slowest flows (longest run)", slowest,
                             empty=f"No finished runs in the {label.lower()}."),
        "failing": bar_chart("Failing flows", failing, empty=f"No failed runs in the {label.lower()}."),
        "api_calls": bar_chart("API calls per connection", calls,
                               empty=f"No API calls in the {label.lower()}."),
    }}

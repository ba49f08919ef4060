"""Figures about runs for the charts: one flow's runs over time (flow page) and the dashboard of
every run in the last 24 hours or 7 days (home page).

Each figure is ONE aggregate query whose rows are bounded by the chart, not by the number of
executions (a flow running every minute has 43,200 runs in 30 days): the last 100 runs, or one
row per day / hour (and status), or the top few flows, or one row per flow version that ran. The
pure drawing is console/charts.py; this module only asks the database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from flows.models import Execution, Flow, FlowVersion

LAST_RUNS = 100
FLOW_DAYS = 30
TOP_FLOWS = 5
TOP_CONNECTIONS = 10
ERROR_SHOWN = 160  # characters of a failed run's reason in its marker's tooltip

# How a flow page's chart covers time: its last 100 runs one by one, or its last 30 days a day
# at a time (a busy flow's 30 days are too many runs to draw one by one).
FLOW_CHARTS = {"runs": f"Last {LAST_RUNS} runs", "days": f"Last {FLOW_DAYS} days"}
# The home page's dashboard windows: (label, length, bucket).
DASHBOARD_WINDOWS = {
    "24h": ("Last 24 hours", timedelta(hours=24), "hour"),
    "7d": ("Last 7 days", timedelta(days=7), "day"),
}

_DURATION = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
_FAILED = Q(status=Execution.Status.ERROR)


@dataclass(frozen=True)
class Slot:
    """One place on a chart's time axis: a run, an hour or a day."""

    at: datetime
    label: str
    runs: int = 0
    failures: int = 0
    processed: int = 0
    written: int = 0
    took: timedelta | None = None  # the run's duration, or the slot's average; None: not finished
    note: str = ""  # the run's status and, when it failed, why
    execution_id: str = ""  # set when the slot is one run

    @property
    def seconds(self) -> float | None:
        return self.took.total_seconds() if self.took is not None else None


def choose(value: str | None, choices: dict, default: str) -> str:
    """A URL parameter that must be one of `choices`; anything else is the default."""
    return value if value in choices else default


def _seconds(value: timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


def _reason(message: str) -> str:
    line = (message or "").strip().splitlines()[0] if (message or "").strip() else ""
    return line if len(line) <= ERROR_SHOWN else line[: ERROR_SHOWN - 1] + "…"


# --- one flow ------------------------------------------------------------------------------------


def flow_slots(flow: Flow, chart: str, now: datetime | None = None) -> list[Slot]:
    """The flow's runs for its chart, oldest first: the last 100 runs, or the last 30 days."""
    if chart == "days":
        return _flow_days(flow, now or timezone.now())
    rows = (flow.executions.order_by("-created_at")
            .annotate(took=_DURATION)
            .values("id", "created_at", "status", "records_processed", "records_written", "took",
                    "error_message")[:LAST_RUNS])
    slots = []
    for row in reversed(list(rows)):  # at most LAST_RUNS rows
        failed = row["status"] == Execution.Status.ERROR
        reason = _reason(row["error_message"]) if failed else ""
        slots.append(Slot(
            at=row["created_at"], label=f"{row['created_at']:%Y-%m-%d %H:%M}", runs=1,
            failures=int(failed), processed=row["records_processed"], written=row["records_written"],
            took=row["took"], note=f"{row['status']}: {reason}" if reason else row["status"],
            execution_id=str(row["id"]),
        ))
    return slots


def _flow_days(flow: Flow, now: datetime) -> list[Slot]:
    since = _floor(now, "day") - timedelta(days=FLOW_DAYS - 1)
    rows = (flow.executions.filter(created_at__gte=since).order_by()
            .annotate(slot=TruncDay("created_at", tzinfo=UTC)).values("slot")
            .annotate(runs=Count("id"), failures=Count("id", filter=_FAILED),
                      processed=Sum("records_processed"), written=Sum("records_written"),
                      took=Avg(_DURATION)))
    by_slot = {row["slot"]: row for row in rows}
    return [_bucket_slot(at, by_slot.get(at), "day") for at in _buckets(since, now, "day")]


# --- every flow: the home page's dashboard -------------------------------------------------------


@dataclass
class Dashboard:
    window: str
    since: datetime
    slots: list[Slot]
    by_status: dict[str, int]
    slowest: list[dict]  # {"flow", "runs", "longest", "average"} (seconds)
    failing: list[dict]  # {"flow", "runs", "failures", "last_failure"}
    api_calls: list[dict]  # {"connection", "source", "destination", "total"}
    token_refreshes: int = 0
    more_connections: int = 0
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def runs(self) -> int:
        return sum(self.by_status.values())


def dashboard(window: str, now: datetime | None = None, flows: QuerySet | None = None) -> Dashboard:
    """The home page's figures; of the runs of `flows` only when given (the viewer's teams')."""
    now = now or timezone.now()
    _label, length, bucket = DASHBOARD_WINDOWS[window]
    since = now - length
    recent = Execution.objects.filter(created_at__gte=since).order_by()
    versions = FlowVersion.objects.all()
    if flows is not None:
        recent, versions = recent.filter(flow__in=flows), versions.filter(flow__in=flows)
    slots, by_status = _overview(recent, since, now, bucket)
    api_calls, refreshes, more = _api_calls_per_connection(since, versions)
    return Dashboard(
        window=window, since=since, slots=slots, by_status=by_status,
        slowest=_slowest_flows(recent), failing=_failing_flows(recent),
        api_calls=api_calls, token_refreshes=refreshes, more_connections=more,
        totals={"processed": sum(s.processed for s in slots), "written": sum(s.written for s in slots),
                "failures": sum(s.failures for s in slots)},
    )


def _overview(recent: QuerySet, since: datetime, now: datetime, bucket: str) -> tuple[list[Slot], dict]:
    """Runs by status and records moved per hour/day: one query, a row per (slot, status)."""
    trunc = TruncHour if bucket == "hour" else TruncDay
    rows = (recent.annotate(slot=trunc("created_at", tzinfo=UTC)).values("slot", "status")
            .annotate(runs=Count("id"), processed=Sum("records_processed"),
                      written=Sum("records_written")))
    by_status: dict[str, int] = {}
    by_slot: dict[datetime, dict] = {}
    for row in rows:  # at most (hours or days) x statuses rows
        by_status[row["status"]] = by_status.get(row["status"], 0) + row["runs"]
        into = by_slot.setdefault(row["slot"], {"runs": 0, "failures": 0, "processed": 0, "written": 0})
        into["runs"] += row["runs"]
        into["failures"] += row["runs"] if row["status"] == Execution.Status.ERROR else 0
        into["processed"] += row["processed"] or 0
        into["written"] += row["written"] or 0
    order = [status for status in Execution.Status.values if status in by_status]
    slots = [_bucket_slot(at, by_slot.get(at), bucket) for at in _buckets(since, now, bucket)]
    return slots, {status: by_status[status] for status in order}


def _slowest_flows(recent: QuerySet) -> list[dict]:
    rows = (recent.filter(started_at__isnull=False, finished_at__isnull=False)
            .values("flow__name").annotate(runs=Count("id"), longest=Max(_DURATION), average=Avg(_DURATION))
            .order_by("-longest", "flow__name")[:TOP_FLOWS])
    return [{"flow": row["flow__name"], "runs": row["runs"], "longest": _seconds(row["longest"]),
             "average": _seconds(row["average"])} for row in rows]


def _failing_flows(recent: QuerySet) -> list[dict]:
    rows = (recent.values("flow__name")
            .annotate(runs=Count("id"), failures=Count("id", filter=_FAILED),
                      last_failure=Max("created_at", filter=_FAILED))
            .filter(failures__gt=0).order_by("-failures", "flow__name")[:TOP_FLOWS])
    return [{"flow": row["flow__name"], "runs": row["runs"], "failures": row["failures"],
             "last_failure": row["last_failure"]} for row in rows]


def _api_calls_per_connection(since: datetime, versions: QuerySet) -> tuple[list[dict], int, int]:
    """API calls to each connection: a run counts the calls to its source and to its destination
    (Execution.source_api_calls / destination_api_calls, counted by connections.net); which
    connections those are is in the version it ran. One query, a row per version that ran (on
    PostgreSQL grouped by the version's key alone). Token refreshes go to whichever side needed
    one, which the run does not record, so they are a total."""
    rows = (versions.filter(executions__created_at__gte=since).order_by()
            .values("id", "document")
            .annotate(source=Sum("executions__source_api_calls"),
                      destination=Sum("executions__destination_api_calls"),
                      refreshes=Sum("executions__token_refreshes")))
    calls: dict[str, dict] = {}
    refreshes = 0
    for row in rows:  # one per version that ran in the window
        refreshes += row["refreshes"] or 0
        source, destination = _connection_names(row["document"])
        for name, side in ((source, "source"), (destination, "destination")):
            count = row[side]
            if name and count:
                entry = calls.setdefault(name, {"connection": name, "source": 0, "destination": 0})
                entry[side] += count
    for entry in calls.values():
        entry["total"] = entry["source"] + entry["destination"]
    ranked = sorted(calls.values(), key=lambda entry: (-entry["total"], entry["connection"]))
    return ranked[:TOP_CONNECTIONS], refreshes, max(0, len(ranked) - TOP_CONNECTIONS)


def _connection_names(document: str) -> tuple[str, str]:
    try:
        value = json.loads(document)
    except ValueError:
        return "", ""
    source = (value.get("sourceFlowConfig") or {}) if isinstance(value, dict) else {}
    destinations = (value.get("destinationFlowConfigList") or [{}]) if isinstance(value, dict) else [{}]
    destination = destinations[0] if isinstance(destinations[0], dict) else {}
    return str(source.get("connectorProfileName") or ""), str(destination.get("connectorProfileName") or "")


# --- time buckets --------------------------------------------------------------------------------


def _floor(at: datetime, bucket: str) -> datetime:
    at = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return at.replace(hour=0) if bucket == "day" else at


def _buckets(since: datetime, now: datetime, bucket: str) -> list[datetime]:
    step = timedelta(hours=1) if bucket == "hour" else timedelta(days=1)
    at, end, slots = _floor(since, bucket), _floor(now, bucket), []
    while at <= end:
        slots.append(at)
        at += step
    return slots


def _bucket_slot(at: datetime, row: dict | None, bucket: str) -> Slot:
    label = f"{at:%Y-%m-%d %H:00}" if bucket == "hour" else f"{at:%Y-%m-%d}"
    if not row:
        return Slot(at=at, label=label)
    return Slot(at=at, label=label, runs=row["runs"], failures=row["failures"],
                processed=row["processed"] or 0, written=row["written"] or 0, took=row.get("took"))

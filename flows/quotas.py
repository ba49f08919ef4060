"""Run-safety quotas, beside the connection quota (connections/services.check_quota).

Each is one setting with AppFlow's user-guide figure as its default (console/settings.py; 0 turns
one off), refused with ServiceQuotaExceededException (console/errors.QuotaExceeded) in words that
name the quota, the limit and the setting. Services call these before they create a flow or an
execution; the dispatcher asks for the room left once per batch and records the scheduled runs
past it as Skipped; the records-per-run limit is enforced by the engine (RunLimits)."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from console.errors import QuotaExceeded
from flows.engine import RunLimits
from flows.models import Execution, Flow

RUNNING = (Execution.Status.IN_PROGRESS, Execution.Status.CANCEL_STARTED)


def refusal(quota: str, limit: int, setting: str, advice: str) -> str:
    return f"Quota reached: {quota} (limit {limit:,}, setting {setting}). {advice}"


def check_new_flow() -> None:
    limit = settings.SLUICE_MAX_FLOWS
    if limit and Flow.objects.count() >= limit:
        raise QuotaExceeded(refusal("flows", limit, "SLUICE_MAX_FLOWS",
                                    "Delete a flow you no longer use, or raise the limit."))


def month_start(now=None):
    now = now or timezone.now()
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def room_for_runs() -> tuple[int | None, str]:
    """How many more runs may start now across all flows (None: no limit), and the refusal that
    applies once none may. Skipped slots are not runs and count for neither quota."""
    rooms: list[tuple[int, str]] = []
    total = settings.SLUICE_MAX_CONCURRENT_RUNS
    if total:
        running = Execution.objects.filter(status__in=RUNNING).count()
        rooms.append((total - running, refusal(
            "concurrent runs", total, "SLUICE_MAX_CONCURRENT_RUNS",
            "Wait for runs in progress to finish, or raise the limit.")))
    monthly = settings.SLUICE_MAX_RUNS_PER_MONTH
    if monthly:
        this_month = (Execution.objects.filter(created_at__gte=month_start())
                      .exclude(status=Execution.Status.SKIPPED).count())
        rooms.append((monthly - this_month, refusal(
            "runs per month", monthly, "SLUICE_MAX_RUNS_PER_MONTH",
            "Runs can start again on the 1st (UTC), or raise the limit.")))
    return min(rooms, default=(None, ""))


def check_new_run(flow: Flow) -> None:
    """Before an execution of `flow` is recorded. Two starts at the very same moment can both
    pass the total and monthly counts (they are not locked); the per-flow count is exact, as the
    caller holds the flow's row."""
    per_flow = settings.SLUICE_MAX_CONCURRENT_RUNS_PER_FLOW
    if per_flow and flow.executions.filter(status__in=RUNNING).count() >= per_flow:
        raise QuotaExceeded(refusal(
            f'concurrent runs of the flow "{flow.name}"', per_flow, "SLUICE_MAX_CONCURRENT_RUNS_PER_FLOW",
            "Wait for its runs in progress to finish, or raise the limit."))
    room, message = room_for_runs()
    if room is not None and room <= 0:
        raise QuotaExceeded(message)


def run_limits() -> RunLimits:
    """What the engine stops a run at (records and bytes read)."""
    return RunLimits(max_records=settings.SLUICE_MAX_RECORDS_PER_RUN,
                     max_bytes=settings.SLUICE_MAX_BYTES_PER_RUN,
                     records_setting="SLUICE_MAX_RECORDS_PER_RUN", bytes_setting="SLUICE_MAX_BYTES_PER_RUN")

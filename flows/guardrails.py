"""Anomaly guardrails, per flow and off unless chosen (the flow page's Guardrails form).

After a run ends well (after_run.after_run), a run that read no record, or whose records
processed differ from the median of the flow's last N successful runs by more than X %, is
flagged: the execution keeps its Successful status with a warning (the pages say "Successful with
warning" and why), or becomes Error when the flow chose to fail such runs. Either way a
"Sluice Flow Run Anomaly" event goes to the notification channels.

The runs compared with are the flow's earlier successful runs, warned ones included, so a volume
that changed for good stops warning once it is the new normal. Retries of rejected records read
only those records: they are neither checked nor compared with. The volume check waits until the
flow has N successful runs to compare with."""

from __future__ import annotations

import statistics
from typing import Any

from django.db import transaction
from django.utils import timezone

from console.errors import UserError
from flows import notifications, services
from flows.models import Execution, Flow, FlowActivity

S = Execution.Status


def describe(flow: Flow) -> str:
    checks = []
    if flow.guardrail_zero_records:
        checks.append("a run that reads no record")
    if flow.guardrail_change_percent is not None:
        checks.append(f"a run whose records processed differ by more than {flow.guardrail_change_percent}% "
                      f"from the median of the last {flow.guardrail_baseline_runs} successful runs")
    if not checks:
        return "off"
    verb = "fail" if flow.guardrail_action == "fail" else "warn about"
    return f"{verb} {' or '.join(checks)}"


@transaction.atomic
def configure(flow: Flow, *, zero_records: bool, change_percent: Any, baseline_runs: Any, action: str,
              user=None) -> Flow:
    """Set a flow's guardrails (the flow page's form), recorded in its activity. An empty
    change_percent turns the volume check off."""
    errors = []
    percent = None
    if str(change_percent or "").strip():
        percent = _whole_number(change_percent, 1, 10_000)
        if percent is None:
            errors.append(f"Volume change: give a whole number of percent from 1 to 10000, or leave it empty "
                          f"to turn the check off; not {str(change_percent)[:20]!r}.")
    runs = _whole_number(baseline_runs, 1, 100)
    if runs is None:
        errors.append("Runs to compare with: give a whole number from 1 to 100, "
                      f"not {str(baseline_runs)[:20]!r}.")
    if action not in ("warn", "fail"):
        errors.append(f"When a guardrail trips: choose warn or fail, not {str(action)[:20]!r}.")
    if errors:
        raise UserError(*errors)
    flow = Flow.objects.select_for_update().get(pk=flow.pk)
    flow.guardrail_zero_records, flow.guardrail_change_percent = bool(zero_records), percent
    flow.guardrail_baseline_runs, flow.guardrail_action = runs, action
    flow.save(update_fields=["guardrail_zero_records", "guardrail_change_percent", "guardrail_baseline_runs",
                             "guardrail_action", "updated_at"])
    who = f" by {user.get_username()}" if user else ""
    services.record(flow, FlowActivity.Action.SETTINGS_CHANGED, f"Guardrails set{who}: {describe(flow)}.",
                    user)
    return flow


def _whole_number(value: Any, low: int, high: int) -> int | None:
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if low <= number <= high else None


def anomaly(execution: Execution, flow: Flow) -> str:
    """Why the finished run `execution` looks wrong, or "" when it does not (or nothing is checked)."""
    read = execution.records_processed
    if flow.guardrail_zero_records and read == 0:
        return "The run read no record (guardrail: zero records)."
    limit, runs = flow.guardrail_change_percent, flow.guardrail_baseline_runs
    if limit is None:
        return ""
    earlier = list(
        flow.executions.filter(status=S.SUCCESSFUL, reprocess_of__isnull=True,
                               created_at__lt=execution.created_at)
        .exclude(pk=execution.pk).order_by("-created_at").values_list("records_processed", flat=True)[:runs]
    )
    if len(earlier) < runs:
        return ""
    median = statistics.median(earlier)
    if median == 0:
        change = float("inf") if read else 0.0
    else:
        change = abs(read - median) / median * 100
    if change <= limit:
        return ""
    how = f"{change:,.0f}% {'more' if read > median else 'fewer'}" if median else "more"
    return (f"The run read {read:,} records, {how} than the median of the last {runs} successful runs "
            f"({median:,g}); the guardrail allows {limit}% (guardrail: volume change).")


def check_run(execution: Execution) -> None:
    """Flag or fail `execution` when it trips one of its flow's guardrails, and notify."""
    if execution.status != S.SUCCESSFUL or execution.reprocess_of_id:
        return
    reason = anomaly(execution, execution.flow)
    if not reason:
        return
    finished = Execution.objects.filter(pk=execution.pk, status=S.SUCCESSFUL)
    if execution.flow.guardrail_action == "fail":
        message = f"{reason} This flow's guardrails fail such a run; what it wrote stays written."
        changed = finished.update(status=S.ERROR, error_message=message, updated_at=timezone.now())
        level = "ERROR"
    else:
        message = reason
        changed = finished.update(warning=reason, updated_at=timezone.now())
        level = "WARNING"
    if not changed:
        return
    execution.refresh_from_db(fields=["status", "error_message", "warning"])
    services.log(execution, message, level)
    notifications.run_anomaly(execution, reason)

"""What follows a finished run (the runner calls it once the run has ended, however it ended): the
flow's guardrails, which may flag or fail the run, then auto-deactivation of a Scheduled or Event
flow whose recent runs all failed."""

from __future__ import annotations

from django.utils import timezone

from console.errors import UserError
from flows import guardrails, services
from flows.models import Execution, Flow, FlowActivity
from flows.schedules import DEFAULT_DEACTIVATION_THRESHOLD


def after_run(execution_id) -> None:
    """Both, in order (the runner sends the run's end event between them)."""
    check_guardrails(execution_id)
    deactivate_if_failing(execution_id)


def check_guardrails(execution_id) -> None:
    """The flow's guardrails, which may flag or fail the run: before the end event goes out, so
    the event says how the run finally ended."""
    execution = _finished(execution_id)
    if execution is not None:
        guardrails.check_run(execution)


def deactivate_if_failing(execution_id) -> None:
    """A Scheduled or Event flow whose last flowErrorDeactivationThreshold runs all failed is
    deactivated (Errored), with the reason."""
    execution = _finished(execution_id)
    if execution is None or execution.status != Execution.Status.ERROR:
        return
    flow = execution.flow
    if flow.trigger_type == "OnDemand" or flow.status != Flow.Status.ACTIVE:
        return
    try:
        config = services.schedule_config(flow)
    except UserError:
        config = None
    threshold = config.deactivation_threshold if config else DEFAULT_DEACTIVATION_THRESHOLD
    # Skipped slots and canceled runs are neither failures nor successes: they do not count.
    recent = list(
        flow.executions.filter(status__in=[Execution.Status.SUCCESSFUL, Execution.Status.ERROR])
        .order_by("-created_at")
        .values_list("status", flat=True)[:threshold]
    )
    if len(recent) < threshold or any(status != Execution.Status.ERROR for status in recent):
        return
    now = timezone.now()
    reason = (f"Deactivated at {now:%Y-%m-%d %H:%M} UTC after {threshold} failed run"
              f"{'s' if threshold != 1 else ''} in a row (flowErrorDeactivationThreshold). The last error: "
              f"{execution.error_message or 'none recorded'} Fix the cause, then activate the flow again.")
    services.deactivate_flow(flow, reason=reason, status=Flow.Status.ERRORED,
                             action=FlowActivity.Action.AUTO_DEACTIVATED)


def _finished(execution_id) -> Execution | None:
    return Execution.objects.select_related("flow__current_version").filter(pk=execution_id).first()

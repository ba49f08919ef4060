"""The schedule dispatcher: a beat tick finds the Scheduled flows that are due and makes one
execution per slot.

Why it is safe to run several at once (two beat processes, many machines): a slot is claimed by a
conditional update of the flow's next_run_at (`... WHERE next_run_at = <the slot we read>`), so only
one dispatcher moves it on; and executions are unique on (flow, scheduled_for), so even a flow
whose next_run_at was reset meanwhile cannot get two executions for one slot.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from console.errors import UserError
from flows import services
from flows.models import Execution, Flow, FlowActivity
from flows.schedules import ScheduleConfig

logger = logging.getLogger(__name__)
# Flows handled per tick at most: a tick stays short; the rest are due on the next tick.
BATCH = 1000


@dataclass
class TickResult:
    started: list[str] = field(default_factory=list)  # execution ids
    skipped: list[str] = field(default_factory=list)  # execution ids of Skipped records
    taken: int = 0  # slots another dispatcher claimed first
    ended: int = 0  # schedules that ran out (scheduleEndTime, a cron year)
    seconds: float = 0.0


def dispatch_due(now: datetime | None = None, *, limit: int = BATCH) -> TickResult:
    """One tick: every flow whose next_run_at has come, oldest slot first."""
    began = time.monotonic()
    now = now or timezone.now()
    result = TickResult()
    # The one indexed query (partial index flow_due on next_run_at).
    due = list(
        Flow.objects.filter(next_run_at__lte=now)
        .select_related("current_version")
        .order_by("next_run_at")[:limit]
    )
    for flow in due:
        try:
            dispatch_slot(flow, now, result)
        except Exception:  # one broken flow must not stop the others' runs
            logger.exception("Dispatching flow %s failed", flow.pk)
    result.seconds = time.monotonic() - began
    return result


def dispatch_slot(flow: Flow, now: datetime, result: TickResult) -> None:
    slot = flow.next_run_at
    with transaction.atomic():
        if flow.status != Flow.Status.ACTIVE or flow.trigger_type != "Scheduled":
            # Deactivated (or suspended by a connection delete) since: nothing is due any more.
            Flow.objects.filter(pk=flow.pk, next_run_at=slot).update(next_run_at=None)
            return
        try:
            config = services.schedule_config(flow)
        except UserError as exc:
            services.deactivate_flow(flow, reason=f"Deactivated: its schedule cannot be read. {exc}",
                                     status=Flow.Status.ERRORED, action=FlowActivity.Action.AUTO_DEACTIVATED)
            return
        # Strictly after now: slots missed during downtime are not replayed one by one; this one
        # run covers the gap (its incremental window starts at the last successful run's end).
        following = services.next_run_after(flow, now)
        if not Flow.objects.filter(pk=flow.pk, next_run_at=slot).update(next_run_at=following):
            result.taken += 1
            return
        if following is None:
            result.ended += 1
            services.record(flow, FlowActivity.Action.SCHEDULE_ENDED,
                            "The schedule has no more runs (its end time or last year has passed).")
        try:
            with transaction.atomic():  # a savepoint: a duplicate slot rolls back only itself
                execution = _run_or_skip(flow, config, slot, now)
        except IntegrityError:
            result.taken += 1
            return
    outcome = result.skipped if execution.status == Execution.Status.SKIPPED else result.started
    outcome.append(str(execution.pk))


def _run_or_skip(flow: Flow, config: ScheduleConfig, slot: datetime, now: datetime) -> Execution:
    running = (
        flow.executions.filter(status__in=[Execution.Status.IN_PROGRESS, Execution.Status.CANCEL_STARTED])
        .values_list("pk", flat=True)
        .first()
    )
    if running is not None:
        # No overlapping runs of one flow: the slot is recorded as skipped, with the reason.
        return services.record_skipped_slot(
            flow, slot, f"Skipped the run scheduled for {slot:%Y-%m-%d %H:%M:%S} UTC: the previous run "
                        f"({running}) was still in progress. The next run covers this one's window."
        )
    window = services.incremental_window(flow, config, now) if config.incremental else None
    return services.start_flow(flow, trigger=Execution.Trigger.SCHEDULED, scheduled_for=slot, window=window)

"""The schedule dispatcher: a beat tick finds the Scheduled flows that are due and makes one
execution per slot.

A tick works in batches, a fixed handful of queries per batch whatever its size: the due flows
(the partial index on next_run_at), locked FOR UPDATE SKIP LOCKED so that several dispatchers
(two beat processes, many machines) share the work instead of repeating it; the flows among them
still running (their slot is recorded as Skipped); the incremental watermarks; then the
executions and their first log lines in bulk, and every flow's next slot in one update. The
executions are unique on (flow, scheduled_for): even a flow whose next_run_at was reset cannot get
two executions for one slot. Workers get the ids once the tick's batches are committed.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from console.errors import UserError
from flows import queue, quotas, services
from flows.models import Execution, ExecutionLog, Flow, FlowActivity
from flows.schedules import next_slot

logger = logging.getLogger(__name__)
BATCH = 500  # flows per transaction: locks are held briefly; the rest follow in the same tick
MAX_BATCHES = 20  # per tick; whatever is left is due on the next tick
RUNNING = (Execution.Status.IN_PROGRESS, Execution.Status.CANCEL_STARTED)


@dataclass
class TickResult:
    started: list[str] = field(default_factory=list)  # execution ids
    skipped: list[str] = field(default_factory=list)  # execution ids of Skipped records
    taken: int = 0  # slots another dispatcher had already made
    ended: int = 0  # schedules that ran out (scheduleEndTime, a cron year)
    seconds: float = 0.0


def dispatch_due(now: datetime | None = None, *, batch: int = BATCH) -> TickResult:
    """One tick: every flow whose next_run_at has come, oldest slot first, a batch at a time."""
    began = time.monotonic()
    now = now or timezone.now()
    result = TickResult()
    for _ in range(MAX_BATCHES):
        if _dispatch_batch(now, batch, result) < batch:
            break
    # After every batch has committed: a worker never looks for a row that is not there, and
    # publishing (the slowest part) does not hold back the later batches' executions. Should this
    # process die in between, the reconciler re-queues executions no worker picked up.
    if result.started:
        queue.run_executions(list(result.started))  # inside someone's transaction: after its commit
    result.seconds = time.monotonic() - began
    return result


def _dispatch_batch(now: datetime, batch: int, result: TickResult) -> int:
    """Dispatch up to `batch` due flows that no other dispatcher holds; how many it took."""
    with transaction.atomic():
        # The one indexed query (partial index on next_run_at). SKIP LOCKED: a second dispatcher
        # takes the next due flows instead of waiting for these (PostgreSQL; SQLite serialises
        # writing transactions, so the second one finds them moved on).
        flows = list(
            Flow.objects.select_for_update(skip_locked=connection.features.has_select_for_update_skip_locked,
                                           of=("self",))
            .select_related("current_version")
            .filter(next_run_at__lte=now)
            .order_by("next_run_at")[:batch]
        )
        if not flows:
            return 0
        running = dict(
            Execution.objects.filter(flow_id__in=[f.pk for f in flows], status__in=RUNNING)
            .values_list("flow_id", "pk")
        )
        plans, broken = [], []
        for flow in flows:
            if flow.status != Flow.Status.ACTIVE or flow.trigger_type != "Scheduled":
                plans.append((flow, None, None))  # deactivated since: it leaves the due index
                continue
            try:
                config = services.schedule_config(flow)
            except UserError as exc:
                broken.append((flow, str(exc)))
                continue
            plans.append((flow, config, next_slot(config, now, anchor=flow.activated_at or now)))
        marks = services.watermarks([f.pk for f, config, _ in plans if config and config.incremental])
        room, refusal = quotas.room_for_runs()  # once per batch; each run made below takes one
        executions, lines, nexts = [], [], {}
        for flow, config, following in plans:
            nexts[flow.pk] = following
            if config is None:
                continue
            if following is None:
                result.ended += 1
                services.record(flow, FlowActivity.Action.SCHEDULE_ENDED,
                                "The schedule has no more runs (its end time or last year has passed).")
            execution, messages = _execution(flow, config, flow.next_run_at, now, running.get(flow.pk), marks)
            if execution.status != Execution.Status.SKIPPED and room is not None:
                if room <= 0:
                    execution, messages = _over_quota(execution, refusal, now)
                room -= 1
            executions.append(execution)
            lines += [ExecutionLog(execution=execution, level=level, message=text)
                      for level, text in messages]
        _move_on(nexts)
        # ignore_conflicts: a slot that already has its execution is not made twice.
        Execution.objects.bulk_create(executions, ignore_conflicts=True)
        made = set(Execution.objects.filter(pk__in=[e.pk for e in executions]).values_list("pk", flat=True))
        ExecutionLog.objects.bulk_create([line for line in lines if line.execution_id in made])
        for execution in executions:
            if execution.pk not in made:
                result.taken += 1
            elif execution.status == Execution.Status.SKIPPED:
                result.skipped.append(str(execution.pk))
            else:
                result.started.append(str(execution.pk))
        for flow, reason in broken:
            services.deactivate_flow(flow, reason=f"Deactivated: its schedule cannot be read. {reason}",
                                     status=Flow.Status.ERRORED, action=FlowActivity.Action.AUTO_DEACTIVATED)
    return len(flows)


def _move_on(nexts: dict[int, datetime | None]) -> None:
    """Every flow's next slot. Flows on one schedule share their next slot: one UPDATE per distinct
    value is cheaper than one CASE over every row (and usually there are few values)."""
    by_value: dict[datetime | None, list[int]] = {}
    for pk, value in nexts.items():
        by_value.setdefault(value, []).append(pk)
    for value, pks in by_value.items():
        Flow.objects.filter(pk__in=pks).update(next_run_at=value)


def _over_quota(planned: Execution, refusal: str, now: datetime) -> tuple[Execution, list[tuple[str, str]]]:
    """A scheduled run past a quota is recorded as Skipped with the quota's words, not started."""
    reason = (f"Skipped the run scheduled for {planned.scheduled_for:%Y-%m-%d %H:%M:%S} UTC. {refusal} "
              "The next run covers this one's window.")
    skipped = Execution(id=planned.id, flow=planned.flow, version=planned.version, trigger=planned.trigger,
                        scheduled_for=planned.scheduled_for, status=Execution.Status.SKIPPED, finished_at=now,
                        error_message=reason)
    return skipped, [("WARNING", reason)]


def _execution(flow: Flow, config, slot: datetime, now: datetime, running_id,
               marks: dict) -> tuple[Execution, list[tuple[str, str]]]:
    base = {"id": uuid.uuid4(), "flow": flow, "version": flow.current_version,
            "trigger": Execution.Trigger.SCHEDULED, "scheduled_for": slot}
    when = f"{slot:%Y-%m-%d %H:%M:%S} UTC"
    if running_id is not None:
        # No overlapping runs of one flow: the slot is recorded as skipped, with the reason.
        reason = (f"Skipped the run scheduled for {when}: the previous run ({running_id}) was still in "
                  "progress. The next run covers this one's window.")
        return Execution(**base, status=Execution.Status.SKIPPED, finished_at=now, error_message=reason), [
            ("WARNING", reason)]
    version = flow.current_version.number
    messages = [("INFO", f"Queued (Scheduled for the slot {when}), flow version {version}.")]
    execution = Execution(**base)
    if config.incremental:
        start, end = services.incremental_window(flow, config, now, watermark=marks.get(flow.pk))
        execution.data_pull_start, execution.data_pull_end = start, end
        messages.append(("INFO", f"Data pull window: {start:%Y-%m-%d %H:%M:%S} UTC to "
                                 f"{end:%Y-%m-%d %H:%M:%S} UTC."))
    return execution, messages

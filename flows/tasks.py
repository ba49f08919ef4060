"""The Celery tasks: the only module that knows the task functions. Others enqueue through
flows/queue.py, by name."""

from __future__ import annotations

import logging

from celery import shared_task

from flows import dispatcher, notifications, queue, runner
from flows.wizard.preview import run_preview

logger = logging.getLogger(__name__)


# acks_late + reject_on_worker_lost: a message whose worker died comes back rather than being lost.
# It never decides whether the run goes on: the execution's lease in the database does (a message
# for an attempt already claimed is a no-op; the reconciler starts the next attempt). docs/triggers.md.
@shared_task(bind=True, name=queue.RUN_EXECUTION, acks_late=True, reject_on_worker_lost=True)
def run_execution(self, execution_id: str, attempt: int | None = None) -> None:
    runner.run_execution(execution_id, worker=self.request.hostname or "", attempt=attempt)


@shared_task(name="flows.tasks.mark_lost_executions")
def mark_lost_executions() -> int:
    handled = runner.mark_lost_executions()
    if handled:  # Celery's own lines about this task are DEBUG (console/celery.py): say what it did
        logger.info("Found %d lost execution(s): tried again or marked Error.", handled)
    return handled


@shared_task(name="flows.tasks.dispatch_schedules")
def dispatch_schedules() -> dict:
    result = dispatcher.dispatch_due()
    if result.started or result.skipped:  # an idle tick says nothing (console/celery.py)
        logger.info("Dispatched %d scheduled run(s); skipped %d (the previous run was still going).",
                    len(result.started), len(result.skipped))
    return {"started": len(result.started), "skipped": len(result.skipped), "seconds": result.seconds}


@shared_task(bind=True, name=queue.DELIVER_NOTIFICATION, acks_late=True, max_retries=None)
def deliver_notification(self, delivery_id: int) -> None:
    # The attempt count lives on the delivery row, which decides when to give up.
    delay = notifications.deliver(delivery_id)
    if delay is not None:
        raise self.retry(countdown=delay)


@shared_task(name="flows.tasks.report_event_flows")
def report_event_flows() -> int:
    from django.utils import timezone

    return len(notifications.event_flow_reports(timezone.now()))


# A preview reads a few records for the wizard's page; its own time limit is far below a run's.
@shared_task(name=queue.RUN_PREVIEW, soft_time_limit=60, time_limit=90)
def run_preview_task(preview_id: str) -> None:
    run_preview(preview_id)

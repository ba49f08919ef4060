"""Handing work to the workers: every enqueue of the flows app goes through here, by task name.

Only flows/tasks.py knows the Celery task functions (and imports the modules that do the work);
everything else sends by name through these functions, so the flows modules import each other in
one direction only (flows/tests/test_layering.py keeps it so). Messages go after the current
transaction commits, so a worker never looks for a row it cannot see yet."""

from __future__ import annotations

from django.db import transaction

RUN_EXECUTION = "flows.tasks.run_execution"
RUN_PREVIEW = "flows.tasks.run_preview"
DELIVER_NOTIFICATION = "flows.tasks.deliver_notification"


def _app():
    from console.celery import app  # the configured app (broker, routes), whoever imports this

    return app


def _send(name: str, *args, **options) -> None:
    transaction.on_commit(lambda: _app().send_task(name, args=args, **options))


def run_execution(execution_id, *, attempt: int | None = None, countdown: float | None = None) -> None:
    kwargs = {"attempt": attempt} if attempt is not None else {}
    _send(RUN_EXECUTION, str(execution_id), kwargs=kwargs, countdown=countdown)


def run_executions(execution_ids: list[str]) -> None:
    _send_each(RUN_EXECUTION, [str(pk) for pk in execution_ids])


def run_preview(preview_id) -> None:
    _send(RUN_PREVIEW, str(preview_id))


def deliver_notifications(delivery_ids: list[int]) -> None:
    _send_each(DELIVER_NOTIFICATION, delivery_ids)


def _send_each(name: str, ids: list) -> None:
    """One message per id, over one broker connection (a connection per message costs ~0.7 ms)."""
    if not ids:
        return

    def send() -> None:
        app = _app()
        with app.producer_or_acquire() as producer:
            for pk in ids:
                app.send_task(name, args=(pk,), producer=producer)

    transaction.on_commit(send)

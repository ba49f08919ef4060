"""The Celery app: `celery -A console worker` and `celery -A console beat` from the repository root."""

from __future__ import annotations

import logging
import os

from celery import Celery
from celery.signals import worker_init
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
# filesystem:// (the embedded broker) publishes each message atomically: see console/broker.py.
TRANSPORT_ALIASES["filesystem"] = "console.broker:Transport"

app = Celery("console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The periodic housekeeping of beat and the control worker (console/settings.py CELERY_BEAT_SCHEDULE):
# every second, a dispatch tick that usually finds nothing. Celery logs each one three times at
# INFO (beat sends it, the worker receives it, it succeeded); an idle minute printed ~180 lines.
# Those lines go to DEBUG; the tasks themselves log at INFO when they did something (flows/tasks.py).
HOUSEKEEPING_TASKS = frozenset({
    "flows.tasks.dispatch_schedules", "flows.tasks.mark_lost_executions", "flows.tasks.report_event_flows",
})


class HousekeepingAtDebug(logging.Filter):
    """On Celery's beat, task-received and task-succeeded loggers: a housekeeping task's line is a
    DEBUG line (shown only with --loglevel DEBUG); every other task's line is left as it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        if task_name(record) not in HOUSEKEEPING_TASKS:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def task_name(record: logging.LogRecord) -> str:
    """The task a Celery log line is about: beat logs (entry name, task name); the worker logs a
    dict with "name" (celery/beat.py apply_entry, celery/worker/strategy.py, celery/app/trace.py)."""
    args = record.args
    if isinstance(args, dict):
        return str(args.get("name") or "")
    if isinstance(args, tuple) and len(args) == 2 and record.msg.startswith("Scheduler: Sending due task"):
        return str(args[1])
    return ""


for _name in ("celery.beat", "celery.worker.strategy", "celery.app.trace"):
    logging.getLogger(_name).addFilter(HousekeepingAtDebug())


@worker_init.connect
def check_encryption_key(**_) -> None:
    """Fail closed: a worker with the wrong key stops at start instead of failing every run.

    Celery catches an Exception raised by a signal handler, logs it and starts consuming tasks
    anyway, which then fail one by one with "unexpected error". SystemExit is not an Exception: it
    ends the process, non-zero, with the same message the web process gives."""
    from connections.crypto import EncryptionKeyError, verify_encryption_key

    try:
        verify_encryption_key()
    except EncryptionKeyError as exc:
        raise SystemExit(f"Sluice worker stopped: {exc}") from None

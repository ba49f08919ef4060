"""The Celery app: `celery -A console worker` and `celery -A console beat` from the repository root."""

from __future__ import annotations

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

"""A real `celery worker` process is killed (SIGKILL) in the middle of a scheduled incremental run
with no attempts left: the reconciler marks the execution Error "worker lost", and the next run
covers its window."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from conftest import subprocess_database_url
from flows import dispatcher, runner
from flows.models import Execution
from flows.tests.test_dispatcher import active_flow

pytestmark = pytest.mark.django_db(transaction=True)


def wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_killed_worker_ends_as_worker_lost_and_the_next_run_covers_its_window(demo, settings):
    from console.demo_data import write_accounts_csv

    write_accounts_csv(demo["csv"], rows=20_000)  # enough to still be reading when the kill comes
    flow = active_flow("killed", next_run=timezone.now() - timedelta(seconds=1),
                       scheduleExpression="rate(1hours)", dataPullMode="Incremental",
                       scheduleStartTime=(timezone.now() - timedelta(seconds=1)).isoformat())
    # An earlier successful run: the watermark both the lost run and the next one start from.
    watermark = (timezone.now() - timedelta(hours=1)).replace(microsecond=0)
    Execution.objects.create(flow=flow, version=flow.current_version, status="Successful",
                             data_pull_start=watermark - timedelta(hours=1), data_pull_end=watermark)
    env = os.environ | {
        "DATABASE_URL": subprocess_database_url(),
        "SLUICE_READ_BLOCK_BYTES": "4096",  # small blocks: a slow read, so it is killed mid-run
        "SLUICE_HEARTBEAT_SECONDS": "0.2",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "console", "worker", "--pool", "solo", "--loglevel", "WARNING",
         "--without-heartbeat", "--without-mingle", "--without-gossip"],
        cwd=Path(settings.BASE_DIR), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        first = Execution.objects.get(pk=dispatcher.dispatch_due().started[0])
        assert first.data_pull_start == watermark
        wait(lambda: Execution.objects.filter(pk=first.pk, records_processed__gt=0).exists(), 60,
             "the worker to start reading")
        wait(lambda: Execution.objects.filter(pk=first.pk, heartbeat_at__isnull=False).exists(), 10,
             "a heartbeat")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    first.refresh_from_db()
    assert first.status == "InProgress"  # nobody is left to say otherwise...

    settings.SLUICE_LOST_AFTER_SECONDS = 1
    settings.SLUICE_RUN_ATTEMPTS = 1  # no attempt left: the run ends (test_fencing.py retries it)
    time.sleep(1.2)
    assert runner.mark_lost_executions() == 1  # ...but the reconciler does
    first.refresh_from_db()
    assert first.status == "Error" and "(worker lost)" in first.error_message

    # The next slot: its window starts where the lost one's did (the watermark did not move).
    flow.refresh_from_db()
    type(flow).objects.filter(pk=flow.pk).update(next_run_at=timezone.now() - timedelta(seconds=1))
    second = Execution.objects.get(pk=dispatcher.dispatch_due().started[0])
    assert second.data_pull_start == first.data_pull_start == watermark
    assert second.data_pull_end > first.data_pull_end

"""Real `celery worker` processes, frozen (SIGSTOP) or killed (SIGKILL) in the middle of a run into
Local files: a worker the reconciler gave up on publishes nothing when it wakes, and a lost worker's
run is tried again on another worker and ends Successful with every record exactly once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import subprocess_database_url
from flows import runner, services
from flows.models import Execution

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 20_000
# Seconds a 20,000-row attempt read in 4 KiB blocks may take to finish. `./sluice test` runs two
# test processes on two cores, each with its own Celery workers, so an attempt gets about half the
# CPU it had alone (50 s was too little on a busy machine); the wait ends as soon as the run does.
FINISH_WITHIN = 150


def wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def start_worker(settings, **env) -> subprocess.Popen:
    environment = os.environ | {
        "DATABASE_URL": subprocess_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "SLUICE_HEARTBEAT_SECONDS": "0.2",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "console", "worker", "--pool", "solo", "--loglevel", "WARNING",
         "--without-heartbeat", "--without-mingle", "--without-gossip"],
        cwd=Path(settings.BASE_DIR), env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGCONT)  # a frozen process cannot act on SIGKILL's cleanup
        worker.kill()
    worker.wait(timeout=30)


def freeze(worker: subprocess.Popen) -> None:
    """SIGSTOP the worker, but not in the middle of a write to a SQLite database: frozen there it
    would keep the database's write lock, and the reconciler (this test) could not write either. A
    PostgreSQL server finishes an autocommit statement without its client."""
    deadline = time.monotonic() + 10
    while True:
        worker.send_signal(signal.SIGSTOP)
        if not sqlite_write_locked() or time.monotonic() > deadline:
            return
        worker.send_signal(signal.SIGCONT)
        time.sleep(0.01)


def sqlite_write_locked() -> bool:
    from django.db import connection

    if connection.vendor != "sqlite":
        return False
    probe = sqlite3.connect(connection.settings_dict["NAME"], timeout=0.2)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.rollback()
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def reading(execution: Execution) -> None:
    """Until the worker holds the lease and has read records: a signal now lands mid-run."""
    wait(lambda: Execution.objects.filter(pk=execution.pk, records_processed__gt=0).exclude(lease="").exists(),
         60, "the worker to start reading")


def reconcile_until_handled(settings) -> None:
    settings.SLUICE_LOST_AFTER_SECONDS = 1
    wait(lambda: runner.mark_lost_executions() == 1, 20, "the reconciler to see the silent worker")


def outputs(folder: Path, execution: Execution) -> list[Path]:
    """The execution's published folder and any staging folder left for it."""
    return sorted(p for p in folder.iterdir() if str(execution.pk) in p.name) if folder.exists() else []


def test_a_frozen_worker_woken_after_the_reconciler_gave_up_publishes_nothing(demo, settings):
    from console.demo_data import write_accounts_csv

    write_accounts_csv(demo["csv"], rows=ROWS)
    settings.SLUICE_RUN_ATTEMPTS = 1  # the reconciler ends the run: Error, and nothing may appear
    worker = start_worker(settings, SLUICE_READ_BLOCK_BYTES="4096")  # small blocks: a slow read
    try:
        execution = services.start_flow(demo["flow"])
        reading(execution)
        freeze(worker)
        reconcile_until_handled(settings)
        execution.refresh_from_db()
        assert execution.status == "Error" and "(worker lost)" in execution.error_message

        worker.send_signal(signal.SIGCONT)
        wait(lambda: execution.log_lines.filter(level="WARNING", message__contains="Attempt 1 (worker").exists(),
             60, "the woken worker to find its lease gone")
        execution.refresh_from_db()
        assert execution.status == "Error" and execution.records_written == 0
        # Status and output agree: no output folder, and the worker removed what it had staged.
        assert outputs(demo["root"] / "out" / "accounts", execution) == []
        assert not execution.log_lines.filter(message__startswith="Done").exists()
        attempt = execution.attempts.get()
        assert (attempt.number, attempt.outcome) == (1, "Worker lost")
    finally:
        stop(worker)


def test_a_killed_workers_run_ends_successful_on_a_second_worker_with_every_record_once(demo, settings):
    from console.demo_data import write_accounts_csv

    write_accounts_csv(demo["csv"], rows=ROWS)
    settings.SLUICE_RUN_ATTEMPTS = 2
    settings.SLUICE_RETRY_BASE_SECONDS = 0.2
    first = start_worker(settings, SLUICE_READ_BLOCK_BYTES="4096")
    try:
        execution = services.start_flow(demo["flow"])
        reading(execution)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        stop(first)
    reconcile_until_handled(settings)
    execution.refresh_from_db()
    assert (execution.status, execution.attempt, execution.lease) == ("InProgress", 2, "")

    second = start_worker(settings)
    try:
        wait(lambda: Execution.objects.filter(pk=execution.pk, status__in=Execution.FINISHED).exists(), FINISH_WITHIN,
             "the second attempt to finish")
    finally:
        stop(second)
    execution.refresh_from_db()
    assert execution.status == "Successful", execution.error_message
    assert execution.records_written == ROWS
    folder = demo["root"] / "out" / "accounts"
    assert outputs(folder, execution) == [folder / str(execution.pk)]  # the killed attempt's staging is gone
    lines = (folder / str(execution.pk) / "part-00000.jsonl").read_text().splitlines()
    ids = [json.loads(line)["Id"] for line in lines]
    assert len(ids) == ROWS and len(set(ids)) == ROWS
    assert [(a.number, a.outcome) for a in execution.attempts.all()] == [(1, "Worker lost"), (2, "Successful")]
    assert execution.attempts.get(number=1).worker != "" and execution.attempts.get(number=2).finished_at


def test_a_frozen_worker_woken_while_its_replacement_runs_leaves_the_replacements_output_whole(demo, settings):
    """Both attempts run at once for a while: each stages apart, and only the lease holder publishes."""
    from console.demo_data import write_accounts_csv

    rows = ROWS
    write_accounts_csv(demo["csv"], rows=rows)
    settings.SLUICE_RUN_ATTEMPTS = 2
    settings.SLUICE_RETRY_BASE_SECONDS = 0.2
    frozen = start_worker(settings, SLUICE_READ_BLOCK_BYTES="4096")
    replacement = None
    try:
        execution = services.start_flow(demo["flow"])
        reading(execution)
        freeze(frozen)
        reconcile_until_handled(settings)
        replacement = start_worker(settings, SLUICE_READ_BLOCK_BYTES="4096")
        wait(lambda: Execution.objects.filter(pk=execution.pk, attempt=2, records_processed__gt=0)
             .exclude(lease="").exists(), 60, "the second attempt to start reading")
        # The replacement pauses too (it keeps its lease: only this test runs the reconciler), so
        # the first worker surely wakes up while the second attempt is under way.
        freeze(replacement)
        frozen.send_signal(signal.SIGCONT)
        wait(lambda: execution.log_lines.filter(level="WARNING", message__contains="Attempt 1 (worker").exists(),
             60, "the woken worker to find its lease gone")
        replacement.send_signal(signal.SIGCONT)
        wait(lambda: Execution.objects.filter(pk=execution.pk, status__in=Execution.FINISHED).exists(), FINISH_WITHIN,
             "the second attempt to finish")
    finally:
        stop(frozen)
        if replacement is not None:
            stop(replacement)
    execution.refresh_from_db()
    assert execution.status == "Successful" and execution.records_written == rows, execution.error_message
    folder = demo["root"] / "out" / "accounts"
    assert outputs(folder, execution) == [folder / str(execution.pk)]
    ids = [json.loads(line)["Id"] for line in (folder / str(execution.pk) / "part-00000.jsonl").open()]
    assert len(ids) == rows and len(set(ids)) == rows
    assert [(a.number, a.outcome) for a in execution.attempts.all()] == [(1, "Worker lost"), (2, "Successful")]
    fenced = execution.log_lines.get(message__contains="Attempt 1 (worker")
    done = execution.log_lines.get(message__startswith="Done")
    assert fenced.id < done.id, "the woken worker gave up while its replacement was still running"

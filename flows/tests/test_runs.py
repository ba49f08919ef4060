"""Runs end to end: a real Celery worker (in a thread) on the configured broker and database."""

from __future__ import annotations

import json
import re
import time

import pytest

from flows import runner, services
from flows.models import Execution

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(execution: Execution, done=lambda e: e.is_finished, timeout: float = 60) -> Execution:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution.refresh_from_db()
        if done(execution):
            return execution
        time.sleep(0.05)
    raise AssertionError(f"execution still {execution.status} after {timeout}s")


def output_rows(execution: Execution) -> list[dict]:
    files = sorted(p for p in execution_folder(execution).iterdir())
    return [json.loads(line) for f in files for line in f.read_text().splitlines()]


def execution_folder(execution: Execution):
    from pathlib import Path

    return Path(execution.output_location)


def test_demo_flow_runs_on_a_real_worker(celery_worker, demo):
    execution = services.start_flow(demo["flow"], user=None)
    assert execution.status == "InProgress"
    execution = wait_for(execution)

    assert execution.status == "Successful", execution.error_message
    assert execution.records_processed == 500
    assert execution.records_written == 500
    assert execution.record_failures == 0
    assert execution.bytes_processed == demo["csv"].stat().st_size
    assert execution.bytes_written > 0
    assert execution.started_at and execution.finished_at >= execution.started_at
    folder = execution_folder(execution)
    assert folder == demo["root"] / "out" / "accounts" / str(execution.id)
    assert execution.bytes_written == sum(p.stat().st_size for p in folder.iterdir())
    rows = output_rows(execution)
    import csv

    with demo["csv"].open(newline="") as f:
        expected = [{k: v if v != "" else None for k, v in row.items()} for row in csv.DictReader(f)]
    assert rows == expected  # a blank CSV cell is a null
    messages = list(execution.log_lines.values_list("message", flat=True))
    assert any("Queued" in m for m in messages)
    assert any("Started on worker" in m for m in messages)


def test_a_second_delivery_of_the_same_message_does_nothing(demo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        execution = services.start_flow(demo["flow"])
    runner.run_execution(str(execution.id), worker="first")
    execution.refresh_from_db()
    assert execution.status == "Successful"
    finished_at = execution.finished_at
    lines = execution.log_lines.count()

    runner.run_execution(str(execution.id), worker="second")
    execution.refresh_from_db()
    assert (execution.worker, execution.finished_at, execution.log_lines.count()) == ("first", finished_at, lines)
    assert len(list(execution_folder(execution).parent.iterdir())) == 1


def test_cancel_before_a_worker_starts_it(demo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        execution = services.start_flow(demo["flow"])
    assert services.cancel_executions(demo["flow"], [str(execution.id)]) == [str(execution.id)]
    runner.run_execution(str(execution.id), worker="w")
    execution.refresh_from_db()
    assert execution.status == "Canceled"
    assert not (demo["root"] / "out").exists()


def test_cancel_in_progress_stops_at_the_next_batch_and_keeps_what_was_written(
    celery_worker, demo, monkeypatch
):
    from console.demo_data import write_accounts_csv

    write_accounts_csv(demo["csv"], rows=300_000)
    monkeypatch.setenv("SLUICE_READ_BLOCK_BYTES", str(64 * 1024))
    execution = services.start_flow(demo["flow"])
    wait_for(execution, lambda e: e.records_processed > 0 or e.is_finished)
    services.cancel_executions(demo["flow"], [str(execution.id)])
    assert Execution.objects.get(pk=execution.pk).status in ("CancelStarted", "Canceled")
    execution = wait_for(execution)

    assert execution.status == "Canceled"
    assert 0 < execution.records_written < 300_000
    assert len(output_rows(execution)) == execution.records_written
    assert any("Cancel requested" in m for m in execution.log_lines.values_list("message", flat=True))


def test_a_run_that_fails_records_error_and_writes_nothing(celery_worker, demo):
    demo["csv"].unlink()
    execution = wait_for(services.start_flow(demo["flow"]))
    assert execution.status == "Error"
    assert "accounts.csv" in execution.error_message
    assert "Traceback" not in execution.error_message
    assert not (demo["root"] / "out" / "accounts").exists() or not any(
        (demo["root"] / "out" / "accounts").iterdir()
    )


def test_a_bad_csv_row_is_a_record_failure_and_the_run_goes_on(celery_worker, demo):
    lines = demo["csv"].read_text().splitlines(keepends=True)
    lines.insert(3, "only,three,columns\n")
    demo["csv"].write_text("".join(lines))
    execution = wait_for(services.start_flow(demo["flow"]))
    assert execution.status == "Successful", execution.error_message
    assert execution.record_failures == 1
    assert execution.records_written == 500
    assert any("line 4" in m for m in execution.log_lines.values_list("message", flat=True))
    # kept with the execution for its page, without the record itself
    assert execution.failure_sample == [
        {"where": "accounts.csv line 4", "reason": execution.failure_sample[0]["reason"]}]
    assert "column" in execution.failure_sample[0]["reason"] and execution.rejects_location == ""


def test_transform_counters_reach_the_execution_row_and_add_up(celery_worker, demo):
    document = demo["flow"].definition | {"flowName": "with-transforms"}
    operator = {"CustomConnector": "NO_OP"}
    document["tasks"] = document["tasks"] + [
        {
            "sourceFields": ["Industry"],
            "connectorOperator": {"CustomConnector": "EQUAL_TO"},
            "taskType": "Filter",
            "taskProperties": {"DATA_TYPE": "string", "VALUES": "Banking,Energy,Retail,Technology,Media"},
        },
        {
            "sourceFields": ["AnnualRevenue", "NumberOfEmployees"],
            "connectorOperator": {"CustomConnector": "DIVISION"},
            "destinationField": "RevenuePerEmployee",
            "taskType": "Arithmetic",
            "taskProperties": {"MATH_OPERATION_FIELDS_ORDER": "AnnualRevenue,NumberOfEmployees"},
        },
        {
            "sourceFields": ["Phone"],
            "connectorOperator": {"CustomConnector": "VALIDATE_NON_NEGATIVE"},
            "taskType": "Validate",
            "taskProperties": {"VALIDATION_ACTION": "DropRecord"},
        },
        {"sourceFields": ["Name"], "connectorOperator": operator, "taskType": "Truncate",
         "taskProperties": {"TRUNCATE_LENGTH": "5"}},
    ]
    flow = services.create_flow(document)
    execution = wait_for(services.start_flow(flow))
    assert execution.status == "Successful", execution.error_message
    assert execution.records_processed == 500
    assert execution.records_filtered > 0
    assert execution.records_dropped > 0  # phone numbers are not numbers
    assert execution.records_processed == (
        execution.records_written + execution.records_filtered + execution.records_dropped
        + execution.record_failures
    )
    rows = output_rows(execution)
    assert len(rows) == execution.records_written
    assert all(row["Industry"] in {"Banking", "Energy", "Retail", "Technology", "Media"} for row in rows)
    assert all(len(row["Name"]) <= 5 for row in rows)
    plan = next(m for m in execution.log_lines.values_list("message", flat=True) if m.startswith("Plan:"))
    assert "keep records where Industry is one of Banking, Energy" in plan
    assert plan.index("RevenuePerEmployee = AnnualRevenue ÷ NumberOfEmployees") < plan.index("truncate Name")


def test_drop_dataset_stops_the_run_naming_the_record(celery_worker, demo):
    document = demo["flow"].definition | {"flowName": "with-drop-dataset"}
    document["tasks"] = document["tasks"] + [
        {
            "sourceFields": ["Phone"],
            "connectorOperator": {"CustomConnector": "VALIDATE_NUMERIC"},
            "taskType": "Validate",
            "taskProperties": {"VALIDATION_ACTION": "DropDataset"},
        },
    ]
    execution = wait_for(services.start_flow(services.create_flow(document)))
    assert execution.status == "Error"
    # the console's words: the record's position and id, the field, the check as the wizard put it
    assert re.match(r'Record 1 of the source \(Id "[^"]+"\): Phone is "[^"]+", so the check "When Phone is not '
                    r'numeric: Stop the run" stopped the run\. Nothing was written\.', execution.error_message)
    assert "tasks[" not in execution.error_message and "DropDataset" not in execution.error_message
    assert not (demo["root"] / "out" / "accounts" / str(execution.pk)).exists()


def test_lost_executions_without_attempts_left_are_marked_error(demo, django_capture_on_commit_callbacks,
                                                                  settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.SLUICE_RUN_ATTEMPTS = 1
    with django_capture_on_commit_callbacks(execute=False):
        execution = services.start_flow(demo["flow"])
    long_ago = timezone.now() - timedelta(seconds=settings.SLUICE_LOST_AFTER_SECONDS + 5)
    Execution.objects.filter(pk=execution.pk).update(started_at=long_ago, updated_at=long_ago, lease="held")
    assert runner.mark_lost_executions() == 1
    execution.refresh_from_db()
    assert execution.status == "Error" and "worker lost" in execution.error_message


@pytest.mark.django_db(transaction=True)
def test_a_running_execution_beats_and_a_silent_one_is_marked_lost(demo, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.SLUICE_RUN_ATTEMPTS = 1
    execution = Execution.objects.create(flow=demo["flow"], version=demo["flow"].current_version, lease="held")
    with runner.Heartbeat(runner.Lease(execution), every=0.05):
        wait_for(execution, done=lambda e: e.heartbeat_at is not None, timeout=10)
    long_ago = timezone.now() - timedelta(seconds=settings.SLUICE_LOST_AFTER_SECONDS + 5)
    Execution.objects.filter(pk=execution.pk).update(started_at=long_ago, updated_at=long_ago)
    # Its heartbeat is recent: the worker is alive even though the counters have not moved.
    assert runner.mark_lost_executions() == 0
    Execution.objects.filter(pk=execution.pk).update(heartbeat_at=long_ago)
    assert runner.mark_lost_executions() == 1
    execution.refresh_from_db()
    assert execution.status == "Error" and "(worker lost)" in execution.error_message
    assert execution.log_lines.filter(level="ERROR", message__contains="worker lost").exists()


def test_a_run_no_worker_picked_up_is_queued_again(demo, settings, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from flows import queue

    sent = []
    monkeypatch.setattr(queue, "_send", lambda name, execution_id, **options: sent.append(execution_id))
    execution = Execution.objects.create(flow=demo["flow"], version=demo["flow"].current_version)
    assert runner.mark_lost_executions() == 0 and sent == []  # recent: it may just be waiting in line
    long_ago = timezone.now() - timedelta(seconds=settings.SLUICE_LOST_AFTER_SECONDS + 5)
    Execution.objects.filter(pk=execution.pk).update(updated_at=long_ago)
    runner.mark_lost_executions()
    assert sent == [str(execution.pk)]
    runner.mark_lost_executions()
    assert sent == [str(execution.pk)]  # not again until another while has passed
    assert execution.log_lines.filter(level="WARNING", message__contains="queued again").exists()

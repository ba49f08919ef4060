"""The dispatcher: due flows by one indexed query, one execution per slot even when dispatchers
race, skipped slots recorded, one catch-up run after downtime, schedules that end."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from flows import dispatcher, services
from flows.models import Execution, Flow, FlowActivity
from flows.tests.test_activation import scheduled_document

NOW = datetime(2026, 5, 4, 10, 0, 30, tzinfo=UTC)


def active_flow(name: str = "every-5", next_run: datetime = NOW - timedelta(seconds=30), **properties) -> Flow:
    properties.setdefault("scheduleExpression", "rate(5minutes)")
    properties.setdefault("scheduleStartTime", "2026-05-01T00:00:00Z")
    flow = services.create_flow(scheduled_document(name, **properties))
    Flow.objects.filter(pk=flow.pk).update(status=Flow.Status.ACTIVE, next_run_at=next_run, activated_at=next_run)
    flow.refresh_from_db()
    return flow


@pytest.fixture
def due(demo) -> Flow:
    return active_flow()


def test_a_due_flow_gets_one_execution_for_its_slot(due, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as enqueued:
        result = dispatcher.dispatch_due(NOW)
    execution = Execution.objects.get()
    assert result.started == [str(execution.pk)]
    assert execution.trigger == "Scheduled" and execution.status == "InProgress"
    assert execution.scheduled_for == datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    assert len(enqueued) == 1  # handed to a worker once committed
    due.refresh_from_db()
    assert due.next_run_at == datetime(2026, 5, 4, 10, 5, tzinfo=UTC)
    # Dispatched again at the same moment: nothing is due any more.
    assert dispatcher.dispatch_due(NOW).started == []


def test_flows_not_yet_due_or_not_active_are_left_alone(demo):
    active_flow("later", next_run=NOW + timedelta(seconds=1))
    stopped = active_flow("stopped")
    Flow.objects.filter(pk=stopped.pk).update(status=Flow.Status.SUSPENDED)
    assert dispatcher.dispatch_due(NOW).started == []
    assert not Execution.objects.exists()
    stopped.refresh_from_db()
    assert stopped.next_run_at is None  # a suspended flow drops out of the due index


def test_the_due_query_is_one_query_however_many_flows(demo, django_assert_num_queries):
    for index in range(5):
        active_flow(f"later-{index}", next_run=NOW + timedelta(minutes=1))
    with django_assert_num_queries(3) as captured:  # the query, in a transaction (here a savepoint)
        dispatcher.dispatch_due(NOW)
    sql = [query["sql"] for query in captured.captured_queries if "SAVEPOINT" not in query["sql"]]
    assert len(sql) == 1 and '"next_run_at" <=' in sql[0]


def test_a_batch_costs_the_same_queries_for_one_flow_or_many(demo, django_assert_max_num_queries):
    for index in range(30):
        active_flow(f"due-{index}")
    with django_assert_max_num_queries(12):
        assert len(dispatcher.dispatch_due(NOW).started) == 30


def test_a_slot_is_skipped_while_the_previous_run_goes_on(due):
    first = dispatcher.dispatch_due(NOW).started[0]
    later = NOW + timedelta(minutes=5)
    result = dispatcher.dispatch_due(later)
    skipped = Execution.objects.get(pk=result.skipped[0])
    assert skipped.status == "Skipped" and skipped.is_finished
    assert skipped.scheduled_for == datetime(2026, 5, 4, 10, 5, tzinfo=UTC)
    assert f"the previous run ({first}) was still in progress" in skipped.error_message
    assert skipped.log_lines.get().level == "WARNING"


def test_after_downtime_one_run_covers_the_gap(due):
    three_hours_later = NOW + timedelta(hours=3, seconds=10)
    result = dispatcher.dispatch_due(three_hours_later)
    assert len(result.started) == 1 and Execution.objects.count() == 1
    due.refresh_from_db()
    assert due.next_run_at == datetime(2026, 5, 4, 13, 5, tzinfo=UTC)  # the next slot after now


def test_one_execution_per_slot_even_if_next_run_at_is_reset(due):
    slot = due.next_run_at
    dispatcher.dispatch_due(NOW)
    # A second dispatcher that read the flow before the first moved it on, then wins the flow row:
    Flow.objects.filter(pk=due.pk).update(next_run_at=slot)
    result = dispatcher.dispatch_due(NOW)
    assert result.taken == 1 and result.started == []
    assert Execution.objects.filter(scheduled_for=slot).count() == 1


def test_the_database_refuses_two_executions_for_one_slot(due):
    Execution.objects.create(flow=due, version=due.current_version, scheduled_for=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        Execution.objects.create(flow=due, version=due.current_version, scheduled_for=NOW)


@pytest.mark.django_db(transaction=True)
def test_racing_dispatchers_make_one_execution_per_slot(demo):
    flows = [active_flow(f"race-{index}") for index in range(10)]
    barrier = threading.Barrier(4)
    results, errors = [], []

    def tick():
        try:
            barrier.wait(timeout=10)
            results.append(dispatcher.dispatch_due(NOW))
        except Exception as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    started = [execution for result in results for execution in result.started]
    assert len(started) == len(flows) == len(set(started))
    assert Execution.objects.count() == len(flows)
    assert sum(result.taken for result in results) + len(started) >= len(flows)


def test_a_schedule_that_ends_stops_dispatching(demo):
    flow = active_flow("ending", scheduleEndTime="2026-05-04T10:02:00Z")
    result = dispatcher.dispatch_due(NOW)
    assert len(result.started) == 1 and result.ended == 1
    flow.refresh_from_db()
    assert flow.next_run_at is None
    assert flow.activity.filter(action=FlowActivity.Action.SCHEDULE_ENDED).exists()


def test_cron_schedules_dispatch_in_their_time_zone(demo):
    flow = active_flow("paris-9am", scheduleExpression="cron(0 9 * * *)", timezone="Europe/Paris",
                       next_run=datetime(2026, 5, 4, 7, 0, tzinfo=UTC))
    dispatcher.dispatch_due(datetime(2026, 5, 4, 7, 0, 1, tzinfo=UTC))
    flow.refresh_from_db()
    assert flow.next_run_at == datetime(2026, 5, 5, 7, 0, tzinfo=UTC)  # 09:00 CEST


def test_the_beat_schedule_ticks_the_dispatcher_on_its_own_queue(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["dispatch-schedules"]
    assert entry["task"] == "flows.tasks.dispatch_schedules"
    assert entry["schedule"] <= timedelta(seconds=2)
    assert settings.CELERY_TASK_ROUTES[entry["task"]]["queue"] == settings.SLUICE_CONTROL_QUEUE


def test_activation_puts_the_flow_on_the_dispatchers_list(demo):
    flow = services.create_flow(scheduled_document("activated"))
    services.activate_flow(flow)
    result = dispatcher.dispatch_due(timezone.now() + timedelta(seconds=1))
    assert len(result.started) == 1

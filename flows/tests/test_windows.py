"""Incremental windows across success / failure / success, the offset, the first pull, and
auto-deactivation after flowErrorDeactivationThreshold failed runs in a row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flows import dispatcher
from flows.after_run import after_run
from flows.models import Execution, Flow, FlowActivity
from flows.tests.test_dispatcher import active_flow

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def tick(at: datetime) -> Execution:
    result = dispatcher.dispatch_due(at)
    assert len(result.started) == 1, result
    return Execution.objects.get(pk=result.started[0])


def end(execution: Execution, status: str, message: str = "") -> None:
    Execution.objects.filter(pk=execution.pk).update(status=status, error_message=message, finished_at=T0)
    after_run(execution.pk)


def window(execution: Execution) -> tuple[datetime, datetime]:
    return execution.data_pull_start, execution.data_pull_end


def test_windows_follow_the_last_successful_run_minus_the_offset(demo):
    offset = timedelta(minutes=10)
    active_flow("incremental", next_run=T0, scheduleExpression="rate(1hours)",
                scheduleStartTime="2026-05-04T10:00:00Z", dataPullMode="Incremental",
                scheduleOffset=600, firstExecutionFrom="2026-05-01T00:00:00Z")
    first = tick(T0)
    assert window(first) == (datetime(2026, 5, 1, tzinfo=UTC), T0 - offset)
    end(first, "Successful")

    second = tick(T0 + HOUR)
    assert window(second) == (T0 - offset, T0 + HOUR - offset)
    end(second, "Error", "The source timed out.")

    # The failed run did not move the watermark: the next one covers its window too.
    third = tick(T0 + 2 * HOUR)
    assert window(third) == (T0 - offset, T0 + 2 * HOUR - offset)
    end(third, "Successful")

    fourth = tick(T0 + 3 * HOUR)
    assert window(fourth) == (T0 + 2 * HOUR - offset, T0 + 3 * HOUR - offset)
    assert "Data pull window: 2026-05-04 11:50:00 UTC to 2026-05-04 12:50:00 UTC." in [
        line.message for line in fourth.log_lines.all()
    ]


def test_the_first_pull_defaults_to_30_days(demo):
    active_flow("first-pull", next_run=T0, scheduleExpression="rate(1hours)", dataPullMode="Incremental")
    assert window(tick(T0)) == (T0 - timedelta(days=30), T0)


def test_complete_mode_has_no_window(demo):
    active_flow("complete", next_run=T0, dataPullMode="Complete")
    assert window(tick(T0)) == (None, None)


def test_deactivated_after_the_threshold_of_failed_runs_in_a_row(demo):
    flow = active_flow("fragile", next_run=T0, scheduleExpression="rate(1hours)",
                       scheduleStartTime="2026-05-04T10:00:00Z", flowErrorDeactivationThreshold=3)
    end(tick(T0), "Error", "Boom.")
    end(tick(T0 + HOUR), "Successful")  # a success resets the count
    end(tick(T0 + 2 * HOUR), "Error", "Boom.")
    end(tick(T0 + 3 * HOUR), "Error", "Boom.")
    flow.refresh_from_db()
    assert flow.status == Flow.Status.ACTIVE
    end(tick(T0 + 4 * HOUR), "Error", "The connection was refused.")
    flow.refresh_from_db()
    assert flow.status == Flow.Status.ERRORED and flow.next_run_at is None
    assert "after 3 failed runs in a row" in flow.status_message
    assert "The connection was refused." in flow.status_message
    assert flow.activity.filter(action=FlowActivity.Action.AUTO_DEACTIVATED).count() == 1
    assert dispatcher.dispatch_due(T0 + 5 * HOUR).started == []


def test_on_demand_failures_never_deactivate(demo):
    flow = demo["flow"]
    for _ in range(6):
        execution = Execution.objects.create(flow=flow, version=flow.current_version)
        end(execution, "Error", "Boom.")
    flow.refresh_from_db()
    assert flow.status == Flow.Status.ACTIVE

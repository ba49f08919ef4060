"""The lease of an execution's attempt (flows/runner.py), in one process: who may claim, publish and
record the outcome; what the reconciler does with a lost run; what the counters say after a failure.
The same with real, frozen and killed worker processes: test_fencing.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from connections.connectors import fencing
from flows import runner, services
from flows.engine import Counters
from flows.models import Execution

pytestmark = pytest.mark.django_db


def queued(demo, django_capture_on_commit_callbacks) -> Execution:
    with django_capture_on_commit_callbacks(execute=False):
        return services.start_flow(demo["flow"])


def silent(execution: Execution, settings) -> None:
    long_ago = timezone.now() - timedelta(seconds=settings.SLUICE_LOST_AFTER_SECONDS + 5)
    Execution.objects.filter(pk=execution.pk).update(heartbeat_at=long_ago, updated_at=long_ago)


@pytest.fixture
def sent(monkeypatch):
    from flows import queue

    messages = []

    def send(name, *args, kwargs=None, countdown=None):
        if name == queue.RUN_EXECUTION and kwargs:  # a retry's message, not the first run's
            messages.append((args, kwargs, countdown))

    monkeypatch.setattr(queue, "_send", send)
    return messages


def test_an_attempt_is_claimed_once_and_only_by_a_message_for_it(demo, django_capture_on_commit_callbacks):
    execution = queued(demo, django_capture_on_commit_callbacks)
    assert runner.claim(str(execution.pk), "w1", attempt=2) is None  # not this attempt's message
    claimed = runner.claim(str(execution.pk), "w1", attempt=1)
    assert claimed is not None and claimed.lease and claimed.attempt == 1
    assert runner.claim(str(execution.pk), "w2") is None  # a second delivery
    attempt = claimed.attempts.get()
    assert (attempt.number, attempt.worker, attempt.outcome) == (1, "w1", "")


def test_a_lost_run_with_attempts_left_is_tried_again_and_the_old_holder_is_fenced_out(
        demo, django_capture_on_commit_callbacks, settings, sent, client, owner):
    settings.SLUICE_RUN_ATTEMPTS = 2
    execution = queued(demo, django_capture_on_commit_callbacks)
    claimed = runner.claim(str(execution.pk), "frozen-worker")
    old = runner.Lease(claimed)
    assert old.renew()
    silent(execution, settings)

    assert runner.mark_lost_executions() == 1
    execution.refresh_from_db()
    assert (execution.status, execution.attempt, execution.lease) == ("InProgress", 2, "")
    [(args, kwargs, countdown)] = sent
    assert args == (str(execution.pk),) and kwargs == {"attempt": 2} and countdown > 0
    assert execution.log_lines.filter(level="WARNING", message__contains="Attempt 2 of 2 starts in").exists()
    # The frozen worker wakes: it may not publish, nor beat, nor record an outcome.
    assert not old.renew()
    with fencing.held(1, old.renew), pytest.raises(fencing.LeaseLost):
        fencing.before_publish()
    assert not runner.finish(claimed, "Successful", Counters(records_written=500), lease=old)
    assert runner.mark_lost_executions() == 0  # waiting for its message, not lost

    runner.run_execution(str(execution.pk), worker="second-worker", attempt=2)
    execution.refresh_from_db()
    assert execution.status == "Successful" and execution.records_written == 500
    assert [(a.number, a.worker, a.outcome) for a in execution.attempts.all()] == [
        (1, "frozen-worker", "Worker lost"), (2, "second-worker", "Successful")]

    client.force_login(owner)
    page = client.get(f"/flows/{demo['flow'].name}/executions/{execution.pk}/").content.decode()
    assert 'id="attempts"' in page and "frozen-worker" in page and "Worker lost" in page
    assert 'data-attempt="2"' in page


def test_a_lost_run_without_attempts_left_ends_in_error_having_written_nothing(
        demo, django_capture_on_commit_callbacks, settings, sent):
    settings.SLUICE_RUN_ATTEMPTS = 2
    execution = queued(demo, django_capture_on_commit_callbacks)
    Execution.objects.filter(pk=execution.pk).update(attempt=2)
    claimed = runner.claim(str(execution.pk), "w")
    Execution.objects.filter(pk=execution.pk).update(records_written=1234)  # handed over, not committed
    silent(execution, settings)
    assert runner.mark_lost_executions() == 1 and sent == []
    execution.refresh_from_db()
    assert execution.status == "Error" and "on each of its 2 attempts" in execution.error_message
    assert execution.records_written == 0
    assert not runner.Lease(claimed).renew()


def test_a_single_attempt_page_shows_no_attempts_table(demo, django_capture_on_commit_callbacks, client, owner):
    execution = queued(demo, django_capture_on_commit_callbacks)
    runner.run_execution(str(execution.pk), worker="w")
    client.force_login(owner)
    page = client.get(f"/flows/{demo['flow'].name}/executions/{execution.pk}/").content.decode()
    assert 'id="attempts"' not in page


def test_a_run_that_failed_after_handing_records_over_says_none_were_written(
        demo, django_capture_on_commit_callbacks, monkeypatch):
    """The destination discards a failed run's records: the counters must not say otherwise."""
    def half_then_broken(*args, on_progress, **kwargs):
        on_progress(Counters(records_processed=146_044, records_written=146_044, bytes_written=9_000_000))
        raise RuntimeError("the worker hit a bug")

    monkeypatch.setattr(runner, "run_flow", half_then_broken)
    execution = queued(demo, django_capture_on_commit_callbacks)
    runner.run_execution(str(execution.pk), worker="w")
    execution.refresh_from_db()
    assert execution.status == "Error" and "Nothing was written" in execution.error_message
    assert (execution.records_processed, execution.records_written, execution.bytes_written) == (146_044, 0, 0)

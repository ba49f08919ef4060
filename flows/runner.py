"""What a worker does with an execution id: claim it, run the engine, record the outcome."""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django import db
from django.conf import settings
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from connections.connectors import apicalls, fencing
from connections.connectors.base import ConnectorError, Window
from connections.retry import backoff_delay
from flows import after_run, notifications, queue, salesforce_events, services
from flows.engine import Counters, RunError, run_flow
from flows.models import Execution, ExecutionAttempt
from flows.run_endpoints import endpoint, rejects_endpoint

logger = logging.getLogger(__name__)
S = Execution.Status
# How often, at most, a running execution writes its counters and looks for a cancel request.
REPORT_EVERY_SECONDS = 0.5


def claim(execution_id: str, worker: str, attempt: int | None = None) -> Execution | None:
    """Take the execution's current attempt for this worker, once: a second delivery of the same
    message finds it claimed and does nothing. `attempt` (the message's) must be the current one, so
    an old message cannot start a retry before its back-off. The claim makes this worker the lease
    holder (`execution.lease`); the attempt is recorded for the execution page. A cancel that
    arrived before any worker did is finished here."""
    now = timezone.now()
    unclaimed = Execution.objects.filter(pk=execution_id, lease="")
    if attempt is not None:
        unclaimed = unclaimed.filter(attempt=attempt)
    first_start = Coalesce(F("started_at"), Value(now))
    if unclaimed.filter(status=S.CANCEL_STARTED).update(status=S.CANCELED, started_at=first_start,
                                                         finished_at=now):
        return None
    token = uuid.uuid4().hex
    if not unclaimed.filter(status=S.IN_PROGRESS).update(started_at=first_start, worker=worker, lease=token,
                                                         heartbeat_at=now, updated_at=now):
        return None
    execution = Execution.objects.select_related("version", "flow").get(pk=execution_id)
    ExecutionAttempt.objects.create(execution=execution, number=execution.attempt, worker=worker,
                                    started_at=now)
    return execution


class Lease:
    """The claimed attempt's right to write to the execution row and to publish. It holds while the
    row still names this attempt and token and the run is not finished: the reconciler takes it
    away by moving a silent execution to a new attempt (or to Error), and everything this worker
    writes afterwards (counters, heartbeat, outcome, the destination's commit) is refused."""

    def __init__(self, execution: Execution):
        self.execution_id, self.attempt, self.token = execution.pk, execution.attempt, execution.lease

    def rows(self):
        return Execution.objects.filter(pk=self.execution_id, attempt=self.attempt, lease=self.token,
                                        status__in=[S.IN_PROGRESS, S.CANCEL_STARTED])

    def renew(self) -> bool:
        """True while this attempt holds the lease; holding it, the heartbeat moves on too, so the
        reconciler waits a whole SLUICE_LOST_AFTER_SECONDS before it may take the lease away: the
        commit that follows this check has that long."""
        return bool(self.rows().update(heartbeat_at=timezone.now()))


def counters_fields(counters: Counters) -> dict:
    return {
        "records_processed": counters.records_processed,
        "records_written": counters.records_written,
        "record_failures": counters.record_failures,
        "bytes_processed": counters.bytes_processed,
        "bytes_written": counters.bytes_written,
        "records_filtered": counters.records_filtered,
        "records_dropped": counters.records_dropped,
    }


def api_call_fields() -> dict:
    """The API calls of the run so far (every attempt: the service counted each), for the row."""
    meter = apicalls.current()
    if meter is None:
        return {}
    return {"source_api_calls": meter.source, "destination_api_calls": meter.destination,
            "token_refreshes": meter.token_refreshes}


def finish(execution: Execution, status: str, counters: Counters | None, message: str = "", location="",
           rejects_location: str = "", lease: Lease | None = None) -> bool:
    """Record the outcome; False when it could not be (this attempt lost its lease, or the row is
    gone or finished). Without counters (an unexpected error), nothing is written: a destination
    discards what it staged on every failure, so the written counters go back to 0."""
    now = timezone.now()
    fields = {"status": status, "finished_at": now, "updated_at": now, **api_call_fields()}
    if counters is not None:
        fields.update(counters_fields(counters))
        fields["failure_sample"] = counters.failure_sample()
    elif status != S.SUCCESSFUL:
        fields.update(records_written=0, bytes_written=0)
    if rejects_location:
        fields["rejects_location"] = rejects_location
    if message:
        fields["error_message"] = message
    if location:
        fields["output_location"] = location
    rows = lease.rows() if lease is not None else Execution.objects.filter(pk=execution.pk)
    # A row deleted meanwhile (forced flow delete) simply updates nothing.
    if not rows.exclude(status__in=Execution.FINISHED).update(**fields):
        return False
    attempt = lease.attempt if lease is not None else execution.attempt
    ExecutionAttempt.objects.filter(execution_id=execution.pk, number=attempt).update(finished_at=now,
                                                                                     outcome=status)
    return True


class Heartbeat:
    """Renews the lease (heartbeat_at) every few seconds from a thread of its own, so a source that
    takes minutes over one batch still shows it is alive; a killed worker stops writing and the
    reconciler notices. It stops once the lease is gone: a frozen worker that wakes up must not
    keep alive the attempt that replaced it."""

    def __init__(self, lease: Lease, every: float):
        self.lease, self.every = lease, every
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.beat, name=f"heartbeat-{lease.execution_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        self.thread.join(timeout=self.every + 5)

    def beat(self) -> None:
        try:
            while not self.stopped.wait(self.every):
                try:
                    if not self.lease.renew():
                        return
                except Exception:  # a busy database now and then is not a reason to stop beating
                    logger.warning("Heartbeat of execution %s not written", self.lease.execution_id,
                                   exc_info=True)
        finally:
            db.connections.close_all()  # this thread's own connection


def run_execution(execution_id: str, worker: str = "", attempt: int | None = None) -> None:
    execution = claim(execution_id, worker, attempt)
    if execution is None:
        return
    lease = Lease(execution)
    if execution.attempt == 1:
        services.log(execution, f"Started on worker {worker or 'local'}.")
        _quietly(notifications.run_started, execution)
    else:
        services.log(execution, f"Attempt {execution.attempt} started on worker {worker or 'local'}, "
                                "from the start of the data.")
    recorded = False
    try:
        with Heartbeat(lease, settings.SLUICE_HEARTBEAT_SECONDS):
            recorded = _run(execution, lease)
    finally:
        # A fenced attempt's outcome is not the run's: the attempt that replaced it (or the
        # reconciler) ends the run and says so.
        if recorded:
            _finished(execution.pk)


def _finished(execution_id) -> None:
    """The guardrails (which may fail the run), the end event, then auto-deactivation and its event.
    First, a successful run's Salesforce events are committed: the subscription resumes after them."""
    _quietly(salesforce_events.commit_replay, execution_id)
    _quietly(after_run.check_guardrails, execution_id)
    _quietly(notifications.run_ended, execution_id)
    _quietly(after_run.deactivate_if_failing, execution_id)


def _quietly(step, *args) -> None:
    # Telling people about a run must never change how the run ended.
    try:
        step(*args)
    except Exception:
        logger.exception("%s failed for %s", getattr(step, "__name__", step), args)


def _run(execution: Execution, lease: Lease) -> bool:
    """Run the attempt; True when its outcome was recorded (False: it lost its lease)."""
    last_report = [0.0]

    def due() -> bool:
        if time.monotonic() - last_report[0] < REPORT_EVERY_SECONDS:
            return False
        last_report[0] = time.monotonic()
        return True

    def should_cancel() -> bool:
        status = Execution.objects.filter(pk=execution.pk).values_list("status", flat=True).first()
        return status in (None, S.CANCEL_STARTED)

    def on_progress(counters: Counters) -> None:
        if due():
            lease.rows().update(updated_at=timezone.now(), **counters_fields(counters), **api_call_fields())

    def log(level: str, message: str) -> None:
        services.log(execution, message, level)

    document = execution.version.definition
    pull = document["sourceFlowConfig"].get("incrementalPullConfig") or {}
    window = Window(execution.data_pull_start, execution.data_pull_end, pull.get("datetimeTypeFieldName"))
    from flows.reprocess import run_options  # quotas and rejected-records retries (issue 12)
    hooks = {"should_cancel": should_cancel, "on_progress": on_progress, "log": log,
             "attempt": lease.attempt, "holds_lease": lease.renew, **run_options(execution)}
    retries = execution.flow.transient_retries
    # Every HTTP request of the run, token refreshes before it included, is counted into this.
    # _finish logs its total just before the run shows as finished.
    with apicalls.metering(apicalls.ApiCalls()):
        for attempt in itertools.count(1):
            failure = _attempt(execution, document, window, hooks, lease)
            if failure is None:
                return True
            if isinstance(failure, fencing.LeaseLost):
                return False
            if attempt <= retries and _wait_to_retry(failure, attempt, retries, log, should_cancel):
                continue  # the destination discarded the failed attempt: the next one starts clean
            log("ERROR", failure.message)
            return _finish(execution, lease, S.ERROR, getattr(failure, "counters", None), failure.message)
    return False  # unreachable: the loop returns


def _finish(execution: Execution, lease: Lease, status: str, counters, message: str = "", **where) -> bool:
    # The run's API calls go in its log before it shows as finished: whoever reads a finished
    # run (a person, a test, the API) finds the whole log.
    meter = apicalls.current()
    if meter is not None and meter.total:
        services.log(execution, meter.describe())
    if finish(execution, status, counters, message, lease=lease, **where):
        return True
    _fenced(execution, lease)
    return False


def _fenced(execution: Execution, lease: Lease) -> None:
    services.log(execution, f"Attempt {lease.attempt} (worker {execution.worker or 'local'}) stopped: the "
                            "execution was given up on while this worker was silent, so nothing this attempt "
                            "wrote was published and its outcome is not the run's.", "WARNING")


def _attempt(execution: Execution, document: dict, window: Window, hooks: dict, lease: Lease):
    """Run once and record the outcome; a transient failure is returned instead, to be retried,
    and so is fencing.LeaseLost (nothing is recorded then)."""
    log = hooks["log"]
    try:
        source = endpoint(document["sourceFlowConfig"])
        destination = endpoint(document["destinationFlowConfigList"][0])
        rejects = rejects_endpoint(document["destinationFlowConfigList"][0], destination)
        result = run_flow(document, source, destination, execution_id=str(execution.pk), window=window,
                          rejects=rejects, **hooks)
    except fencing.LeaseLost as exc:
        _fenced(execution, lease)
        return exc
    except (RunError, ConnectorError) as exc:
        transient = exc.retryable if isinstance(exc, RunError) else not exc.permanent
        if transient:
            return exc
        log("ERROR", exc.message)
        if not _finish(execution, lease, S.ERROR, getattr(exc, "counters", None), exc.message):
            return fencing.LeaseLost(lease.attempt)
    except SoftTimeLimitExceeded:
        limit = settings.CELERY_TASK_TIME_LIMIT
        message = f"The run took longer than the time limit ({limit} s) and was stopped."
        log("ERROR", message)
        if not _finish(execution, lease, S.ERROR, None, message):
            return fencing.LeaseLost(lease.attempt)
    except Exception:
        logger.exception("Execution %s failed", execution.pk)
        message = (
            f"Sluice hit an unexpected error while running this flow (execution {execution.pk}). "
            "Nothing was written. The details are in the worker log."
        )
        log("ERROR", message)
        if not _finish(execution, lease, S.ERROR, None, message):
            return fencing.LeaseLost(lease.attempt)
    else:
        status = S.CANCELED if result.status == "Canceled" else S.SUCCESSFUL
        if not _finish(execution, lease, status, result.counters, location=result.location,
                       rejects_location=result.rejects_location):
            return fencing.LeaseLost(lease.attempt)
    return None


def _wait_to_retry(exc, attempt: int, retries: int, log, should_cancel) -> bool:
    """Sleep before retrying a transient failure (backoff with jitter, at least the source's
    Retry-After); False when a cancel request arrives meanwhile."""
    delay = backoff_delay(attempt, base=settings.SLUICE_RETRY_BASE_SECONDS,
                          cap=settings.SLUICE_RETRY_CAP_SECONDS, retry_after=exc.retry_after)
    log("WARNING", f"{exc.message} This looks temporary: retry {attempt} of {retries} in {delay:.1f} s.")
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline:
        if should_cancel():
            return False
        time.sleep(min(0.5, max(deadline - time.monotonic(), 0)))
    return True


def mark_lost_executions() -> int:
    """The reconciler: an execution whose worker stopped beating for SLUICE_LOST_AFTER_SECONDS
    ("worker lost") gets a new attempt, from the start, after a back-off, while it has attempts
    left (SLUICE_RUN_ATTEMPTS); then it is marked Error, so nothing stays InProgress forever. Either
    way the silent worker's lease is gone: should it wake up, it publishes nothing. Returns how many
    lost executions it handled."""
    lost_after = settings.SLUICE_LOST_AFTER_SECONDS
    cutoff = timezone.now() - timedelta(seconds=lost_after)
    silent = (Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)) & Q(updated_at__lt=cutoff)
    running = [S.IN_PROGRESS, S.CANCEL_STARTED]
    lost = Execution.objects.filter(silent, status__in=running).exclude(lease="")
    handled = 0
    for execution_id, attempt, lease, status in list(lost.values_list("pk", "attempt", "lease", "status")):
        # One at a time, conditionally on the lease: a worker that comes back and finishes meanwhile wins.
        held = Execution.objects.filter(pk=execution_id, attempt=attempt, lease=lease, status=status)
        if status == S.IN_PROGRESS and attempt < settings.SLUICE_RUN_ATTEMPTS:
            handled += _retry(held, execution_id, attempt)
            continue
        message = (
            f"The worker running this execution stopped reporting for over {lost_after} seconds (worker "
            f"lost){_tries(attempt)}. Nothing it wrote was published; run the flow again (a scheduled "
            "flow's next run covers this window)."
        )
        if held.update(status=S.ERROR, error_message=message, finished_at=timezone.now(),
                       records_written=0, bytes_written=0, updated_at=F("updated_at")):
            handled += 1
            _attempt_ended(execution_id, attempt, "Worker lost")
            services.log(Execution(pk=execution_id), message, "ERROR")
            _finished(execution_id)
    _requeue_unclaimed()
    return handled


def _tries(attempt: int) -> str:
    return f", on each of its {attempt} attempts" if attempt > 1 else ""


def _retry(held, execution_id, attempt: int) -> int:
    """Give a lost execution its next attempt: the old lease holder is fenced out from here on."""
    following = attempt + 1
    delay = backoff_delay(attempt, base=settings.SLUICE_RETRY_BASE_SECONDS,
                          cap=settings.SLUICE_RETRY_CAP_SECONDS)
    # updated_at is when the attempt is due: _requeue_unclaimed gives its message a whole
    # SLUICE_LOST_AFTER_SECONDS from then before it sends another (which would skip the back-off).
    due = timezone.now() + timedelta(seconds=delay)
    if not held.update(attempt=following, lease="", heartbeat_at=None, records_written=0, bytes_written=0,
                       updated_at=due):
        return 0
    _attempt_ended(execution_id, attempt, "Worker lost")
    services.log(
        Execution(pk=execution_id),
        f"The worker running attempt {attempt} stopped reporting for over "
        f"{settings.SLUICE_LOST_AFTER_SECONDS} seconds (worker lost); nothing it wrote was published. "
        f"Attempt {following} of "
        f"{settings.SLUICE_RUN_ATTEMPTS} starts in {delay:.1f} s, from the start of the data.",
        "WARNING",
    )
    queue.run_execution(execution_id, attempt=following, countdown=delay)
    return 1


def _attempt_ended(execution_id, number: int, outcome: str) -> None:
    ended = ExecutionAttempt.objects.filter(execution_id=execution_id, number=number)
    ended.filter(finished_at__isnull=True).update(finished_at=timezone.now(), outcome=outcome)


def _requeue_unclaimed() -> int:
    """Executions no worker has picked up for a while (a lost message, or a dispatcher that died
    between commit and publish, or a retry's message lost) are sent again; a duplicate delivery is
    harmless (an attempt is claimed once). A cancel requested meanwhile is finished by the claim."""
    cutoff = timezone.now() - timedelta(seconds=settings.SLUICE_LOST_AFTER_SECONDS)
    waiting = list(
        Execution.objects.filter(status__in=[S.IN_PROGRESS, S.CANCEL_STARTED], lease="",
                                 updated_at__lt=cutoff)
        .values_list("pk", flat=True)[:1000]
    )
    for execution_id in waiting:
        # updated_at moves on, so the next pass waits as long again before another try.
        Execution.objects.filter(pk=execution_id).update(updated_at=timezone.now())
        services.log(Execution(pk=execution_id), "No worker had picked this run up yet: queued again.",
                     "WARNING")
        queue.run_execution(execution_id)
    return len(waiting)

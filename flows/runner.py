"""What a worker does with an execution id: claim it, run the engine, record the outcome."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django import db
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from connections.connectors import apicalls
from connections.connectors import rejects as rejected
from connections.connectors.base import ConnectionInfo, ConnectorError, Window
from connections.connectors.registry import get_connector, resolve_key
from connections.models import Connection
from connections.oauth.tokens import runtime_info
from connections.retry import backoff_delay
from flows import notifications, services
from flows.engine import Counters, Endpoint, RunError, run_flow
from flows.models import Execution

logger = logging.getLogger(__name__)
S = Execution.Status
# How often, at most, a running execution writes its counters and looks for a cancel request.
REPORT_EVERY_SECONDS = 0.5


def endpoint(config: dict) -> Endpoint:
    key = resolve_key(config["connectorType"], config.get("connectorLabel"))
    name = config.get("connectorProfileName")
    if name:
        connection = Connection.objects.filter(name=name).first()
        if connection is None:
            raise ConnectorError(f'The connection "{name}" no longer exists. Create it again, then rerun.')
        info = runtime_info(connection)  # OAuth tokens refreshed before they expire
    else:
        info = ConnectionInfo(name="", connector_type=config["connectorType"], label=key)
    return Endpoint(connector=get_connector(key), connection=info)


def rejects_endpoint(destination_config: dict, destination: Endpoint) -> Endpoint | None:
    """Where refused records go (see connections/connectors/rejects.py), or None."""
    props = next(iter((destination_config.get("destinationConnectorProperties") or {}).values()), None)
    config = props.get("errorHandlingConfig") if isinstance(props, dict) else None
    if not rejected.wanted(config):
        return None
    name = config.get("connectorProfileName")
    if name:
        connection = Connection.objects.filter(name=name).first()
        if connection is None or connection.connector_key not in rejected.REJECT_CONNECTORS:
            raise ConnectorError(
                f'errorHandlingConfig.connectorProfileName: "{name}" is not an S3 or Local files connection.'
            )
        return Endpoint(get_connector(connection.connector_key), connection.info())
    if destination.connector.key() in rejected.REJECT_CONNECTORS:
        return destination
    return Endpoint(get_connector("S3"), ConnectionInfo(name="", connector_type="S3"))


def claim(execution_id: str, worker: str) -> Execution | None:
    """Take the execution for this worker, once: a second delivery of the same message finds it
    claimed and does nothing. A cancel that arrived before any worker did is finished here."""
    now = timezone.now()
    unclaimed = Execution.objects.filter(pk=execution_id, started_at__isnull=True)
    if unclaimed.filter(status=S.CANCEL_STARTED).update(status=S.CANCELED, started_at=now, finished_at=now):
        return None
    if not unclaimed.filter(status=S.IN_PROGRESS).update(started_at=now, worker=worker, updated_at=now):
        return None
    return Execution.objects.select_related("version", "flow").get(pk=execution_id)


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
           rejects_location: str = ""):
    fields = {"status": status, "finished_at": timezone.now(), "updated_at": timezone.now(),
              **api_call_fields()}
    if counters is not None:
        fields.update(counters_fields(counters))
        fields["failure_sample"] = counters.failure_sample()
    if rejects_location:
        fields["rejects_location"] = rejects_location
    if message:
        fields["error_message"] = message
    if location:
        fields["output_location"] = location
    # A row deleted meanwhile (forced flow delete) simply updates nothing.
    Execution.objects.filter(pk=execution.pk).exclude(status__in=Execution.FINISHED).update(**fields)


class Heartbeat:
    """Writes heartbeat_at every few seconds from a thread of its own, so a source that takes
    minutes over one batch still shows it is alive; a killed worker stops writing and the
    reconciler notices."""

    def __init__(self, execution_id, every: float):
        self.execution_id, self.every = execution_id, every
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.beat, name=f"heartbeat-{execution_id}", daemon=True)

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
                    Execution.objects.filter(pk=self.execution_id).update(heartbeat_at=timezone.now())
                except Exception:  # a busy database now and then is not a reason to stop beating
                    logger.warning("Heartbeat of execution %s not written", self.execution_id, exc_info=True)
        finally:
            db.connections.close_all()  # this thread's own connection


def run_execution(execution_id: str, worker: str = "") -> None:
    execution = claim(execution_id, worker)
    if execution is None:
        return
    services.log(execution, f"Started on worker {worker or 'local'}.")
    _quietly(notifications.run_started, execution)
    try:
        with Heartbeat(execution.pk, settings.SLUICE_HEARTBEAT_SECONDS):
            _run(execution)
    finally:
        _finished(execution.pk)


def _finished(execution_id) -> None:
    """The end event, then what follows a run (auto-deactivation and its event)."""
    _quietly(notifications.run_ended, execution_id)
    _quietly(services.after_run, execution_id)


def _quietly(step, *args) -> None:
    # Telling people about a run must never change how the run ended.
    try:
        step(*args)
    except Exception:
        logger.exception("%s failed for %s", getattr(step, "__name__", step), args)


def _run(execution: Execution) -> None:
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
            Execution.objects.filter(pk=execution.pk).update(
                updated_at=timezone.now(), **counters_fields(counters), **api_call_fields()
            )

    def log(level: str, message: str) -> None:
        services.log(execution, message, level)

    document = execution.version.definition
    pull = document["sourceFlowConfig"].get("incrementalPullConfig") or {}
    window = Window(execution.data_pull_start, execution.data_pull_end, pull.get("datetimeTypeFieldName"))
    from flows.reprocess import run_options  # quotas and rejected-records retries (issue 12)
    hooks = {"should_cancel": should_cancel, "on_progress": on_progress, "log": log, **run_options(execution)}
    retries = execution.flow.transient_retries
    # Every HTTP request of the run, token refreshes before it included, is counted into this.
    with apicalls.metering(apicalls.ApiCalls()) as meter:
        try:
            for attempt in itertools.count(1):
                failure = _attempt(execution, document, window, hooks)
                if failure is None:
                    return
                if attempt <= retries and _wait_to_retry(failure, attempt, retries, log, should_cancel):
                    continue  # the destination discarded the failed attempt: the next one starts clean
                log("ERROR", failure.message)
                finish(execution, S.ERROR, getattr(failure, "counters", None), failure.message)
                return
        finally:
            if meter.total:
                log("INFO", meter.describe())


def _attempt(execution: Execution, document: dict, window: Window, hooks: dict):
    """Run once and record the outcome; a transient failure is returned instead, to be retried."""
    log = hooks["log"]
    try:
        source = endpoint(document["sourceFlowConfig"])
        destination = endpoint(document["destinationFlowConfigList"][0])
        rejects = rejects_endpoint(document["destinationFlowConfigList"][0], destination)
        result = run_flow(document, source, destination, execution_id=str(execution.pk), window=window,
                          rejects=rejects, **hooks)
    except (RunError, ConnectorError) as exc:
        transient = exc.retryable if isinstance(exc, RunError) else not exc.permanent
        if transient:
            return exc
        log("ERROR", exc.message)
        finish(execution, S.ERROR, getattr(exc, "counters", None), exc.message)
    except SoftTimeLimitExceeded:
        limit = settings.CELERY_TASK_TIME_LIMIT
        message = f"The run took longer than the time limit ({limit} s) and was stopped."
        log("ERROR", message)
        finish(execution, S.ERROR, None, message)
    except Exception:
        logger.exception("Execution %s failed", execution.pk)
        message = (
            f"Sluice hit an unexpected error while running this flow (execution {execution.pk}). "
            "Nothing was written. The details are in the worker log."
        )
        log("ERROR", message)
        finish(execution, S.ERROR, None, message)
    else:
        status = S.CANCELED if result.status == "Canceled" else S.SUCCESSFUL
        finish(execution, status, result.counters, location=result.location,
               rejects_location=result.rejects_location)
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
    """The reconciler: executions whose worker stopped beating are marked Error "worker lost", so
    nothing stays InProgress forever. A scheduled flow's next run covers the lost run's window,
    because only a successful run moves the watermark."""
    cutoff = timezone.now() - timedelta(seconds=settings.SLUICE_LOST_AFTER_SECONDS)
    silent = (Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)) & Q(updated_at__lt=cutoff)
    running = [S.IN_PROGRESS, S.CANCEL_STARTED]
    lost = Execution.objects.filter(silent, status__in=running, started_at__isnull=False)
    message = (
        f"The worker running this execution stopped reporting for over "
        f"{settings.SLUICE_LOST_AFTER_SECONDS} seconds (worker lost). Nothing it wrote was committed; "
        "run the flow again (a scheduled flow's next run covers this window)."
    )
    ids = list(lost.values_list("pk", flat=True))
    marked = 0
    for execution_id in ids:
        # One at a time, conditionally: a worker that comes back and finishes meanwhile wins.
        if Execution.objects.filter(pk=execution_id, status__in=[S.IN_PROGRESS, S.CANCEL_STARTED]).update(
            status=S.ERROR, error_message=message, finished_at=timezone.now(), updated_at=F("updated_at")
        ):
            marked += 1
            services.log(Execution(pk=execution_id), message, "ERROR")
            _finished(execution_id)
    _requeue_unclaimed()
    return marked


def _requeue_unclaimed() -> int:
    """Executions no worker has picked up for a while (a lost message, or a dispatcher that died
    between commit and publish) are sent again; a duplicate delivery is harmless (claim is once)."""
    from flows.tasks import run_execution

    cutoff = timezone.now() - timedelta(seconds=settings.SLUICE_LOST_AFTER_SECONDS)
    waiting = list(
        Execution.objects.filter(status=S.IN_PROGRESS, started_at__isnull=True, updated_at__lt=cutoff)
        .values_list("pk", flat=True)[:1000]
    )
    for execution_id in waiting:
        # updated_at moves on, so the next pass waits as long again before another try.
        Execution.objects.filter(pk=execution_id).update(updated_at=timezone.now())
        services.log(Execution(pk=execution_id), "No worker had picked this run up yet: queued again.",
                     "WARNING")
        run_execution.delay(str(execution_id))
    return len(waiting)

"""What a worker does with an execution id: claim it, run the engine, record the outcome."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from connections.connectors import rejects as rejected
from connections.connectors.base import ConnectionInfo, ConnectorError, Window
from connections.connectors.registry import get_connector, resolve_key
from connections.models import Connection
from flows import services
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
        info = connection.info()
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
    }


def finish(execution: Execution, status: str, counters: Counters | None, message: str = "", location=""):
    fields = {"status": status, "finished_at": timezone.now(), "updated_at": timezone.now()}
    if counters is not None:
        fields.update(counters_fields(counters))
    if message:
        fields["error_message"] = message
    if location:
        fields["output_location"] = location
    # A row deleted meanwhile (forced flow delete) simply updates nothing.
    Execution.objects.filter(pk=execution.pk).exclude(status__in=Execution.FINISHED).update(**fields)


def run_execution(execution_id: str, worker: str = "") -> None:
    execution = claim(execution_id, worker)
    if execution is None:
        return
    services.log(execution, f"Started on worker {worker or 'local'}.")
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
                updated_at=timezone.now(), **counters_fields(counters)
            )

    def log(level: str, message: str) -> None:
        services.log(execution, message, level)

    document = execution.version.definition
    window = Window(execution.data_pull_start, execution.data_pull_end)
    counters = None
    try:
        source = endpoint(document["sourceFlowConfig"])
        destination = endpoint(document["destinationFlowConfigList"][0])
        result = run_flow(
            document, source, destination,
            execution_id=str(execution.pk), window=window,
            should_cancel=should_cancel, on_progress=on_progress, log=log,
            rejects=rejects_endpoint(document["destinationFlowConfigList"][0], destination),
        )
    except RunError as exc:
        log("ERROR", exc.message)
        finish(execution, S.ERROR, exc.counters, exc.message)
    except ConnectorError as exc:
        log("ERROR", exc.message)
        finish(execution, S.ERROR, counters, exc.message)
    except SoftTimeLimitExceeded:
        limit = settings.CELERY_TASK_TIME_LIMIT
        message = f"The run took longer than the time limit ({limit} s) and was stopped."
        log("ERROR", message)
        finish(execution, S.ERROR, counters, message)
    except Exception:
        logger.exception("Execution %s failed", execution.pk)
        message = (
            f"Sluice hit an unexpected error while running this flow (execution {execution.pk}). "
            "Nothing was written. The details are in the worker log."
        )
        log("ERROR", message)
        finish(execution, S.ERROR, counters, message)
    else:
        status = S.CANCELED if result.status == "Canceled" else S.SUCCESSFUL
        finish(execution, status, result.counters, location=result.location)


def mark_lost_executions() -> int:
    """Executions whose worker stopped reporting are marked Error, so nothing stays InProgress."""
    cutoff = timezone.now() - timedelta(seconds=settings.SLUICE_LOST_AFTER_SECONDS)
    lost = Execution.objects.filter(
        status__in=[S.IN_PROGRESS, S.CANCEL_STARTED], started_at__isnull=False, updated_at__lt=cutoff
    )
    message = (
        f"The worker running this execution stopped reporting for over "
        f"{settings.SLUICE_LOST_AFTER_SECONDS} seconds (worker lost). Run the flow again."
    )
    ids = list(lost.values_list("pk", flat=True))
    for execution in Execution.objects.filter(pk__in=ids):
        services.log(execution, message, "ERROR")
    return Execution.objects.filter(pk__in=ids).update(
        status=S.ERROR, error_message=message, finished_at=timezone.now(), updated_at=F("updated_at")
    )

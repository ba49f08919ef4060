"""Retrying rejected records: where an execution's rejected records are, as the engine reads
them (flows/engine/rejected.py). The retry itself is started by services.retry_rejected_records."""

from __future__ import annotations

import os
from pathlib import Path

from connections.connectors.base import ConnectorError
from connections.connectors.localpaths import root_folder
from flows.engine import RejectedRecords
from flows.models import Execution
from flows.run_endpoints import endpoint, rejects_endpoint


def rejected_records(execution: Execution) -> RejectedRecords:
    """The rejected records `execution` retries, read through the place its flow version wrote
    them to (errorHandlingConfig). A problem is carried in the value, so the run fails with it
    like any other run error instead of escaping the worker."""
    original = execution.reprocess_of
    location = original.rejects_location if original else ""
    if not location:
        return RejectedRecords(problem="The execution to retry has no rejected records location.")
    destination_config = execution.version.definition["destinationFlowConfigList"][0]
    try:
        place = rejects_endpoint(destination_config, endpoint(destination_config))
        if place is None:
            raise ConnectorError("This flow version writes no rejected records (errorHandlingConfig), so "
                                 f"the ones at {location} cannot be read back.")
        entity, options = _entity(place.connector.key(), place.connection, location)
    except ConnectorError as exc:
        return RejectedRecords(problem=f"The rejected records cannot be read. {exc.message}")
    return RejectedRecords(place.connector, place.connection, entity, options, str(original.pk), location)


def _entity(key: str, connection, location: str) -> tuple[str, dict]:
    """The entity and read options of a rejects location written by connections/connectors/rejects.py."""
    if key == "S3":
        if not location.startswith("s3://"):
            raise ConnectorError(f"{location} is not an S3 location.")
        return location.removeprefix("s3://").strip("/"), {"s3InputFormatConfig": {"s3InputFileType": "JSON"}}
    root = root_folder(connection)
    relative = os.path.relpath(os.path.realpath(location), root)
    if relative.startswith("..") or os.path.isabs(relative):
        raise ConnectorError(f"{location} is not under the folder of the connection {connection.name or ''}.")
    if not Path(root, relative).is_dir():
        raise ConnectorError(f"{location} no longer exists.")
    return relative, {}


def run_options(execution: Execution) -> dict:
    """The engine options of a run beyond the flow's document: the per-run quota, and for a
    retry of rejected records, where they are."""
    from flows import quotas

    options: dict = {"limits": quotas.run_limits()}
    if execution.reprocess_of_id:
        options["reprocess"] = rejected_records(execution)
    from flows.salesforce_events import event_records  # runs started by Salesforce events (issue 18)

    events = event_records(execution)
    if events is not None:
        options["event_records"] = events
    return options

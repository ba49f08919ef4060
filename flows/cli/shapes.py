"""Rows -> AppFlow's response shapes (camelCase; times as epoch seconds; absent values left out,
as the AWS CLI leaves out members a response does not carry). Credentials never appear: a
connection shows only whether it has them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connections.connectors.base import ConnectorError
from connections.connectors.registry import get_connector_class
from connections.models import Connection
from flows.document.validate import DESCRIBE_FLOW_KEYS
from flows.models import Execution, Flow

# ARNs in AppFlow's layout, arn:partition:service:region:account:resource, with the partition
# "sluice" and no region or account: a self-hosted install has neither.
ARN_PREFIX = "arn:sluice:appflow:::"


def flow_arn(name: str) -> str:
    return f"{ARN_PREFIX}flow/{name}"


def connector_profile_arn(name: str) -> str:
    return f"{ARN_PREFIX}connectorprofile/{name}"


def epoch(moment: datetime | None) -> float | None:
    """Epoch seconds with milliseconds, AppFlow's wire format for timestamps."""
    return round(moment.timestamp(), 3) if moment else None


def compact(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _username(user) -> str | None:
    return user.get_username() if user is not None else None


def connector_profile(connection: Connection) -> dict[str, Any]:
    try:
        connector = get_connector_class(connection.connector_key)
        key, secret_names = connector.properties_key, connector.secret_field_names()
    except ConnectorError:  # a connection whose connector is no longer installed is still listed
        key, secret_names = "", frozenset()
    # Secrets live in credentials, never in properties; dropping secret names here is a second
    # lock in case a row was written around the services.
    properties = {k: v for k, v in connection.properties.items() if k not in secret_names}
    if connection.connector_type == "CustomConnector":
        block = {"CustomConnector": {"profileProperties": properties}}
    else:
        block = {key or connection.connector_type: properties}
    return compact({
        "connectorProfileArn": connector_profile_arn(connection.name),
        "connectorProfileName": connection.name,
        "connectorType": connection.connector_type,
        "connectorLabel": connection.connector_label or None,
        "connectionMode": connection.connection_mode,
        # Where AppFlow names the secret holding the credentials; here only a marker that they exist.
        "credentialsArn": f"{connector_profile_arn(connection.name)}/credentials"
        if connection.has_credentials else None,
        "connectorProfileProperties": block,
        "createdAt": epoch(connection.created_at),
        "lastUpdatedAt": epoch(connection.updated_at),
    })


def execution_message(execution: Execution) -> str:
    if execution.error_message:
        return execution.error_message
    return {
        Execution.Status.IN_PROGRESS: "The flow is running.",
        Execution.Status.SUCCESSFUL: "Successfully ran the flow.",
        Execution.Status.CANCEL_STARTED: "A cancel was requested; the run stops at the next batch.",
        Execution.Status.CANCELED: "The run was canceled.",
    }.get(execution.status, "")


def execution_record(execution: Execution) -> dict[str, Any]:
    # startedAt is when the run was asked for (StartFlow, a schedule, an event): the time the
    # history is sorted and filtered by. A worker may claim it a moment later.
    return compact({
        "executionId": str(execution.pk),
        "executionStatus": execution.status,
        "executionResult": {
            "errorInfo": {
                "putFailuresCount": execution.record_failures,
                "executionMessage": execution.error_message,
            },
            "bytesProcessed": execution.bytes_processed,
            "bytesWritten": execution.bytes_written,
            "recordsProcessed": execution.records_processed,
            "numParallelProcesses": 1,  # one worker runs one execution
            # Sluice extension: what happened to the records that were not written
            "sluice": {
                "recordsWritten": execution.records_written,
                "recordsFiltered": execution.records_filtered,
                "recordsDropped": execution.records_dropped,
                # HTTP requests sent to each side's service, billed against its API quota
                "apiCalls": {
                    "source": execution.source_api_calls,
                    "destination": execution.destination_api_calls,
                    "tokenRefreshes": execution.token_refreshes,
                },
            },
            # No maxPageSize: sources read in blocks of bytes, so a run has no page size in records.
        },
        "startedAt": epoch(execution.created_at),
        "lastUpdatedAt": epoch(execution.updated_at),
        "dataPullStartTime": epoch(execution.data_pull_start),
        "dataPullEndTime": epoch(execution.data_pull_end),
    })


def last_run_details(execution: Execution | None) -> dict[str, Any]:
    if execution is None:
        return {}
    return {
        "mostRecentExecutionMessage": execution_message(execution),
        "mostRecentExecutionTime": epoch(execution.created_at),
        "mostRecentExecutionStatus": execution.status,
    }


def _endpoints(document: dict) -> tuple[dict, dict]:
    source = document.get("sourceFlowConfig") or {}
    destinations = document.get("destinationFlowConfigList") or [{}]
    return source, destinations[0] if isinstance(destinations, list) and destinations else {}


def flow_summary(flow: Flow, latest: Execution | None) -> dict[str, Any]:
    source, destination = _endpoints(flow.definition)
    return compact({
        "flowArn": flow_arn(flow.name),
        "flowName": flow.name,
        "description": flow.description,
        "flowStatus": flow.status,
        "sourceConnectorType": source.get("connectorType"),
        "sourceConnectorLabel": source.get("connectorLabel"),
        "destinationConnectorType": destination.get("connectorType"),
        "destinationConnectorLabel": destination.get("connectorLabel"),
        "triggerType": flow.trigger_type,
        "createdAt": epoch(flow.created_at),
        "lastUpdatedAt": epoch(flow.updated_at),
        "createdBy": _username(flow.created_by),
        "tags": flow.definition.get("tags"),
        "lastRunExecutionDetails": last_run_details(latest),
    })


def flow_description(flow: Flow, latest: Execution | None) -> dict[str, Any]:
    """The stored document exactly as it was given (key order and all: complaint 4, no drift),
    with the flow's state around it."""
    state = compact({
        "flowStatus": flow.status,
        "flowStatusMessage": flow.status_message,
        "createdAt": epoch(flow.created_at),
        "lastUpdatedAt": epoch(flow.updated_at),
        "createdBy": _username(flow.created_by),
        "lastRunExecutionDetails": last_run_details(latest),
    })
    # A definition pasted from describe-flow output carries a stale copy of the state; show the live one.
    definition = {k: v for k, v in flow.definition.items() if k not in DESCRIBE_FLOW_KEYS}
    return {"flowArn": flow_arn(flow.name), **definition, **state}

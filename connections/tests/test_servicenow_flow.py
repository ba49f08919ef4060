"""End to end: a flow from a ServiceNow instance (the local test instance) to Local files, run by a
real Celery worker, with a filter pushed down into sysparm_query."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connections import services as connection_services
from connections.tests.servicenow_server import serve
from flows import services
from flows.tests.test_runs import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def document() -> dict:
    return {
        "flowName": "servicenow-incidents",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {
            "connectorType": "Servicenow",
            "connectorProfileName": "servicenow-prod",
            "sourceConnectorProperties": {"ServiceNow": {"object": "incident"}},
        },
        "destinationFlowConfigList": [{
            "connectorType": "CustomConnector",
            "connectorLabel": "LocalFiles",
            "connectorProfileName": "files",
            "destinationConnectorProperties": {
                "CustomConnector": {"entityName": "out/incidents", "customProperties": {"fileType": "JSONL"}}},
        }],
        "tasks": [
            {"sourceFields": ["number", "priority", "short_description", "sys_updated_on"],
             "connectorOperator": {"ServiceNow": "PROJECTION"}, "taskType": "Filter", "taskProperties": {}},
            {"sourceFields": ["priority"], "connectorOperator": {"ServiceNow": "GREATER_THAN_OR_EQUAL_TO"},
             "taskType": "Filter", "taskProperties": {"VALUE": "5", "DATA_TYPE": "integer"}},
            *[{"sourceFields": [f], "connectorOperator": {"ServiceNow": "NO_OP"}, "destinationField": f,
               "taskType": "Map", "taskProperties": {}}
              for f in ("number", "priority", "short_description", "sys_updated_on")],
        ],
    }


def test_servicenow_to_local_files_on_a_real_worker(celery_worker, data_dir, monkeypatch):
    instance = serve(monkeypatch, "sluice.integration", "pw")
    connection_services.create_connection(
        name="servicenow-prod", connector_type="Servicenow",
        properties={"instanceUrl": instance.base},
        credentials={"username": "sluice.integration", "password": "pw"})
    connection_services.create_connection(
        name="files", connector_type="CustomConnector", connector_label="LocalFiles",
        properties={"rootPath": str(data_dir)})

    execution = wait_for(services.start_flow(services.create_flow(document())))

    assert execution.status == "Successful", execution.error_message
    expected = [n for n in range(1, 2501) if n % 5 + 1 >= 5]  # priority = n % 5 + 1
    assert execution.records_processed == execution.records_written == len(expected)
    rows = [json.loads(line) for f in sorted(Path(execution.output_location).iterdir())
            for line in f.read_text().splitlines()]
    assert [r["number"] for r in rows] == [f"INC{10000 + n:07d}" for n in expected]
    assert rows[0] == {"number": "INC0010004", "priority": 5, "short_description": "Unable to connect to email (4)",
                       "sys_updated_on": "2024-03-01T12:00:00Z"}
    assert set(instance.queries("incident")) == {"priority>=5^ORDERBYsys_id"}
    messages = list(execution.log_lines.values_list("message", flat=True))
    assert any("filters at the source too" in m for m in messages)

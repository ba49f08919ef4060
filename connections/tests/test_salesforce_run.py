"""End to end: a Salesforce-shaped flow (Account -> Local files) from a local org, run by a real
Celery worker, with the projection and a filter pushed down into the SOQL."""

from __future__ import annotations

import json

import pytest

from connections.connectors.salesforce import reading
from connections.models import Connection
from connections.tests.salesforce_server import CLIENT_ID, CLIENT_SECRET, serve
from flows import services
from flows.tests.test_runs import execution_folder, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def salesforce_to_local_files(local_files: str) -> dict:
    fields = ["Id", "Name", "Industry", "NumberOfEmployees", "LastModifiedDate"]
    return {
        "flowName": "SalesforceAccountsToFiles",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {
            "connectorType": "Salesforce", "connectorProfileName": "sf",
            "sourceConnectorProperties": {"Salesforce": {"object": "Account", "includeDeletedRecords": False,
                                                         "enableDynamicFieldUpdate": False}},
        },
        "destinationFlowConfigList": [{
            "connectorType": "CustomConnector", "connectorLabel": "LocalFiles", "connectorProfileName": local_files,
            "destinationConnectorProperties": {"CustomConnector": {
                "entityName": "out/salesforce", "customProperties": {"fileType": "JSONL"}}},
        }],
        "tasks": [
            {"sourceFields": fields, "connectorOperator": {"Salesforce": "PROJECTION"}, "taskType": "Filter"},
            {"sourceFields": ["Industry"], "connectorOperator": {"Salesforce": "EQUAL_TO"}, "taskType": "Filter",
             "taskProperties": {"DATA_TYPE": "string", "VALUE": "Energy"}},
            *[{"sourceFields": [f], "connectorOperator": {"Salesforce": "NO_OP"}, "taskType": "Map",
               "destinationField": f, "taskProperties": {}} for f in fields],
        ],
    }


def test_a_salesforce_flow_runs_on_a_real_worker(celery_worker, demo, monkeypatch):
    monkeypatch.setattr(reading, "POLL_SECONDS", (0,))
    org = serve(monkeypatch, token="run-token")
    org.records["Account"][0]["Name"] = "Ünïcødé 日本"
    connection = Connection(name="sf", connector_type="Salesforce",
                            properties={"environment": "Production", "clientId": CLIENT_ID, "loginUrl": org.base})
    connection.credentials = {"clientSecret": CLIENT_SECRET, "accessToken": "expired", "refreshToken": "sf-refresh",
                              "expiresAt": 0, "instanceUrl": org.base.rstrip("/")}
    connection.save()
    flow = services.create_flow(salesforce_to_local_files(demo["connection"].name))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Successful", execution.error_message
    assert execution.records_processed == 625 and execution.records_written == 625
    rows = [json.loads(line) for f in sorted(execution_folder(execution).iterdir())
            for line in f.read_text().splitlines()]
    assert len(rows) == 625 and {r["Industry"] for r in rows} == {"Energy"}
    assert set(rows[0]) == {"Id", "Name", "Industry", "NumberOfEmployees", "LastModifiedDate"}
    assert "Ünïcødé 日本" not in {r["Name"] for r in rows}  # account 1 is Banking
    assert ("SELECT Id, Name, Industry, NumberOfEmployees, LastModifiedDate FROM Account "
            "WHERE Industry = 'Energy'") in org.queries
    # the stored token had expired: the worker refreshed it through the shared OAuth machinery
    assert [c["grant_type"] for c in org.token_calls] == ["refresh_token"]


def test_local_files_into_salesforce_with_a_refused_record_on_a_real_worker(celery_worker, demo, monkeypatch):
    org = serve(monkeypatch, token="run-token")
    (demo["root"] / "new-accounts.csv").write_text("Name,NumberOfEmployees,Active__c\nAcme,10,true\n"
                                                  "Bad Data Inc,-3,false\nÜnïcødé GmbH,7,\n")
    connection = Connection(name="sf", connector_type="Salesforce",
                            properties={"environment": "Production", "clientId": CLIENT_ID})
    connection.credentials = {"clientSecret": CLIENT_SECRET, "accessToken": "run-token", "refreshToken": "sf-refresh",
                              "expiresAt": 0, "instanceUrl": org.base.rstrip("/")}
    connection.save()
    local = demo["connection"].name
    flow = services.create_flow({
        "flowName": "NewAccountsIntoSalesforce",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {"connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
                             "connectorProfileName": local,
                             "sourceConnectorProperties": {"CustomConnector": {"entityName": "new-accounts.csv"}}},
        "destinationFlowConfigList": [{
            "connectorType": "Salesforce", "connectorProfileName": "sf",
            "destinationConnectorProperties": {"Salesforce": {
                "object": "Account", "writeOperationType": "INSERT",
                "errorHandlingConfig": {"failOnFirstDestinationError": False, "bucketPrefix": "rejects",
                                        "connectorProfileName": local}}},
        }],
        "tasks": [{"sourceFields": [""], "connectorOperator": {"CustomConnector": "NO_OP"}, "taskType": "Map_all",
                   "taskProperties": {"EXCLUDE_SOURCE_FIELDS_LIST": "[]"}}],
    })
    before = len(org.records["Account"])

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Successful", execution.error_message
    assert (execution.records_written, execution.record_failures) == (2, 1)
    created = org.records["Account"][before:]
    assert [(r["Name"], r["NumberOfEmployees"], r.get("Active__c")) for r in created] == [
        ("Acme", 10, True), ("Ünïcødé GmbH", 7, None)]
    messages = " ".join(execution.log_lines.values_list("message", flat=True))
    assert "record 2: FIELD_CUSTOM_VALIDATION_EXCEPTION: Employees cannot be negative" in messages
    rejects = [json.loads(line) for f in (demo["root"] / "rejects").rglob("*") if f.is_file()
               for line in f.read_text().splitlines()]
    assert [r["record"]["Name"] for r in rejects] == ["Bad Data Inc"]

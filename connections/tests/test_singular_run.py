"""End to end: Singular statistics (the local account) through a real Celery worker into Local
files and into S3 (moto), with an EQUAL_TO filter pushed down; a malformed result fails the run
naming Singular and the report, and publishes nothing; schedules faster than hourly are refused."""

from __future__ import annotations

import json

import pytest

from connections import services as connection_services
from connections.connectors.singular import client
from connections.tests import s3server
from connections.tests.singular_server import serve
from flows import services
from flows.document.validate import validate_flow_document
from flows.tests.test_runs import output_rows, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

FIELDS = ["start_date", "app", "source", "adn_cost", "custom_installs"]


def document(destination: dict, schedule: str | None = None) -> dict:
    trigger = ({"triggerType": "Scheduled", "triggerProperties": {"Scheduled": {"scheduleExpression": schedule}}}
               if schedule else {"triggerType": "OnDemand"})
    return {
        "flowName": "singular-stats",
        "triggerConfig": trigger,
        "sourceFlowConfig": {"connectorType": "Singular", "connectorProfileName": "singular",
                             "sourceConnectorProperties": {"Singular": {"object": "report"}}},
        "destinationFlowConfigList": [destination],
        "tasks": [
            {"sourceFields": FIELDS, "connectorOperator": {"Singular": "PROJECTION"}, "taskType": "Filter"},
            {"sourceFields": ["source"], "connectorOperator": {"Singular": "EQUAL_TO"}, "taskType": "Filter",
             "taskProperties": {"DATA_TYPE": "string", "VALUE": "Facebook"}},
            *[{"sourceFields": [f], "connectorOperator": {"Singular": "NO_OP"}, "destinationField": f,
               "taskType": "Map", "taskProperties": {}} for f in FIELDS],
        ],
    }


def local_files() -> dict:
    return {"connectorType": "CustomConnector", "connectorLabel": "LocalFiles", "connectorProfileName": "files",
            "destinationConnectorProperties": {"CustomConnector": {"entityName": "out/singular",
                                                                   "customProperties": {"fileType": "JSONL"}}}}


def connect(account, data_dir) -> None:
    connection_services.create_connection(name="singular", connector_type="Singular",
                                          properties={"baseUrl": account.base},
                                          credentials={"apiKey": account.api_key})
    connection_services.create_connection(name="files", connector_type="CustomConnector",
                                          connector_label="LocalFiles", properties={"rootPath": str(data_dir)})


def test_singular_into_local_files_on_a_real_worker(celery_worker, data_dir, monkeypatch):
    monkeypatch.setattr(client, "sleep", lambda seconds: None)
    account = serve(monkeypatch)
    connect(account, data_dir)

    execution = wait_for(services.start_flow(services.create_flow(document(local_files()))))

    assert execution.status == "Successful", execution.error_message
    rows = output_rows(execution)
    assert len(rows) == 7 * 2 and {r["source"] for r in rows} == {"Facebook"}  # 7 days x 2 apps
    assert set(rows[0]) == set(FIELDS) and {r["app"] for r in rows} == {"Simba", "Ünïcødé Quest"}
    create = next(r[2] for r in account.requests if r[1] == "/api/v2.0/create_async_report")
    assert json.loads(create["filters"]) == [{"dimension": "source", "operator": "in", "values": ["Facebook"]}]
    messages = " ".join(execution.log_lines.values_list("message", flat=True))
    assert "the last 7 full days were reported" in messages
    # filters, custom dimensions, create, three status polls, the download
    assert "API calls: 7 to the source" in messages
    assert account.api_key not in messages


def test_singular_into_s3_on_a_real_worker(celery_worker, data_dir, monkeypatch):
    monkeypatch.setattr(client, "sleep", lambda seconds: None)
    account = serve(monkeypatch)
    s3server.need_s3()
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")  # the local account and the moto server
    connect(account, data_dir)
    bucket = s3server.new_bucket()
    s3 = s3server.connection_info()
    connection_services.create_connection(name="bucket", connector_type="S3", properties=dict(s3.properties),
                                          credentials=dict(s3.credentials))
    destination = {"connectorType": "S3", "connectorProfileName": "bucket",
                   "destinationConnectorProperties": {"S3": {"bucketName": bucket, "bucketPrefix": "singular",
                                                             "s3OutputFormatConfig": {"fileType": "JSON"}}}}

    execution = wait_for(services.start_flow(services.create_flow(document(destination))))

    assert execution.status == "Successful", execution.error_message
    keys = [k for k in s3server.keys(bucket, "singular/") if k.endswith(".jsonl")]
    rows = [json.loads(line) for key in keys for line in s3server.body(bucket, key).decode().splitlines()]
    assert keys and len(rows) == 14 and {r["source"] for r in rows} == {"Facebook"}


def test_a_malformed_result_fails_the_run_and_publishes_nothing(celery_worker, data_dir, monkeypatch):
    monkeypatch.setattr(client, "sleep", lambda seconds: None)
    account = serve(monkeypatch, malformed_line=5)
    connect(account, data_dir)

    execution = wait_for(services.start_flow(services.create_flow(document(local_files()))))

    assert execution.status == "Error"
    assert "Singular's result file of report r0001" in execution.error_message
    assert "line 6: adn_cost is \"n/a\", not a number" in execution.error_message
    assert not any((data_dir / "out").rglob("*.jsonl")) if (data_dir / "out").exists() else True


def test_a_singular_flow_runs_at_most_once_an_hour():
    problems = validate_flow_document(document(local_files(), schedule="rate(30minutes)"))
    assert any("scheduleExpression" in str(p) and "Singular" in str(p) for p in problems), problems
    assert not [p for p in validate_flow_document(document(local_files(), schedule="rate(1hours)"))
                if "schedule" in str(p)]

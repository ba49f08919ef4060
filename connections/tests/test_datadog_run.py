"""End to end: Datadog logs (the local Datadog API) read by a real Celery worker into Local files
and into S3 (moto), with the query filter and date range of the document pushed down, a 429 waited
out from X-RateLimit-Reset; and a malformed page that fails the run naming Datadog and the page, with
nothing published."""

from __future__ import annotations

import json

import pytest

from connections.connectors.datadog import api, connector
from connections.models import Connection
from connections.tests import s3server
from connections.tests.datadog_server import API_KEY, APP_KEY, serve
from flows import services
from flows.tests.test_runs import output_rows, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
FIELDS = ["id", "timestamp", "service", "message", "query"]


def dd_connection(fake) -> None:
    connection = Connection(name="dd", connector_type="Datadog", properties={"site": "US1", "instanceUrl": fake.base})
    connection.credentials = {"apiKey": API_KEY, "applicationKey": APP_KEY}
    connection.save()


def document(destination: dict) -> dict:
    return {
        "flowName": "DatadogErrors",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {"connectorType": "Datadog", "connectorProfileName": "dd",
                             "sourceConnectorProperties": {"Datadog": {"object": "logs"}}},
        "destinationFlowConfigList": [destination],
        "tasks": [
            {"sourceFields": FIELDS, "connectorOperator": {"Datadog": "PROJECTION"}, "taskType": "Filter"},
            {"sourceFields": ["query"], "connectorOperator": {"Datadog": "EQUAL_TO"}, "taskType": "Filter",
             "taskProperties": {"DATA_TYPE": "string", "VALUE": "service:web"}},
            {"sourceFields": ["timestamp"], "connectorOperator": {"Datadog": "BETWEEN"}, "taskType": "Filter",
             "taskProperties": {"DATA_TYPE": "datetime", "LOWER_BOUND": "2026-01-05T10:00:00Z",
                                "UPPER_BOUND": "2026-01-05T10:59:00Z"}},
            *[{"sourceFields": [f], "connectorOperator": {"Datadog": "NO_OP"}, "taskType": "Map",
               "destinationField": f, "taskProperties": {}} for f in FIELDS],
        ],
    }


def local_destination(demo) -> dict:
    return {"connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
            "connectorProfileName": demo["connection"].name,
            "destinationConnectorProperties": {"CustomConnector": {
                "entityName": "out/datadog", "customProperties": {"fileType": "JSONL"}}}}


def test_datadog_logs_into_local_files_on_a_real_worker(celery_worker, demo, monkeypatch):
    fake = serve(monkeypatch)
    monkeypatch.setattr(connector, "PAGE_SIZE", 5)
    monkeypatch.setattr(api, "pause", lambda seconds: None)
    fake.rate_limited = {2}  # page 2 is refused once
    dd_connection(fake)
    flow = services.create_flow(document(local_destination(demo)))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Successful", execution.error_message
    rows = output_rows(execution)
    assert len(rows) == 13 == execution.records_written  # the web logs: even minutes 0..24
    assert set(rows[0]) == set(FIELDS) and {r["service"] for r in rows} == {"web"}
    assert {r["query"] for r in rows} == {"service:web"} and "requête 0 — ok ✓" in {r["message"] for r in rows}
    searches = [r["body"] for r in fake.requests if r["body"]]
    assert searches[0]["filter"] == {"query": "service:web", "from": "2026-01-05T10:00:00.000Z",
                                     "to": "2026-01-05T10:59:00.001Z"}
    assert fake.calls == 4  # page 1, page 2 refused, page 2, page 3
    messages = list(execution.log_lines.values_list("message", flat=True))
    assert any("Datadog:" in m and "waited for its rate limit" in m for m in messages), messages
    assert not any(API_KEY in m or APP_KEY in m for m in messages)


def test_datadog_logs_into_s3_on_a_real_worker(celery_worker, owner, monkeypatch):
    fake = serve(monkeypatch)
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")  # the Datadog server and moto, on their two ports
    bucket = s3server.new_bucket()
    dd_connection(fake)
    flow = services.create_flow(document(s3server.lake_destination(bucket, "datadog")))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Successful", execution.error_message
    keys = [k for k in s3server.keys(bucket) if k.endswith(".jsonl")]
    assert keys == [f"datadog/{execution.pk}/part-00000.jsonl"]
    rows = [json.loads(line) for k in keys for line in s3server.body(bucket, k).decode().splitlines()]
    assert len(rows) == 13 and rows[0]["id"] == "AQAAAY000000"


def test_a_malformed_page_fails_the_run_and_publishes_nothing(celery_worker, owner, monkeypatch):
    fake = serve(monkeypatch)
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")
    monkeypatch.setattr(connector, "PAGE_SIZE", 5)
    fake.malformed_page = 2
    bucket = s3server.new_bucket()
    dd_connection(fake)
    flow = services.create_flow(document(s3server.lake_destination(bucket, "datadog")))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Error"
    assert "Datadog answered page 2 of logs with a malformed body" in execution.error_message
    assert [k for k in s3server.keys(bucket) if k.startswith("datadog/")] == []

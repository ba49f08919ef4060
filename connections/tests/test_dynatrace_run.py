"""End to end: Dynatrace problems (the local environment) read by a real Celery worker into Local
files and into S3 (moto): a 70-day backfill window read as three 30-day windows with nextPageKey
paging, a 429 waited out; a malformed page fails the run naming Dynatrace and the page."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from connections.connectors.dynatrace import api, connector
from connections.models import Connection
from connections.tests import s3server
from connections.tests.dynatrace_server import T0, TOKEN, serve
from flows import services
from flows.tests.test_runs import output_rows, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
FIELDS = ["problemId", "startTime", "title", "status"]


def dt_connection(fake) -> None:
    connection = Connection(name="dt", connector_type="Dynatrace", properties={"instanceUrl": fake.base})
    connection.credentials = {"apiToken": TOKEN}
    connection.save()


def document(destination: dict) -> dict:
    return {
        "flowName": "DynatraceProblems",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {"connectorType": "Dynatrace", "connectorProfileName": "dt",
                             "sourceConnectorProperties": {"Dynatrace": {"object": "problems"}}},
        "destinationFlowConfigList": [destination],
        "tasks": [
            {"sourceFields": FIELDS, "connectorOperator": {"Dynatrace": "PROJECTION"}, "taskType": "Filter"},
            *[{"sourceFields": [f], "connectorOperator": {"Dynatrace": "NO_OP"}, "taskType": "Map",
               "destinationField": f, "taskProperties": {}} for f in FIELDS],
        ],
    }


def test_a_70_day_backfill_into_local_files_on_a_real_worker(celery_worker, demo, monkeypatch):
    fake = serve(monkeypatch)
    monkeypatch.setattr(connector, "PAGE_SIZE", 20)
    monkeypatch.setattr(api, "pause", lambda seconds: None)
    fake.rate_limited = {3}
    dt_connection(fake)
    flow = services.create_flow(document({
        "connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
        "connectorProfileName": demo["connection"].name,
        "destinationConnectorProperties": {"CustomConnector": {
            "entityName": "out/dynatrace", "customProperties": {"fileType": "JSONL"}}}}))

    execution = wait_for(services.start_flow(flow, window=(T0, T0 + timedelta(days=70))))

    assert execution.status == "Successful", execution.error_message
    rows = output_rows(execution)
    assert len(rows) == 70 == execution.records_written
    assert "Réponse lente 0 ⚠" in {r["title"] for r in rows}
    firsts = [r["params"] for r in fake.requests if "nextPageKey" not in r["params"]]
    assert len({(p["from"], p["to"]) for p in firsts}) == 3  # three 30-day windows
    assert all(set(r["params"]) == {"nextPageKey"} for r in fake.requests if "nextPageKey" in r["params"])
    messages = list(execution.log_lines.values_list("message", flat=True))
    assert any(m.startswith("Dynatrace:") for m in messages), messages
    assert not any(TOKEN in m for m in messages)


def test_dynatrace_problems_into_s3_on_a_real_worker(celery_worker, owner, monkeypatch):
    fake = serve(monkeypatch)
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")  # the Dynatrace server and moto
    bucket = s3server.new_bucket()
    dt_connection(fake)
    flow = services.create_flow(document(s3server.lake_destination(bucket, "dynatrace")))

    execution = wait_for(services.start_flow(flow, window=(T0, T0 + timedelta(days=10))))

    assert execution.status == "Successful", execution.error_message
    keys = [k for k in s3server.keys(bucket) if k.endswith(".jsonl")]
    assert keys == [f"dynatrace/{execution.pk}/part-00000.jsonl"]
    rows = [json.loads(line) for k in keys for line in s3server.body(bucket, k).decode().splitlines()]
    assert len(rows) == 10 and rows[0]["problemId"] == "P-0000"


def test_a_malformed_page_fails_the_run_and_publishes_nothing(celery_worker, owner, monkeypatch):
    fake = serve(monkeypatch)
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")
    monkeypatch.setattr(connector, "PAGE_SIZE", 3)
    fake.malformed_page = 2
    bucket = s3server.new_bucket()
    dt_connection(fake)
    flow = services.create_flow(document(s3server.lake_destination(bucket, "dynatrace")))

    execution = wait_for(services.start_flow(flow, window=(T0, T0 + timedelta(days=10))))

    assert execution.status == "Error"
    assert "Dynatrace answered page 2 of problems without a list of problems" in execution.error_message
    assert [k for k in s3server.keys(bucket) if k.startswith("dynatrace/")] == []

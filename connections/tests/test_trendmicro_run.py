"""End to end: Trend Micro objects from the local Deep Security API (trendmicro_server.py) run by a
real Celery worker into Local files and into S3 (moto). The API's 429 is retried by the run; a
malformed page fails the run naming Trend Micro and the page, with nothing published; a backfill
window reaches the API as a logDate range."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from connections.models import Connection
from connections.tests import s3server
from connections.tests.trendmicro_server import KEY, START, serve
from flows import services
from flows.tests.test_runs import output_rows, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
FIELDS = ["firewallEventID", "logDate", "hostName", "tags"]


def trendmicro_connection(fake) -> None:
    connection = Connection(name="tm", connector_type="Trendmicro", properties={"apiUrl": fake.base})
    connection.credentials = {"apiSecretKey": KEY}
    connection.save()


def document(destination: dict, obj: str = "firewallEvents", fields=FIELDS) -> dict:
    return {
        "flowName": "TrendMicroEvents",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {"connectorType": "Trendmicro", "connectorProfileName": "tm",
                             "sourceConnectorProperties": {"Trendmicro": {"object": obj}}},
        "destinationFlowConfigList": [destination],
        "tasks": [
            {"sourceFields": fields, "connectorOperator": {"Trendmicro": "PROJECTION"}, "taskType": "Filter"},
            *[{"sourceFields": [f], "connectorOperator": {"Trendmicro": "NO_OP"}, "taskType": "Map",
               "destinationField": f, "taskProperties": {}} for f in fields],
        ],
    }


def local_files(name: str) -> dict:
    return {"connectorType": "CustomConnector", "connectorLabel": "LocalFiles", "connectorProfileName": name,
            "destinationConnectorProperties": {"CustomConnector": {
                "entityName": "out/trendmicro", "customProperties": {"fileType": "JSONL"}}}}


def test_events_into_local_files_on_a_real_worker_through_a_rate_limit(celery_worker, demo, monkeypatch,
                                                                         settings):
    settings.SLUICE_RETRY_BASE_SECONDS = 0.01
    fake = serve(monkeypatch, rate_limited={2})  # page 2 of the first attempt: the run retries
    trendmicro_connection(fake)
    flow = services.create_flow(document(local_files(demo["connection"].name)))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Successful", execution.error_message
    assert execution.records_written == 1200
    rows = output_rows(execution)
    assert [r["firewallEventID"] for r in rows] == list(range(1, 1201))
    assert rows[0]["logDate"] == "2026-01-01T00:00:00.000Z" and rows[0]["hostName"] is None
    assert rows[1]["tags"] == "[]" and json.loads(rows[2]["tags"]) == ["prod", "ünïcode"]
    assert execution.source_api_calls == len(fake.requests) == 2 + 3


def test_computers_into_s3_on_a_real_worker(celery_worker, owner, monkeypatch):
    fake = serve(monkeypatch, count=700)
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")  # the Trend Micro server and moto, on their two ports
    bucket = s3server.new_bucket()
    trendmicro_connection(fake)
    flow = services.create_flow(document(s3server.lake_destination(bucket, "tm"),
                                         "computers", ["ID", "hostName", "lastAgentCommunication"]))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Successful", execution.error_message
    keys = [k for k in s3server.keys(bucket) if k.endswith(".jsonl")]
    assert keys == [f"tm/{execution.pk}/part-00000.jsonl"]
    rows = [json.loads(line) for k in keys for line in s3server.body(bucket, k).decode().splitlines()]
    assert [r["ID"] for r in rows] == list(range(1, 701)) and rows[0]["hostName"] == "büro-日本"


def test_a_malformed_page_fails_the_run_and_publishes_nothing(celery_worker, demo, monkeypatch):
    fake = serve(monkeypatch, malformed_at=2)
    trendmicro_connection(fake)
    flow = services.create_flow(document(local_files(demo["connection"].name)))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Error"
    assert "Trend Micro answered firewallEvents page 2" in execution.error_message
    assert not (demo["root"] / "out").exists() or not any((demo["root"] / "out").rglob("*.jsonl"))


def test_a_backfill_window_is_pushed_down_on_a_real_worker(celery_worker, demo, monkeypatch):
    fake = serve(monkeypatch)
    trendmicro_connection(fake)
    flow = services.create_flow(document(local_files(demo["connection"].name)))
    window = (START + timedelta(minutes=30), START + timedelta(minutes=90))

    execution = wait_for(services.start_flow(flow, window=window))

    assert execution.status == "Successful", execution.error_message
    assert [r["firewallEventID"] for r in output_rows(execution)] == list(range(31, 91))
    assert fake.requests[0]["body"]["searchCriteria"][0]["fieldName"] == "logDate"
    assert len(fake.requests) == 1

"""End to end: Infor Nexus purchase orders from the local REST API (infornexus_server.py, which
checks every HMAC_1 signature) run by a real Celery worker into Local files and into S3 (moto). The
API's 429 is retried by the run; a malformed page fails the run naming Infor Nexus and the page, with
nothing published; a backfill window reaches the API as OQL on modifyTimestamp."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from connections.models import Connection
from connections.tests import s3server
from connections.tests.infornexus_server import CREDENTIALS, START, serve
from flows import services
from flows.tests.test_runs import output_rows, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
FIELDS = ["uid", "poNumber", "modifyTimestamp", "totalAmount", "buyer"]


def nexus_connection(fake) -> None:
    connection = Connection(name="nexus", connector_type="Infornexus", properties={"instanceUrl": fake.base})
    connection.credentials = dict(CREDENTIALS)
    connection.save()


def document(destination: dict) -> dict:
    return {
        "flowName": "NexusOrders",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {"connectorType": "Infornexus", "connectorProfileName": "nexus",
                             "sourceConnectorProperties": {"InforNexus": {"object": "OrderDetail"}}},
        "destinationFlowConfigList": [destination],
        "tasks": [
            {"sourceFields": FIELDS, "connectorOperator": {"InforNexus": "PROJECTION"}, "taskType": "Filter"},
            *[{"sourceFields": [f], "connectorOperator": {"InforNexus": "NO_OP"}, "taskType": "Map",
               "destinationField": f, "taskProperties": {}} for f in FIELDS],
        ],
    }


def local_files(name: str) -> dict:
    return {"connectorType": "CustomConnector", "connectorLabel": "LocalFiles", "connectorProfileName": name,
            "destinationConnectorProperties": {"CustomConnector": {
                "entityName": "out/nexus", "customProperties": {"fileType": "JSONL"}}}}


def test_orders_into_local_files_on_a_real_worker_through_a_rate_limit(celery_worker, demo, monkeypatch,
                                                                      settings):
    settings.SLUICE_RETRY_BASE_SECONDS = 0.01
    fake = serve(monkeypatch, rate_limited={2})
    nexus_connection(fake)
    flow = services.create_flow(document(local_files(demo["connection"].name)))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Successful", execution.error_message
    assert execution.records_written == 250
    rows = output_rows(execution)
    assert [r["poNumber"] for r in rows] == [f"PO-{i:05d}" for i in range(1, 251)]
    assert rows[0]["totalAmount"] == "1234.5" and json.loads(rows[0]["buyer"])["name"] == "Zoë Bäcker 日本"
    assert execution.source_api_calls == len(fake.requests)


def test_orders_into_s3_on_a_real_worker(celery_worker, owner, monkeypatch):
    fake = serve(monkeypatch, count=120)
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")  # the Infor Nexus server and moto, on their two ports
    bucket = s3server.new_bucket()
    nexus_connection(fake)
    flow = services.create_flow(document(s3server.lake_destination(bucket, "nexus")))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Successful", execution.error_message
    keys = [k for k in s3server.keys(bucket) if k.endswith(".jsonl")]
    assert keys == [f"nexus/{execution.pk}/part-00000.jsonl"]
    rows = [json.loads(line) for k in keys for line in s3server.body(bucket, k).decode().splitlines()]
    assert len(rows) == 120 and rows[-1]["uid"] == "280110000120"


def test_a_malformed_page_fails_the_run_and_publishes_nothing(celery_worker, demo, monkeypatch):
    fake = serve(monkeypatch, malformed_at=3)
    nexus_connection(fake)
    flow = services.create_flow(document(local_files(demo["connection"].name)))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Error"
    assert "Infor Nexus answered OrderDetail page" in execution.error_message
    assert not (demo["root"] / "out").exists() or not any((demo["root"] / "out").rglob("*.jsonl"))


def test_a_backfill_window_is_pushed_down_on_a_real_worker(celery_worker, demo, monkeypatch):
    fake = serve(monkeypatch)
    nexus_connection(fake)
    flow = services.create_flow(document(local_files(demo["connection"].name)))
    window = (START + timedelta(minutes=30), START + timedelta(minutes=90))

    execution = wait_for(services.start_flow(flow, window=window))

    assert execution.status == "Successful", execution.error_message
    assert [r["poNumber"] for r in output_rows(execution)] == [f"PO-{i:05d}" for i in range(31, 91)]
    assert all(r["query"]["oql"].startswith("modifyTimestamp >= '2026-01-01T00:30:00.000Z'")
               for r in fake.requests if r["query"].get("offset") == "0" and r["query"].get("limit") == "100")

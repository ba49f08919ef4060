"""End to end: SAP OData sales orders (the local V2 gateway) run by a real Celery worker into Local
files and into S3 (moto), with a filter pushed down into $filter; a malformed page fails the run
naming SAP OData and the page, and nothing is published."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connections.connectors.sapodata import connector
from connections.models import Connection
from connections.tests import s3server
from connections.tests.sapodata_server import V2_SERVICE, connection, serve
from flows import services
from flows.tests.test_runs import output_rows, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
FIELDS = ["SalesOrderID", "Note", "GrossAmount", "Quantity", "CreatedAt", "ChangedAt"]


def sap_connection(gateway) -> None:
    info = connection(gateway)
    saved = Connection(name="sap", connector_type="SAPOData", properties=dict(info.properties))
    saved.credentials = dict(info.credentials)
    saved.save()


def document(destination: dict) -> dict:
    return {
        "flowName": "SapSalesOrders",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {"connectorType": "SAPOData", "connectorProfileName": "sap",
                             "sourceConnectorProperties": {"SAPOData": {"objectPath": f"{V2_SERVICE}/SalesOrderSet"}}},
        "destinationFlowConfigList": [destination],
        "tasks": [
            {"sourceFields": FIELDS, "connectorOperator": {"SAPOData": "PROJECTION"}, "taskType": "Filter"},
            {"sourceFields": ["GrossAmount"], "connectorOperator": {"SAPOData": "GREATER_THAN_OR_EQUAL_TO"},
             "taskType": "Filter", "taskProperties": {"VALUE": "100"}},
            *[{"sourceFields": [f], "connectorOperator": {"SAPOData": "NO_OP"}, "taskType": "Map",
               "destinationField": f, "taskProperties": {}} for f in FIELDS],
        ],
    }


def local_files(demo) -> dict:
    return {"connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
            "connectorProfileName": demo["connection"].name,
            "destinationConnectorProperties": {"CustomConnector": {
                "entityName": "out/sap", "customProperties": {"fileType": "JSONL"}}}}


def test_sales_orders_into_local_files_on_a_real_worker(celery_worker, demo, monkeypatch):
    gateway = serve(monkeypatch, orders=350, server_page=70)
    monkeypatch.setattr(connector, "DEFAULT_PAGE_SIZE", 100)
    sap_connection(gateway)

    execution = wait_for(services.start_flow(services.create_flow(document(local_files(demo)))))

    assert execution.status == "Successful", execution.error_message
    rows = output_rows(execution)
    assert [r["SalesOrderID"] for r in rows] == [str(500000000 + i) for i in range(100, 350)]
    assert execution.records_written == 250
    assert rows[0]["CreatedAt"] == "2023-11-14T23:53:20Z" and rows[0]["ChangedAt"] == "2023-11-14T23:54:20Z"
    assert rows[0]["Quantity"] == 9007199254740993 + 100
    assert rows[0]["GrossAmount"] == 100.125  # exact: Decimal 100.125 written as JSON 100.125
    assert set(gateway.filters()) == {"(GrossAmount ge 100M)"}
    # windows of 100 split by the gateway's pages of 70: 70+30, 70+30, 50; plus the $metadata
    assert len(gateway.filters()) == 5 and execution.source_api_calls == 6
    messages = list(execution.log_lines.values_list("message", flat=True))
    assert any("SAP OData: 250 records match in SalesOrderSet." in m for m in messages), messages


def test_sales_orders_into_s3_on_a_real_worker(celery_worker, owner, monkeypatch):
    gateway = serve(monkeypatch, orders=120)
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")  # the gateway and moto, on their two ports
    bucket = s3server.new_bucket()
    sap_connection(gateway)
    flow = services.create_flow(document(s3server.lake_destination(bucket, "sap")))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Successful", execution.error_message
    keys = [k for k in s3server.keys(bucket) if k.endswith(".jsonl")]
    rows = [json.loads(line) for k in keys for line in s3server.body(bucket, k).decode().splitlines()]
    assert [r["SalesOrderID"] for r in rows] == [str(500000000 + i) for i in range(100, 120)]
    assert rows[1]["Note"] == "Lieferung für Müller — ✓"


def test_a_malformed_page_fails_the_run_and_publishes_nothing(celery_worker, demo, monkeypatch):
    gateway = serve(monkeypatch, orders=350, malformed_page=2)
    monkeypatch.setattr(connector, "DEFAULT_PAGE_SIZE", 100)
    sap_connection(gateway)

    execution = wait_for(services.start_flow(services.create_flow(document(local_files(demo)))))

    assert execution.status == "Error"
    assert "SAP OData" in execution.error_message and "page 2" in execution.error_message
    assert execution.records_written == 0
    out = Path(demo["connection"].properties["rootPath"]) / "out" / "sap"
    assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))

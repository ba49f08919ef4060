"""End to end: SAP OData sales orders (the local V2 gateway) run by a real Celery worker into Local
files and into S3 (moto), with a filter pushed down into $filter; a malformed page fails the run
naming SAP OData and the page, and nothing is published. An OAuth 2.0 connection goes from the form
through the Gateway's consent page and Sluice's callback to a run that refreshes its token once."""

from __future__ import annotations

import json
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from connections.connectors.sapodata import connector
from connections.models import Connection
from connections.tests import s3server
from connections.tests.sapodata_server import (
    AUTHORIZE,
    CLIENT_ID,
    CLIENT_SECRET,
    SCOPES,
    V2_CATALOG,
    V2_SERVICE,
    connection,
    serve,
)
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


def consent(url: str) -> dict[str, str]:
    """The person signs in on the SAP logon page and confirms the scopes: the Gateway's authorization
    endpoint answers with a redirect to Sluice's callback; its query (code, state)."""
    parts = urlsplit(url)
    http = HTTPConnection(parts.hostname, parts.port, timeout=10)
    http.request("GET", f"{parts.path}?{parts.query}")
    answer = http.getresponse()
    assert answer.status == 302, answer.read()
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.getheader("Location")).query).items()}


def test_oauth_form_consent_callback_then_a_run_that_refreshes_once(celery_worker, demo, monkeypatch, client,
                                                                     owner):
    gateway = serve(monkeypatch, orders=350)
    monkeypatch.setattr(connector, "DEFAULT_PAGE_SIZE", 100)
    client.force_login(owner)
    parts = urlsplit(gateway.base)
    # The connection form, OAuth2 chosen: on to the SAP logon page (the Gateway's own endpoints).
    response = client.post(reverse("connections:create", args=["SAPOData"]), {
        "connection_name": "sap", "connection_mode": "Public", "authentication": "OAuth2",
        "applicationHostUrl": f"http://{parts.hostname}", "portNumber": parts.port,
        "applicationServicePath": V2_CATALOG, "clientNumber": "100", "oAuthScopes": SCOPES,
        "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"].startswith(gateway.base + AUTHORIZE + "?")
    back = consent(response["Location"])
    done = client.get(reverse("connections:oauth_callback", args=["SAPOData"]), back)
    assert done.status_code == 302 and done["Location"].endswith("/sap/"), done.content.decode()[:2000]
    saved = Connection.objects.get(name="sap")
    assert saved.credentials["accessToken"] in gateway.access_tokens and "username" not in saved.credentials
    assert saved.properties["clientId"] == CLIENT_ID and "clientSecret" not in saved.properties
    gateway.expire_token_at = gateway.data_requests + 2  # the run's second page finds the token expired

    execution = wait_for(services.start_flow(services.create_flow(document(local_files(demo)))))

    assert execution.status == "Successful", execution.error_message
    assert [r["SalesOrderID"] for r in output_rows(execution)] == [str(500000000 + i) for i in range(100, 350)]
    assert gateway.token_grants == ["authorization_code", "refresh_token"]  # refreshed once, mid-run
    stored = Connection.objects.get(name="sap").credentials
    assert stored["accessToken"] in gateway.access_tokens and stored["accessToken"] != saved.credentials["accessToken"]
    authorizations = [r for r in gateway.requests if "SalesOrderSet?" in r]
    assert len(authorizations) == 4  # 3 pages of 100, one of them asked twice

"""End to end on a real Celery worker: Marketo leads (Bulk Extract from the local Marketo server)
into Local files and into S3 (moto), a CSV of leads from Local files into Marketo with a refused
record, and a malformed export file failing the run with nothing published."""

from __future__ import annotations

import json
import os
from urllib.parse import urlsplit

import pytest

from connections import services as connection_services
from connections.connectors.marketo import bulk, client
from connections.tests.marketo_server import CLIENT_ID, CLIENT_SECRET, serve
from flows import services
from flows.tests.test_runs import execution_folder, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
FIELDS = ["id", "email", "company", "annualRevenue", "unsubscribed", "createdAt"]


@pytest.fixture
def quick(monkeypatch):
    """Poll export jobs and back off without real waits."""
    monkeypatch.setattr(bulk, "POLL_SECONDS", (0,))
    monkeypatch.setattr(client, "_wait", lambda seconds: None)


def marketo_connection(market) -> None:
    connection_services.create_connection(
        name="marketo", connector_type="Marketo",
        properties={"instanceUrl": market.base, "earliestDate": "2024-01-01"},
        credentials={"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET})


def leads_flow(destination: dict) -> dict:
    return {
        "flowName": "marketo-leads",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {"connectorType": "Marketo", "connectorProfileName": "marketo",
                             "sourceConnectorProperties": {"Marketo": {"object": "leads"}}},
        "destinationFlowConfigList": [destination],
        "tasks": [
            {"sourceFields": FIELDS, "connectorOperator": {"Marketo": "PROJECTION"}, "taskType": "Filter",
             "taskProperties": {}},
            {"sourceFields": ["createdAt"], "connectorOperator": {"Marketo": "BETWEEN"}, "taskType": "Filter",
             "taskProperties": {"DATA_TYPE": "datetime", "LOWER_BOUND": "2024-01-20T00:00:00Z",
                                "UPPER_BOUND": "2024-02-25T00:00:00Z"}},
            *[{"sourceFields": [f], "connectorOperator": {"Marketo": "NO_OP"}, "destinationField": f,
               "taskType": "Map", "taskProperties": {}} for f in FIELDS],
        ],
    }


def local_files_destination(folder: str = "out/leads") -> dict:
    return {"connectorType": "CustomConnector", "connectorLabel": "LocalFiles", "connectorProfileName": "files",
            "destinationConnectorProperties": {"CustomConnector": {"entityName": folder,
                                                                   "customProperties": {"fileType": "JSONL"}}}}


def files_connection(data_dir) -> None:
    connection_services.create_connection(name="files", connector_type="CustomConnector",
                                          connector_label="LocalFiles", properties={"rootPath": str(data_dir)})


EXPECTED = list(range(19 * 24 + 1, 55 * 24 + 2))  # created 2024-01-20T00:00 .. 2024-02-25T00:00, both kept


def test_marketo_leads_to_local_files_on_a_real_worker(celery_worker, data_dir, monkeypatch, quick):
    market = serve(monkeypatch, lead_count=3000, token_expires_after=6)  # the token expires mid-run
    marketo_connection(market)
    files_connection(data_dir)

    execution = wait_for(services.start_flow(services.create_flow(leads_flow(local_files_destination()))))

    assert execution.status == "Successful", execution.error_message
    assert execution.records_processed == execution.records_written == len(EXPECTED)
    found = [json.loads(line) for f in sorted(execution_folder(execution).iterdir())
             for line in f.read_text().splitlines()]
    assert [r["id"] for r in found] == EXPECTED
    first = next(r for r in found if r["id"] == 461)
    assert first == {"id": 461, "email": "lead461@example.com", "company": "Ünïcødé 日本", "annualRevenue": None,
                     "unsubscribed": True, "createdAt": "2024-01-20T04:00:00Z"}
    jobs = [j for j in market.jobs.values() if "kind" in j]
    assert [(j["filter"], j["start"].isoformat(), j["end"].isoformat()) for j in jobs] == [
        ("createdAt", "2024-01-20T00:00:00+00:00", "2024-02-19T23:59:59+00:00"),
        ("createdAt", "2024-02-20T00:00:00+00:00", "2024-02-25T00:00:00+00:00")]
    assert market.token_calls == 2  # one refresh after Marketo's 602
    assert execution.source_api_calls >= len(jobs) * 4


def test_marketo_leads_to_s3_on_a_real_worker(celery_worker, monkeypatch, quick):
    from connections.tests import s3server

    endpoint = s3server.need_s3()
    market = serve(monkeypatch, lead_count=3000)
    monkeypatch.setenv("SLUICE_NET_ALLOW", f"{os.environ['SLUICE_NET_ALLOW']},{urlsplit(endpoint).netloc}")
    marketo_connection(market)
    info = s3server.connection_info()
    connection_services.create_connection(name="s3", connector_type="S3", properties=dict(info.properties),
                                          credentials=dict(info.credentials))
    bucket = s3server.new_bucket()
    destination = {"connectorType": "S3", "connectorProfileName": "s3", "destinationConnectorProperties": {
        "S3": {"bucketName": bucket, "bucketPrefix": "marketo", "s3OutputFormatConfig": {"fileType": "JSON"}}}}

    execution = wait_for(services.start_flow(services.create_flow(leads_flow(destination))))

    assert execution.status == "Successful", execution.error_message
    data = [k for k in s3server.keys(bucket, "marketo/") if not k.endswith("_manifest.json")]
    found = [json.loads(line) for key in data for line in s3server.body(bucket, key).decode().splitlines()]
    assert sorted(r["id"] for r in found) == EXPECTED


def test_a_csv_of_leads_into_marketo_with_a_refused_record(celery_worker, data_dir, monkeypatch, quick):
    market = serve(monkeypatch)
    marketo_connection(market)
    files_connection(data_dir)
    (data_dir / "leads.csv").write_text("email,firstName,leadScore\nana@example.com,Ana,10\n"
                                        ",Nobody,3\nzoë@example.com,Zoë,7\n", encoding="utf-8")
    fields = ["email", "firstName", "leadScore"]
    flow = services.create_flow({
        "flowName": "leads-into-marketo",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {"connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
                             "connectorProfileName": "files",
                             "sourceConnectorProperties": {"CustomConnector": {"entityName": "leads.csv"}}},
        "destinationFlowConfigList": [{
            "connectorType": "Marketo", "connectorProfileName": "marketo",
            "destinationConnectorProperties": {"Marketo": {
                "object": "leads", "writeOperationType": "UPSERT", "idFieldNames": ["email"],
                "errorHandlingConfig": {"failOnFirstDestinationError": False}}}}],
        "tasks": [{"sourceFields": fields, "connectorOperator": {"CustomConnector": "PROJECTION"},
                   "taskType": "Filter", "taskProperties": {}},
                  *[{"sourceFields": [f], "connectorOperator": {"CustomConnector": "NO_OP"}, "destinationField": f,
                     "taskType": "Map", "taskProperties": {"DESTINATION_DATA_TYPE": "integer"}
                     if f == "leadScore" else {}} for f in fields]],
    })

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Successful", execution.error_message
    assert execution.records_written == 2 and execution.record_failures == 1
    assert set(market.written) == {"ana@example.com", "zoë@example.com"}
    assert market.written["zoë@example.com"]["leadScore"] == 7
    messages = " ".join(execution.log_lines.values_list("message", flat=True))
    assert "Value for lookup field 'email' required" in messages


def test_a_malformed_export_file_fails_the_run_and_publishes_nothing(celery_worker, data_dir, monkeypatch, quick):
    market = serve(monkeypatch, lead_count=3000, malformed=True)
    marketo_connection(market)
    files_connection(data_dir)

    execution = wait_for(services.start_flow(services.create_flow(leads_flow(local_files_destination()))))

    assert execution.status == "Error"
    assert "Marketo sent a malformed page in the export file of leads" in execution.error_message
    assert not (data_dir / "out" / "leads").exists() or not any((data_dir / "out" / "leads").rglob("*.jsonl"))

"""End to end: Amplitude events (the local project) through a real Celery worker into Local files
and into S3 (moto), with the export range from a BETWEEN filter on server_upload_time; a malformed
archive fails the run naming Amplitude and the file, and publishes nothing."""

from __future__ import annotations

import json

import pytest

from connections import services as connection_services
from connections.tests import s3server
from connections.tests.amplitude_server import serve
from flows import services
from flows.document.validate import validate_flow_document
from flows.tests.test_runs import output_rows, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

LOWER, UPPER = "1764540000000", "1764550799999"  # 2025-11-30 22:00:00 to 2025-12-01 00:59:59.999 UTC
FIELDS = ["uuid", "event_type", "server_upload_time", "event_properties", "city"]


def document(destination: dict, schedule: str | None = None) -> dict:
    trigger = ({"triggerType": "Scheduled", "triggerProperties": {"Scheduled": {"scheduleExpression": schedule}}}
               if schedule else {"triggerType": "OnDemand"})
    return {
        "flowName": "amplitude-events",
        "triggerConfig": trigger,
        "sourceFlowConfig": {"connectorType": "Amplitude", "connectorProfileName": "amplitude",
                             "sourceConnectorProperties": {"Amplitude": {"object": "events"}}},
        "destinationFlowConfigList": [destination],
        "tasks": [
            {"sourceFields": ["server_upload_time"], "connectorOperator": {"Amplitude": "BETWEEN"},
             "taskType": "Filter", "taskProperties": {"DATA_TYPE": "datetime", "LOWER_BOUND": LOWER,
                                                      "UPPER_BOUND": UPPER}},
            # AppFlow's Amplitude operators are BETWEEN only: a Map task carries no connectorOperator
            *[{"sourceFields": [f], "destinationField": f, "taskType": "Map", "taskProperties": {}}
              for f in FIELDS],
        ],
    }


def local_files(folder: str = "out/amplitude") -> dict:
    return {"connectorType": "CustomConnector", "connectorLabel": "LocalFiles", "connectorProfileName": "files",
            "destinationConnectorProperties": {"CustomConnector": {"entityName": folder,
                                                                   "customProperties": {"fileType": "JSONL"}}}}


def connect(project, data_dir) -> None:
    connection_services.create_connection(
        name="amplitude", connector_type="Amplitude",
        properties={"dataResidency": "EU", "baseUrl": project.base},
        credentials={"apiKey": project.api_key, "secretKey": project.secret_key})
    connection_services.create_connection(
        name="files", connector_type="CustomConnector", connector_label="LocalFiles",
        properties={"rootPath": str(data_dir)})


def test_amplitude_events_into_local_files_on_a_real_worker(celery_worker, data_dir, monkeypatch):
    project = serve(monkeypatch, events_per_hour=50, per_file=20, empty_hours={"20251130T23"})
    connect(project, data_dir)

    execution = wait_for(services.start_flow(services.create_flow(document(local_files()))))

    assert execution.status == "Successful", execution.error_message
    # the first request was the connection test (the list of event types), when the connection was saved
    assert [r[:2] for r in project.requests[1:]] == [("20251130T22", "20251130T22"), ("20251130T23", "20251130T23"),
                                                 ("20251201T00", "20251201T00")]
    rows = output_rows(execution)
    assert execution.records_processed == 100 and len(rows) == 100
    assert set(rows[0]) == set(FIELDS)
    assert {r["city"] for r in rows} >= {"Zürich", "東京", None}
    assert json.loads(rows[0]["event_properties"])["song"]["title"] == "Für Elise"
    assert all("2025-11-30T22" <= r["server_upload_time"] < "2025-12-01T01" for r in rows)
    messages = " ".join(execution.log_lines.values_list("message", flat=True))
    assert "API calls: 3 to the source" in messages
    assert project.secret_key not in messages


def test_amplitude_events_into_s3_on_a_real_worker(celery_worker, data_dir, monkeypatch):
    project = serve(monkeypatch, events_per_hour=10)
    s3server.need_s3()
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")  # the local project and the moto server
    connect(project, data_dir)
    bucket = s3server.new_bucket()
    s3 = s3server.connection_info()
    connection_services.create_connection(name="bucket", connector_type="S3", properties=dict(s3.properties),
                                          credentials=dict(s3.credentials))
    destination = {"connectorType": "S3", "connectorProfileName": "bucket",
                   "destinationConnectorProperties": {"S3": {"bucketName": bucket, "bucketPrefix": "amplitude",
                                                             "s3OutputFormatConfig": {"fileType": "JSON"}}}}

    execution = wait_for(services.start_flow(services.create_flow(document(destination))))

    assert execution.status == "Successful", execution.error_message
    keys = [k for k in s3server.keys(bucket, "amplitude/") if k.endswith(".jsonl")]
    rows = [json.loads(line) for key in keys for line in s3server.body(bucket, key).decode().splitlines()]
    assert keys and len(rows) == 30 and len({r["uuid"] for r in rows}) == 30


def test_a_malformed_archive_fails_the_run_and_publishes_nothing(celery_worker, data_dir, monkeypatch):
    project = serve(monkeypatch, events_per_hour=5, malformed={"20251201T00"})
    connect(project, data_dir)

    execution = wait_for(services.start_flow(services.create_flow(document(local_files()))))

    assert execution.status == "Error"
    assert "Amplitude's export of the hour 2025-12-01 00:00 UTC, file 187520/187520_2025-12-01_0#0.json.gz, " \
           "line 3 is not a JSON event" in execution.error_message
    assert not (data_dir / "out" / "amplitude").exists() or not any((data_dir / "out" / "amplitude").rglob("*.*"))


def test_an_amplitude_flow_runs_at_most_once_a_day():
    problems = validate_flow_document(document(local_files(), schedule="rate(1hours)"))
    assert any("scheduleExpression" in str(p) and "Amplitude" in str(p) for p in problems), problems
    assert not [p for p in validate_flow_document(document(local_files(), schedule="rate(1days)"))
                if "schedule" in str(p)]


def test_a_scheduled_incremental_run_exports_the_hours_of_its_window(celery_worker, data_dir, monkeypatch):
    from datetime import UTC, datetime

    from flows.models import Execution

    project = serve(monkeypatch, events_per_hour=4)
    connect(project, data_dir)
    doc = document(local_files(), schedule="rate(1days)")
    doc["triggerConfig"]["triggerProperties"]["Scheduled"]["dataPullMode"] = "Incremental"
    doc["sourceFlowConfig"]["incrementalPullConfig"] = {"datetimeTypeFieldName": "server_upload_time"}
    doc["tasks"] = doc["tasks"][1:]  # no BETWEEN filter: the window alone decides
    flow = services.create_flow(doc)
    window = (datetime(2025, 11, 30, 22, 30, tzinfo=UTC), datetime(2025, 12, 1, 0, 30, tzinfo=UTC))

    execution = wait_for(services.start_flow(flow, trigger=Execution.Trigger.SCHEDULED, window=window))

    assert execution.status == "Successful", execution.error_message
    assert [r[0] for r in project.requests[1:]] == ["20251130T22", "20251130T23", "20251201T00"]
    uploaded = sorted(r["server_upload_time"] for r in output_rows(execution))
    # 4 events an hour at :00, :15, :30, :45: from 22:30 (included) to 00:30 (excluded)
    assert uploaded[0] == "2025-11-30T22:30:00.000000Z" and uploaded[-1] == "2025-12-01T00:15:00.000000Z"
    assert len(uploaded) == 8

"""End to end: Pardot prospects (the local API v5 server) run by a real Celery worker into Local files
and into S3 (moto), with the stored access token refused in the middle of the run: the worker
refreshes it once through the shared OAuth machinery and carries on. A daily-quota answer fails the
run with Pardot's reason and publishes nothing."""

from __future__ import annotations

import json

import pytest

from connections.models import Connection
from connections.tests import s3server
from connections.tests.pardot_server import BUSINESS_UNIT, CLIENT_ID, CLIENT_SECRET, serve
from flows import services
from flows.tests.test_runs import output_rows, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
FIELDS = ["id", "email", "firstName", "lastName", "updatedAt"]


def pardot_connection(fake) -> None:
    connection = Connection(name="pardot", connector_type="Pardot",
                            properties={"businessUnitId": BUSINESS_UNIT, "clientId": CLIENT_ID,
                                        "instanceUrl": fake.base, "loginUrl": fake.base})
    connection.credentials = {"clientSecret": CLIENT_SECRET, "accessToken": "pardot-token",
                              "refreshToken": "pardot-refresh", "expiresAt": 0}
    connection.save()


def document(destination: dict) -> dict:
    return {
        "flowName": "PardotProspects",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {"connectorType": "Pardot", "connectorProfileName": "pardot",
                             "sourceConnectorProperties": {"Pardot": {"object": "prospects"}}},
        "destinationFlowConfigList": [destination],
        "tasks": [
            {"sourceFields": FIELDS, "connectorOperator": {"Pardot": "PROJECTION"}, "taskType": "Filter"},
            *[{"sourceFields": [f], "connectorOperator": {"Pardot": "NO_OP"}, "taskType": "Map",
               "destinationField": f, "taskProperties": {}} for f in FIELDS],
        ],
    }


def local_files(name: str) -> dict:
    return {"connectorType": "CustomConnector", "connectorLabel": "LocalFiles", "connectorProfileName": name,
            "destinationConnectorProperties": {"CustomConnector": {
                "entityName": "out/pardot", "customProperties": {"fileType": "JSONL"}}}}


def test_prospects_into_local_files_on_a_real_worker(celery_worker, demo, monkeypatch):
    fake = serve(monkeypatch)
    fake.revoke_after = 2  # page 3 finds the token expired
    pardot_connection(fake)
    flow = services.create_flow(document(local_files(demo["connection"].name)))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Successful", execution.error_message
    assert execution.records_processed == 2500 and execution.records_written == 2500
    rows = output_rows(execution)
    assert len(rows) == 2500 and set(rows[0]) == set(FIELDS)
    assert rows[0]["firstName"] == "Zoë" and rows[0]["lastName"] == "日本"
    assert rows[0]["updatedAt"] == "2026-01-01T10:00:00-05:00"
    assert [c["grant_type"] for c in fake.token_calls] == ["refresh_token"]
    assert Connection.objects.get(name="pardot").credentials["accessToken"].startswith("fresh-")


def test_prospects_into_s3_on_a_real_worker(celery_worker, owner, monkeypatch):
    fake = serve(monkeypatch)
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")  # the Pardot server and moto, on their two ports
    bucket = s3server.new_bucket()
    pardot_connection(fake)
    flow = services.create_flow(document(s3server.lake_destination(bucket, "pardot")))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Successful", execution.error_message
    keys = [k for k in s3server.keys(bucket) if k.endswith(".jsonl")]
    assert keys == [f"pardot/{execution.pk}/part-00000.jsonl"]
    rows = [json.loads(line) for k in keys for line in s3server.body(bucket, k).decode().splitlines()]
    assert len(rows) == 2500 and {r["id"] for r in rows} == set(range(1, 2501))


def test_the_daily_quota_fails_the_run_and_publishes_nothing(celery_worker, demo, monkeypatch):
    fake = serve(monkeypatch)
    fake.daily_limit_at = 2
    pardot_connection(fake)
    flow = services.create_flow(document(local_files(demo["connection"].name)))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Error"
    assert "error 122" in execution.error_message and "prospects page 2" in execution.error_message
    assert len(fake.requests) == 2  # failed at once: no retry storm against a used-up quota
    assert not (demo["root"] / "out").exists() or not any((demo["root"] / "out").rglob("*.jsonl"))


def test_a_backfill_window_is_pushed_down_to_pardot_on_a_real_worker(celery_worker, demo, monkeypatch):
    from datetime import timedelta

    from connections.tests.pardot_server import START

    fake = serve(monkeypatch)
    pardot_connection(fake)
    flow = services.create_flow(document(local_files(demo["connection"].name)))
    window = (START + timedelta(hours=100), START + timedelta(hours=200))

    execution = wait_for(services.start_flow(flow, window=window))

    assert execution.status == "Successful", execution.error_message
    assert sorted(r["id"] for r in output_rows(execution)) == list(range(100, 200))
    assert fake.requests[0]["updatedAtAfterOrEqualTo"] == "2026-01-05T18:00:00+00:00"
    assert fake.requests[0]["updatedAtBeforeOrEqualTo"] == "2026-01-09T22:00:00+00:00"

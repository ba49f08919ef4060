"""End to end: a GA4 report (the local Google server) run by a real Celery worker into Local files and
into S3 (moto): the date range from a BETWEEN filter on date, a 401 in the middle of the run refreshed
once through the shared OAuth machinery, a RESOURCE_EXHAUSTED answer waited out, and the property
quota tokens in the run log."""

from __future__ import annotations

import json

import pytest

from connections.connectors.googleanalytics import client, connector
from connections.models import Connection
from connections.tests import s3server
from connections.tests.ga4_server import CLIENT_ID, CLIENT_SECRET, COUNTRIES, PROPERTY, serve
from flows import services
from flows.tests.test_runs import output_rows, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
FIELDS = ["date", "country", "customUser:plan", "sessions", "bounceRate"]


def ga_connection(fake) -> None:
    connection = Connection(name="ga", connector_type="Googleanalytics",
                            properties={"clientId": CLIENT_ID, "apiBaseUrl": fake.base})
    connection.credentials = {"clientSecret": CLIENT_SECRET, "accessToken": "ya29.first",
                              "refreshToken": "google-refresh", "expiresAt": 0}
    connection.save()


def document(destination: dict) -> dict:
    return {
        "flowName": "GoogleAnalyticsDaily",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {"connectorType": "Googleanalytics", "connectorProfileName": "ga",
                             "sourceConnectorProperties": {"GoogleAnalytics": {"object": PROPERTY}}},
        "destinationFlowConfigList": [destination],
        "tasks": [
            {"sourceFields": FIELDS, "connectorOperator": {"GoogleAnalytics": "PROJECTION"}, "taskType": "Filter"},
            {"sourceFields": ["date"], "connectorOperator": {"GoogleAnalytics": "BETWEEN"}, "taskType": "Filter",
             "taskProperties": {"DATA_TYPE": "date", "LOWER_BOUND": "2026-01-01", "UPPER_BOUND": "2026-01-31"}},
            # no connectorOperator on Map tasks: AppFlow's GoogleAnalytics operators have no NO_OP
            *[{"sourceFields": [f], "taskType": "Map", "destinationField": f.replace(":", "_"), "taskProperties": {}} for f in FIELDS],
        ],
    }


def test_a_ga4_report_into_local_files_on_a_real_worker(celery_worker, demo, monkeypatch):
    fake = serve(monkeypatch)
    monkeypatch.setattr(connector, "PAGE_SIZE", 40)
    monkeypatch.setattr(client, "pause", lambda seconds: None)
    fake.exhausted = [2]  # page 1 is refused once for quota (call 2 of the run) ...
    fake.revoke_after = 3  # ... and page 2 (call 4) finds the token expired
    ga_connection(fake)
    flow = services.create_flow(document({
        "connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
        "connectorProfileName": demo["connection"].name,
        "destinationConnectorProperties": {"CustomConnector": {
            "entityName": "out/ga4", "customProperties": {"fileType": "JSONL"}}}}))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Successful", execution.error_message
    rows = output_rows(execution)
    assert len(rows) == 31 * len(COUNTRIES) == execution.records_written
    assert set(rows[0]) == {"date", "country", "customUser_plan", "sessions", "bounceRate"}
    assert {r["date"][:7] for r in rows} == {"2026-01"} and "Côte d’Ivoire" in {r["country"] for r in rows}
    assert fake.reports[0]["dateRanges"] == [{"startDate": "2026-01-01", "endDate": "2026-01-31"}]
    assert [r["offset"] for r in fake.reports] == [0, 40, 80, 120]
    assert fake.calls == 7  # metadata, page 1 twice, page 2 twice, pages 3 and 4
    assert [c["grant_type"] for c in fake.token_calls] == ["refresh_token"]
    messages = list(execution.log_lines.values_list("message", flat=True))
    assert any(m.startswith(f"Google Analytics property quota of {PROPERTY}: this run's 4 report page(s) used 40 "
                            "tokens") for m in messages), messages


def test_a_ga4_report_into_s3_on_a_real_worker(celery_worker, owner, monkeypatch):
    fake = serve(monkeypatch)
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")  # the Google server and moto, on their two ports
    bucket = s3server.new_bucket()
    ga_connection(fake)
    flow = services.create_flow(document(s3server.lake_destination(bucket, "ga4")))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Successful", execution.error_message
    keys = [k for k in s3server.keys(bucket) if k.endswith(".jsonl")]
    assert keys == [f"ga4/{execution.pk}/part-00000.jsonl"]
    rows = [json.loads(line) for k in keys for line in s3server.body(bucket, k).decode().splitlines()]
    assert len(rows) == 31 * len(COUNTRIES) and isinstance(rows[0]["sessions"], int)


def test_a_backfill_window_is_the_report_date_range_on_a_real_worker(celery_worker, demo, monkeypatch):
    from datetime import UTC, datetime

    fake = serve(monkeypatch)
    ga_connection(fake)
    doc = document({"connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
                    "connectorProfileName": demo["connection"].name,
                    "destinationConnectorProperties": {"CustomConnector": {
                        "entityName": "out/ga4", "customProperties": {"fileType": "JSONL"}}}})
    doc["tasks"].pop(1)  # no BETWEEN filter: the window decides the days
    flow = services.create_flow(doc)
    window = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC))

    execution = wait_for(services.start_flow(flow, window=window))

    assert execution.status == "Successful", execution.error_message
    assert fake.reports[0]["dateRanges"] == [{"startDate": "2026-03-01", "endDate": "2026-03-03"}]
    assert sorted({r["date"] for r in output_rows(execution)}) == ["2026-03-01", "2026-03-02", "2026-03-03"]

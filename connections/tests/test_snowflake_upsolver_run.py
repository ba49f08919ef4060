"""End to end on a real Celery worker: the Local files demo CSV (accounts.csv, 500 rows) into
Snowflake (its stand-in: fakesnow, with the stage bucket on moto, snowflake_standin.py) and into
Upsolver (moto)."""

from __future__ import annotations

import json

import pytest

from connections.models import Connection
from connections.tests import s3server
from connections.tests.snowflake_standin import standin
from flows import services
from flows.tests.test_runs import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def document(demo, destination: dict) -> dict:
    return {
        "flowName": "AccountsOut",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {"connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
                             "connectorProfileName": demo["connection"].name,
                             "sourceConnectorProperties": {"CustomConnector": {"entityName": "accounts.csv"}}},
        "destinationFlowConfigList": [destination],
        "tasks": [{"sourceFields": [""], "connectorOperator": {"CustomConnector": "NO_OP"}, "taskType": "Map_all",
                   "taskProperties": {"EXCLUDE_SOURCE_FIELDS_LIST": "[]"}}],
    }


def test_the_demo_csv_into_snowflake_on_a_real_worker(celery_worker, demo, monkeypatch, tmp_path):
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")  # moto
    snow = standin(monkeypatch, tmp_path)
    connection = Connection(name="snow", connector_type="Snowflake", properties=snow.properties())
    connection.credentials = snow.credentials()
    connection.save()
    flow = services.create_flow(document(demo, {
        "connectorType": "Snowflake", "connectorProfileName": "snow",
        "destinationConnectorProperties": {"Snowflake": {
            "object": "SLUICE_DB.PUBLIC.ACCOUNTS", "intermediateBucketName": snow.bucket, "bucketPrefix": "crm",
            "customProperties": {"createTableIfMissing": "true"}}}}))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Successful", execution.error_message
    assert execution.records_written == 500 == snow.sql("SELECT COUNT(*) FROM ACCOUNTS")[0][0]
    assert snow.copies == [f"@SLUICE_DB.PUBLIC.APPFLOW_STAGE/crm/.sluice-snowflake/{execution.pk}/1/"]
    assert s3server.keys(snow.bucket) == []  # the stage is emptied
    messages = " ".join(execution.log_lines.values_list("message", flat=True))
    assert "s3cret-pass" not in messages and s3server.SECRET_KEY not in messages


def test_the_demo_csv_into_upsolver_on_a_real_worker(celery_worker, demo, monkeypatch):
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")
    bucket = s3server.new_bucket("upsolver-appflow-")
    connection = Connection(name="ups", connector_type="Upsolver",
                            properties={"region": s3server.REGION, "endpointUrl": s3server.need_s3()})
    connection.credentials = {"accessKeyId": s3server.ACCESS_KEY, "secretAccessKey": s3server.SECRET_KEY}
    connection.save()
    flow = services.create_flow(document(demo, {
        "connectorType": "Upsolver", "connectorProfileName": "ups",
        "destinationConnectorProperties": {"Upsolver": {
            "bucketName": bucket, "bucketPrefix": "crm",
            "s3OutputFormatConfig": {"fileType": "JSON", "prefixConfig": {"pathPrefixHierarchy": ["EXECUTION_ID"]}}}}}))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Successful", execution.error_message
    assert s3server.keys(bucket) == [f"crm/{execution.pk}/_manifest.json", f"crm/{execution.pk}/part-00000.jsonl"]
    lines = s3server.body(bucket, f"crm/{execution.pk}/part-00000.jsonl").decode().splitlines()
    assert len(lines) == 500 == execution.records_written and "Id" in json.loads(lines[0])

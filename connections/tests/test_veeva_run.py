"""End to end: Veeva Vault documents (the local Vault) run by a real Celery worker into Local files
and into S3 (moto). The session ends in the middle of the run: the worker signs in once more and
carries on. A malformed page fails the run naming Veeva Vault and the page, and publishes nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from connections.models import Connection
from connections.tests import s3server
from connections.tests.veeva_server import BASE_TIME, serve
from flows import services
from flows.tests.test_runs import output_rows, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
FIELDS = ["id", "name__v", "title__v", "modified_date__v", "size__v"]


def veeva_connection(vault) -> None:
    connection = Connection(name="vault", connector_type="Veeva", properties={"instanceUrl": vault.base})
    connection.credentials = {"username": vault.user, "password": vault.password}
    connection.save()


def document(destination: dict, source: dict | None = None) -> dict:
    return {
        "flowName": "VaultDocuments",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {"connectorType": "Veeva", "connectorProfileName": "vault",
                             "sourceConnectorProperties": {"Veeva": source or {"object": "documents"}}},
        "destinationFlowConfigList": [destination],
        "tasks": [
            {"sourceFields": FIELDS, "connectorOperator": {"Veeva": "PROJECTION"}, "taskType": "Filter"},
            *[{"sourceFields": [f], "connectorOperator": {"Veeva": "NO_OP"}, "taskType": "Map",
               "destinationField": f, "taskProperties": {}} for f in FIELDS],
        ],
    }


def local_files(name: str) -> dict:
    return {"connectorType": "CustomConnector", "connectorLabel": "LocalFiles", "connectorProfileName": name,
            "destinationConnectorProperties": {"CustomConnector": {
                "entityName": "out/vault", "customProperties": {"fileType": "JSONL"}}}}


def test_documents_into_local_files_with_the_session_ending_mid_run(celery_worker, demo, monkeypatch):
    vault = serve(monkeypatch, documents=45, page_size=10)
    vault.expire_after = 2  # page 3 finds the session ended
    veeva_connection(vault)
    flow = services.create_flow(document(local_files(demo["connection"].name)))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Successful", execution.error_message
    assert execution.records_processed == execution.records_written == 45
    rows = sorted(output_rows(execution), key=lambda r: r["id"])
    assert [r["id"] for r in rows] == list(range(1, 46))
    assert rows[0] == {"id": 1, "name__v": "Cholecap brochure 1 — ü’s", "title__v": "Title 1",
                       "modified_date__v": "2024-03-01T09:00:00.000Z", "size__v": 1024.0}
    assert rows[3]["title__v"] is None
    assert vault.sign_ins == 2
    messages = list(execution.log_lines.values_list("message", flat=True))
    assert any("Veeva Vault API limits left after the read: burstlimitremaining 1999" in m for m in messages)


def test_documents_of_a_window_into_s3_on_a_real_worker(celery_worker, owner, monkeypatch):
    vault = serve(monkeypatch, documents=30, page_size=7)
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")  # the Vault and moto, on their two ports
    bucket = s3server.new_bucket()
    veeva_connection(vault)
    flow = services.create_flow(document(s3server.lake_destination(bucket, "vault")))
    window = (BASE_TIME + timedelta(hours=10), BASE_TIME + timedelta(hours=20))

    execution = wait_for(services.start_flow(flow, window=window))

    assert execution.status == "Successful", execution.error_message
    keys = [k for k in s3server.keys(bucket) if k.endswith(".jsonl")]
    assert keys == [f"vault/{execution.pk}/part-00000.jsonl"]
    rows = [json.loads(line) for k in keys for line in s3server.body(bucket, k).decode().splitlines()]
    assert sorted(r["id"] for r in rows) == list(range(10, 20))
    assert vault.queries[-1].endswith("WHERE modified_date__v >= '2024-03-01T18:00:00.000Z' AND "
                                      "modified_date__v < '2024-03-02T04:00:00.000Z' ORDER BY id ASC")


def test_a_malformed_page_fails_the_run_and_publishes_nothing(celery_worker, demo, monkeypatch):
    vault = serve(monkeypatch, documents=30, page_size=10)
    vault.malformed_at = 2
    veeva_connection(vault)
    flow = services.create_flow(document(local_files(demo["connection"].name)))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Error"
    assert "Veeva Vault" in execution.error_message and "page 2" in execution.error_message
    assert not (demo["root"] / "out").exists() or not any((demo["root"] / "out").rglob("*.jsonl"))


def test_documents_with_their_files_into_s3_on_a_real_worker(celery_worker, owner, monkeypatch):
    vault = serve(monkeypatch, documents=8, page_size=3)
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")
    bucket = s3server.new_bucket()
    veeva_connection(vault)
    flow = services.create_flow(document(s3server.lake_destination(bucket, "vault"), {
        "object": "documents", "includeSourceFiles": True, "includeRenditions": True}))

    execution = wait_for(services.start_flow(flow))

    assert execution.status == "Successful", execution.error_message
    run = f"vault/{execution.pk}/"
    keys = [k.removeprefix(run) for k in s3server.keys(bucket, run)]
    sources = [k for k in keys if "/source/" in k]
    assert sources == [f"documents/{n}/{n % 3}.1/source/{'Broschüre 7' if n == 7 else f'brochure-{n}'}.pdf"
                       for n in (1, 2, 3, 4, 6, 7, 8)]  # 5 is a placeholder
    assert [k for k in keys if "/renditions/" in k] == [
        f"documents/{n}/{n % 3}.1/renditions/viewable_rendition__v/brochure-{n}-viewable.pdf" for n in (1, 3, 5, 7)]
    assert s3server.body(bucket, run + sources[1]) == b"%PDF-1.4 document 2 version 2.1\n" * 100
    manifest = json.loads(s3server.body(bucket, run + "_manifest.json"))
    assert len(manifest["documents"]) == 11 and manifest["records"] == 8 == execution.records_written
    messages = list(execution.log_lines.values_list("message", flat=True))
    assert any("11 files from Veeva Vault" in m for m in messages), messages
    assert any("document 5 version 2.1" in m and "without the file" in m for m in messages)
    assert not s3server.keys(bucket, "vault/.sluice-staging/")


def test_a_file_export_to_a_destination_that_stores_no_files_is_refused_when_saved():
    from flows.document import validate_flow_document

    flow = document({"connectorType": "Salesforce", "connectorProfileName": "sf",
                     "destinationConnectorProperties": {"Salesforce": {"object": "Account"}}},
                    {"object": "documents", "includeSourceFiles": True})
    errors = [(e.path, e.message) for e in validate_flow_document(flow)]
    assert any(path == "destinationFlowConfigList[0].connectorType" and "cannot store files" in message
               and "choose S3 or Local files" in message for path, message in errors), errors

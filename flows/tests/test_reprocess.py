"""Retry rejected records: a new run of the same flow version over exactly the records an
execution's destination refused, read back from where errorHandlingConfig wrote them."""

from __future__ import annotations

import html

import pyarrow as pa
import pytest

from connections import services as connection_services
from connections.tests import pgserver
from console.errors import UserError
from flows import services
from flows.engine.rejected import records_of
from flows.models import Execution
from flows.reprocess import _entity
from flows.tests.test_runs import wait_for

CSV = "id,name,amount\n1,Acme,10\n2,Globex,-5\n3,Initech,7\n4,Umbrella,-1\n5,Hooli,3\n"


def map_task(source: str, destination: str) -> dict:
    return {"sourceFields": [source], "connectorOperator": {"CustomConnector": "NO_OP"}, "taskType": "Map",
            "destinationField": destination, "taskProperties": {}}


def flow_to_postgres(table: str) -> dict:
    """accounts.csv to a PostgreSQL table, renaming every field (so the records rejected are in the
    destination's names, not the source's), refused records kept in the Local files folder rejects/."""
    return {
        "flowName": "to-warehouse",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {
            "connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
            "connectorProfileName": "demo-local-files",
            "sourceConnectorProperties": {"CustomConnector": {"entityName": "amounts.csv"}},
        },
        "destinationFlowConfigList": [{
            "connectorType": "CustomConnector", "connectorLabel": "PostgreSQL", "connectorProfileName": "warehouse",
            "destinationConnectorProperties": {"CustomConnector": {
                "entityName": table, "writeOperationType": "INSERT",
                "errorHandlingConfig": {"failOnFirstDestinationError": False, "bucketPrefix": "rejects",
                                        "connectorProfileName": "demo-local-files"},
            }},
        }],
        "tasks": [map_task("id", "Id"), map_task("name", "Name"), map_task("amount", "Amount")],
    }


@pytest.mark.django_db(transaction=True)
def test_rejected_records_are_retried_after_the_cause_is_fixed(celery_worker, demo):
    pgserver.need_postgres()
    schema = pgserver.fresh_schema()
    table = f"{schema}.amounts"
    with pgserver.sql_connection() as sql:
        sql.execute(f'CREATE TABLE {schema}.amounts ("Id" integer PRIMARY KEY, "Name" text, '
                    '"Amount" numeric CONSTRAINT no_negative CHECK ("Amount" >= 0))')
    (demo["root"] / "amounts.csv").write_text(CSV)
    connection_services.create_connection(
        name="warehouse", connector_type="CustomConnector", connector_label="PostgreSQL",
        properties={"host": pgserver.HOST, "port": str(pgserver.PORT), "database": pgserver.need_postgres(),
                    "sslMode": "prefer"},
        credentials={"username": pgserver.USER, "password": pgserver.PASSWORD},
    )
    flow = services.create_flow(flow_to_postgres(table))

    first = wait_for(services.start_flow(flow))
    assert first.status == "Successful", first.error_message
    assert (first.records_written, first.record_failures) == (3, 2)
    assert first.rejects_location == str(demo["root"] / "rejects" / str(first.pk))

    with pgserver.sql_connection() as sql:  # the cause, fixed
        sql.execute(f"ALTER TABLE {schema}.amounts DROP CONSTRAINT no_negative")
    retry = wait_for(services.retry_rejected_records(first))
    assert retry.status == "Successful", retry.error_message
    assert retry.reprocess_of == first and retry.version == first.version and retry.trigger == "OnDemand"
    assert (retry.records_processed, retry.records_written, retry.record_failures) == (2, 2, 0)
    with pgserver.sql_connection() as sql:
        rows = sql.execute(f'SELECT "Id", "Name", "Amount" FROM {schema}.amounts ORDER BY "Id"').fetchall()
    assert [(i, n, int(a)) for i, n, a in rows] == [
        (1, "Acme", 10), (2, "Globex", -5), (3, "Initech", 7), (4, "Umbrella", -1), (5, "Hooli", 3)]
    log = list(retry.log_lines.values_list("message", flat=True))
    assert any(f"Retrying the records that execution {first.pk} had rejected" in line for line in log)


@pytest.mark.django_db
def test_a_run_without_rejected_records_cannot_be_retried(demo):
    execution = Execution.objects.create(flow=demo["flow"], version=demo["flow"].current_version,
                                         status="Successful")
    with pytest.raises(UserError, match="This execution has no rejected records to retry"):
        services.retry_rejected_records(execution)
    Execution.objects.filter(pk=execution.pk).update(status="InProgress", rejects_location="/x")
    execution.refresh_from_db()
    with pytest.raises(UserError, match="still running"):
        services.retry_rejected_records(execution)


@pytest.mark.django_db
def test_the_execution_page_offers_the_retry_and_posts_it(signed_in, demo, django_capture_on_commit_callbacks):
    flow = demo["flow"]
    folder = demo["root"] / "rejects" / "e1"
    folder.mkdir(parents=True)
    original = Execution.objects.create(flow=flow, version=flow.current_version, status="Successful",
                                        record_failures=2, rejects_location=str(folder))
    url = f"/flows/{flow.name}/executions/{original.pk}/"
    page = signed_in.get(url).content.decode()
    assert "Retry rejected records" in page and f'action="{url}retry-rejected/"' in page
    assert "reads exactly these 2 rejected records" in page
    assert signed_in.get(url + "retry-rejected/").status_code == 405  # a POST only
    with django_capture_on_commit_callbacks() as enqueued:
        response = signed_in.post(url + "retry-rejected/", follow=True)
    retry = Execution.objects.get(reprocess_of=original)
    assert len(enqueued) == 1
    assert response.redirect_chain[-1][0] == f"/flows/{flow.name}/executions/{retry.pk}/"
    page = html.unescape(response.content.decode())
    assert f"the rejected records of execution {original.pk}" in page
    assert "retry of rejects" in signed_in.get(f"/flows/{flow.name}/").content.decode()
    assert "Retried as:" in signed_in.get(url).content.decode()


def test_records_come_back_without_where_and_reason():
    struct = pa.table({"where": ["record 2"], "reason": ["bad"], "record": [{"Id": "2", "Name": None}]})
    assert records_of(struct).to_pylist() == [{"Id": "2", "Name": None}]
    # records whose values did not share types were written as JSON text
    text = pa.table({"where": ["record 1", "record 2"], "reason": ["x", "y"],
                     "record": ['{"Id": 1, "v": "a"}', '{"Id": 2, "v": 3}']})
    assert records_of(text).to_pylist() == [{"Id": 1, "v": "a"}, {"Id": 2, "v": "3"}]
    with pytest.raises(Exception, match='not a rejected-records file: it has no "record" column'):
        records_of(pa.table({"Id": [1]}))


def test_an_s3_rejects_location_is_read_as_bucket_and_prefix():
    assert _entity("S3", None, "s3://errors/flows/e1/") == (
        "errors/flows/e1", {"s3InputFormatConfig": {"s3InputFileType": "JSON"}})


def test_rejected_records_kept_on_s3_are_read_back_through_the_s3_reader():
    from connections.connectors.base import ConnectionInfo
    from connections.connectors.s3 import S3Connector
    from connections.tests import s3server
    from flows.engine import Endpoint, RejectedRecords, run_flow
    from flows.tests.test_engine import MemoryDestination, TableSource, document, map_task
    from flows.tests.test_rejects import RefusingDestination

    bucket = s3server.new_bucket()
    s3 = Endpoint(S3Connector(), s3server.connection_info())
    rows = pa.table({"id": ["1", "2", "3"], "name": ["Acme", "", "Initech"]})
    flow = document([map_task("id", "Id"), map_task("name", "Name")], destination={
        "entityName": "accounts",
        "errorHandlingConfig": {"failOnFirstDestinationError": False, "bucketName": bucket, "bucketPrefix": "bad"}})
    first = run_flow(flow, Endpoint(TableSource([rows]), ConnectionInfo("src", "Tables")),
                     Endpoint(RefusingDestination(), ConnectionInfo("dst", "Refusing")), execution_id="e1",
                     rejects=s3)
    assert first.rejects_location.startswith(f"s3://{bucket}/bad/e1")
    entity, options = _entity("S3", s3.connection, first.rejects_location)
    logs: list = []
    memory = MemoryDestination()
    retry = run_flow(flow, Endpoint(TableSource([rows]), ConnectionInfo("src", "Tables")),
                     Endpoint(memory, ConnectionInfo("dst", "Memory")), execution_id="e2",
                     reprocess=RejectedRecords(s3.connector, s3.connection, entity, options, "e1",
                                               first.rejects_location),
                     log=lambda level, message: logs.append(message))
    assert retry.status == "Successful" and retry.counters.records_written == 1
    assert memory.committed.to_pylist() == [{"Id": "2", "Name": ""}]  # in the destination's names, once
    assert any("Retrying the records that execution e1 had rejected" in line for line in logs)


@pytest.mark.django_db
def test_a_retry_whose_records_cannot_be_read_fails_saying_why(demo):
    from flows import runner

    flow = demo["flow"]  # its destination keeps no rejected records (no errorHandlingConfig)
    original = Execution.objects.create(flow=flow, version=flow.current_version, status="Successful",
                                        rejects_location=str(demo["root"] / "rejects" / "gone"))
    retry = services.retry_rejected_records(original)
    runner.run_execution(str(retry.pk))
    retry.refresh_from_db()
    assert retry.status == "Error"
    assert retry.error_message == (
        "The rejected records cannot be read. This flow version writes no rejected records "
        f"(errorHandlingConfig), so the ones at {original.rejects_location} cannot be read back.")

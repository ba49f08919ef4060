"""errorHandlingConfig: refused records are written, with their reasons, where the flow says."""

from __future__ import annotations

import json
from collections.abc import Iterable

import pyarrow as pa
import pytest

from connections.connectors.base import ConnectionInfo, Connector, RecordFailure, WriteResult
from connections.connectors.localfiles import LocalFilesConnector
from flows.engine import Endpoint, run_flow
from flows.runner import rejects_endpoint
from flows.tests.test_engine import TableSource, document, map_all


class RefusingDestination(Connector):
    """Refuses every record whose Name is empty, as a database with a NOT NULL column would."""

    connector_type = "Refusing"
    display_name = "Refusing"
    can_be_destination = True

    def write(self, conn, entity, batches: Iterable[pa.Table], options) -> WriteResult:
        result = WriteResult(location=f"refusing:{entity}")
        for table in batches:
            for number, row in enumerate(table.to_pylist(), result.records_written + len(result.failures) + 1):
                if row["Name"]:
                    result.records_written += 1
                else:
                    result.failures.append(RecordFailure(f"record {number}", "column Name: is empty", row))
        return result


ROWS = pa.table({"Id": ["1", "2", "3"], "Name": ["Acme", "", "Initech"]})


def run(error_handling: dict | None, rejects: Endpoint | None, logs: list):
    destination = {"entityName": "accounts"}
    if error_handling is not None:
        destination["errorHandlingConfig"] = error_handling
    return run_flow(
        document([map_all()], destination=destination),
        Endpoint(TableSource([ROWS]), ConnectionInfo("src", "Tables")),
        Endpoint(RefusingDestination(), ConnectionInfo("dst", "Refusing")),
        execution_id="exec-1",
        log=lambda level, message: logs.append((level, message)),
        rejects=rejects,
    )


def test_refused_records_go_to_a_local_folder_with_reasons(data_dir):
    logs: list = []
    folder = Endpoint(LocalFilesConnector(), ConnectionInfo("files", "CustomConnector", "LocalFiles",
                                                            {"rootPath": str(data_dir)}))
    result = run({"failOnFirstDestinationError": False, "bucketPrefix": "rejects"}, folder, logs)
    assert result.status == "Successful"
    # one failure from the source double (its first batch always has one), one refused record
    assert (result.counters.records_written, result.counters.record_failures) == (2, 2)
    lines = (data_dir / "rejects" / "exec-1" / "part-00000.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"where": "record 2", "reason": "column Name: is empty", "record": {"Id": "2", "Name": ""}}]
    assert ("WARNING", "record 2: column Name: is empty") in logs
    assert ("INFO", f"1 rejected records, with their reasons, written to {data_dir / 'rejects' / 'exec-1'}.") in logs
    assert result.rejects_location == str(data_dir / "rejects" / "exec-1")
    assert result.counters.failure_sample()[1] == {"where": "record 2", "reason": "column Name: is empty"}


def test_without_a_place_refused_records_are_only_counted_and_logged(data_dir):
    logs: list = []
    folder = Endpoint(LocalFilesConnector(), ConnectionInfo("files", "CustomConnector", "LocalFiles",
                                                            {"rootPath": str(data_dir)}))
    result = run({"failOnFirstDestinationError": False}, folder, logs)
    assert result.counters.record_failures == 2 and not (data_dir / "rejected-records").exists()
    assert result.rejects_location == ""
    assert not any("rejected records" in message for _, message in logs)


def test_a_rejects_place_that_fails_is_a_warning_not_the_runs_error(data_dir):
    logs: list = []
    nowhere = Endpoint(LocalFilesConnector(), ConnectionInfo("files", "CustomConnector", "LocalFiles",
                                                             {"rootPath": str(data_dir / "missing")}))
    result = run({"bucketPrefix": "rejects"}, nowhere, logs)
    assert result.status == "Successful" and result.rejects_location == ""
    assert any(level == "WARNING" and "The 1 rejected records could not be written to rejects" in message
               for level, message in logs)


def test_the_runner_picks_the_place_of_rejected_records(db, data_dir):
    from connections import services

    files = services.create_connection(name="files", connector_type="CustomConnector", connector_label="LocalFiles",
                                       properties={"rootPath": str(data_dir)})
    pg = Endpoint(RefusingDestination(), ConnectionInfo("pg", "CustomConnector", "PostgreSQL"))

    def config(handling: dict) -> dict:
        return {"destinationConnectorProperties": {"CustomConnector": {"errorHandlingConfig": handling}}}

    assert rejects_endpoint(config({"failOnFirstDestinationError": False}), pg) is None
    named = rejects_endpoint(config({"bucketPrefix": "r", "connectorProfileName": "files"}), pg)
    assert named.connection.properties == files.info().properties
    assert isinstance(named.connector, LocalFilesConnector)
    default = rejects_endpoint(config({"bucketName": "errors"}), pg)
    assert default.connector.key() == "S3" and default.connection.credentials == {}
    with pytest.raises(Exception, match='"nope" is not an S3 or Local files connection'):
        rejects_endpoint(config({"bucketName": "errors", "connectorProfileName": "nope"}), pg)


def test_the_sample_kept_with_the_execution_is_capped_and_cut():
    from flows.engine import Counters

    counters = Counters()
    counters.add_failures([RecordFailure(f"record {n}", "x" * 5_000, {"secret": "s"}) for n in range(1, 60)])
    sample = counters.failure_sample()
    assert len(sample) == Counters.SAMPLE_SIZE == 20 and counters.record_failures == 59
    assert sample[0]["where"] == "record 1" and set(sample[0]) == {"where", "reason"}
    assert len(sample[0]["reason"]) == 1_000 and sample[0]["reason"].endswith("…")


def test_the_runner_stores_the_sample_and_where_rejects_went(db, demo):
    from flows.engine import Counters, RunResult
    from flows.runner import finish
    from flows.services import start_flow

    execution = start_flow(demo["flow"])
    counters = Counters(records_processed=3, records_written=2)
    counters.add_failures([RecordFailure("record 2", "column Name: is empty", {"Name": ""})])
    result = RunResult("Successful", counters, "/out", "s3://lake/rejects/x/")
    finish(execution, "Successful", result.counters, location=result.location,
           rejects_location=result.rejects_location)
    execution.refresh_from_db()
    assert execution.failure_sample == [{"where": "record 2", "reason": "column Name: is empty"}]
    assert execution.rejects_location == "s3://lake/rejects/x/"

"""The engine: plans from tasks, field semantics, errors, cancellation, atomicity, counters.

No Django and no database: in-memory connectors for the semantics, Local files for the runs
that must leave (or not leave) files behind."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connections.connectors import fencing
from connections.connectors.base import (
    ConnectionInfo,
    Connector,
    ConnectorError,
    RecordFailure,
    SourceBatch,
    WriteResult,
)
from connections.connectors.localfiles import LocalFilesConnector
from flows.engine import Counters, Endpoint, PlanError, RunError, compile_plan, run_flow

REPO = Path(__file__).resolve().parents[2]


# -- helpers --------------------------------------------------------------------------------------


class TableSource(Connector):
    """Yields the given tables, whatever fields are asked (so the engine's own checks show)."""

    connector_type = "Tables"
    display_name = "Tables"
    can_be_source = True

    def __init__(self, tables: list[pa.Table], error_at: int | None = None):
        self.tables = tables
        self.error_at = error_at
        self.requested: list[str] | None | str = "not read"

    def read(self, conn, entity, fields, filters, window, options) -> Iterator[SourceBatch]:
        self.requested = fields
        for i, table in enumerate(self.tables):
            if i == self.error_at:
                raise ConnectorError("the API answered 503", permanent=False)
            yield SourceBatch(
                table, bytes_read=100, failures=[RecordFailure(f"row {i}", "bad")] if i == 0 else []
            )


class MemoryDestination(Connector):
    """Commits what it received when the batches end; keeps nothing when they raise."""

    connector_type = "Memory"
    display_name = "Memory"
    can_be_destination = True

    def __init__(self):
        self.committed: pa.Table | None = None
        self.options: dict | None = None

    def write(self, conn, entity, batches: Iterable[pa.Table], options) -> WriteResult:
        received = list(batches)
        self.committed = pa.concat_tables(received) if received else pa.table({})
        self.options = dict(options)
        return WriteResult(self.committed.num_rows, self.committed.nbytes, location=f"memory:{entity}")


def document(tasks: list[dict], *, source: dict | None = None, destination: dict | None = None) -> dict:
    return {
        "flowName": "test",
        "sourceFlowConfig": {
            "connectorType": "CustomConnector",
            "connectorLabel": "LocalFiles",
            "sourceConnectorProperties": {"CustomConnector": source or {"entityName": "accounts.csv"}},
        },
        "destinationFlowConfigList": [
            {
                "connectorType": "CustomConnector",
                "connectorLabel": "LocalFiles",
                "destinationConnectorProperties": {
                    "CustomConnector": destination
                    or {"entityName": "out", "customProperties": {"fileType": "JSONL"}}
                },
            }
        ],
        "tasks": tasks,
    }


def projection(*fields: str) -> dict:
    return {
        "taskType": "Filter",
        "sourceFields": list(fields),
        "connectorOperator": {"CustomConnector": "PROJECTION"},
    }


def map_task(source: str, destination: str, **properties: str) -> dict:
    return {
        "taskType": "Map",
        "sourceFields": [source],
        "destinationField": destination,
        "connectorOperator": {"CustomConnector": "NO_OP"},
        "taskProperties": properties,
    }


def map_all(excluded: list[str] | None = None) -> dict:
    properties = {} if excluded is None else {"EXCLUDE_SOURCE_FIELDS_LIST": json.dumps(excluded)}
    return {
        "taskType": "Map_all",
        "sourceFields": [""],
        "connectorOperator": {"CustomConnector": "NO_OP"},
        "taskProperties": properties,
    }


ACCOUNTS = pa.table(
    {"Id": ["1", "2"], "Name": ["Acme", "Globex"], "Phone": ["555", None], "City": ["Oslo", "Lyon"]}
)


def run_in_memory(tasks: list[dict], tables: list[pa.Table] | None = None, **kwargs):
    source, destination = TableSource(tables or [ACCOUNTS]), MemoryDestination()
    result = run_flow(
        document(tasks),
        Endpoint(source, ConnectionInfo("src", "Tables")),
        Endpoint(destination, ConnectionInfo("dst", "Memory")),
        execution_id="exec-1",
        **kwargs,
    )
    return result, source, destination


# -- plans ----------------------------------------------------------------------------------------


def test_plan_describes_itself_in_words():
    plan = compile_plan(
        [
            projection("Id", "Name", "Phone"),
            map_task("Id", "Id"),
            map_task("Name", "account_name"),
            map_task("Phone", "phone"),
        ]
    )
    assert plan.source_fields == ("Id", "Name", "Phone")
    assert plan.output_fields == ("Id", "account_name", "phone")
    assert plan.describe() == (
        "Select 3 fields (Id, Name, Phone); write 3 fields in task order; "
        "rename Name -> account_name; rename Phone -> phone"
    )
    assert [s.kind for s in plan.stages] == ["project", "map"]


def test_map_all_plan_reads_every_field():
    plan = compile_plan([map_all(["Phone"])])
    assert plan.source_fields is None and plan.output_fields is None
    assert plan.describe() == "Copy every field except Phone"


def test_stages_run_in_fixed_order_whatever_the_task_order():
    plan = compile_plan([map_task("Name", "n"), projection("Name", "Id")])
    assert [s.kind for s in plan.stages] == ["project", "map"]


# -- field semantics ------------------------------------------------------------------------------


def test_map_all_copies_every_field_minus_the_excluded():
    result, source, destination = run_in_memory([map_all(["Phone", "NotThere"])])
    assert source.requested is None
    assert destination.committed.column_names == ["Id", "Name", "City"]
    assert result.status == "Successful"


def test_map_all_without_exclusion_property_copies_everything():
    task = {"taskType": "Map_all", "sourceFields": [], "taskProperties": {}}
    _, _, destination = run_in_memory([task])
    assert destination.committed.equals(ACCOUNTS)


def test_map_all_with_maps_renames_in_place_and_copies():
    _, _, destination = run_in_memory(
        [
            map_all(["City"]),
            map_task("Name", "account_name"),
            map_task("Id", "Id"),
            map_task("Id", "external_id"),
        ]
    )
    assert destination.committed.column_names == ["Id", "external_id", "account_name", "Phone"]
    assert destination.committed.column("external_id").to_pylist() == ["1", "2"]


def test_map_all_rename_onto_a_copied_field_is_an_error():
    with pytest.raises(RunError, match=r'tasks\[1\]: destinationField "City" is also a source field'):
        run_in_memory([map_all(), map_task("Name", "City")])


def test_maps_without_map_all_write_exactly_the_mapped_fields_in_task_order():
    _, source, destination = run_in_memory(
        [
            projection("Id", "Name", "Phone", "City"),
            map_task("Name", "account_name"),
            map_task("Id", "id"),
            map_task("Name", "name_again"),
        ]
    )
    assert source.requested == ["Id", "Name", "Phone", "City"]
    assert destination.committed.column_names == ["account_name", "id", "name_again"]
    assert destination.committed.column("name_again").to_pylist() == ["Acme", "Globex"]


def test_projection_alone_writes_the_projected_fields_in_projection_order():
    _, source, destination = run_in_memory([projection("City", "Id")])
    assert source.requested == ["City", "Id"]
    assert destination.committed.column_names == ["City", "Id"]


def test_projection_is_inferred_from_maps_when_absent():
    plan = compile_plan([map_task("Name", "account_name"), map_task("Id", "id")])
    assert plan.source_fields == ("Name", "Id")
    assert plan.describe().startswith("Select 2 fields read by the Map tasks (Name, Id)")
    _, source, destination = run_in_memory([map_task("Name", "account_name"), map_task("Id", "id")])
    assert source.requested == ["Name", "Id"]
    assert destination.committed.column_names == ["account_name", "id"]


def test_passthrough_behaves_like_map():
    task = {"taskType": "Passthrough", "sourceFields": ["Name"], "destinationField": "Name"}
    _, _, destination = run_in_memory([task])
    assert destination.committed.column_names == ["Name"]


def test_equal_or_absent_data_types_are_accepted():
    _, _, destination = run_in_memory(
        [
            map_task("Id", "id", SOURCE_DATA_TYPE="id", DESTINATION_DATA_TYPE="id"),
            map_task("Name", "name", DESTINATION_DATA_TYPE="string"),
        ]
    )
    assert destination.committed.column_names == ["id", "name"]


@given(
    columns=st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=8, unique=True),
    data=st.data(),
)
def test_map_all_output_is_source_order_minus_excluded(columns, data):
    excluded = data.draw(st.lists(st.sampled_from(columns), unique=True))
    plan = compile_plan([map_all(excluded)])
    out = plan.apply(pa.table({c: [1] for c in columns}))
    assert out.column_names == [c for c in columns if c not in excluded]


# -- plan-time errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "task, message",
    [
        (
            {"taskType": "Arithmetic", "sourceFields": ["a"], "connectorOperator": {"S3": "ADDITION"}},
            "tasks[1]: an Arithmetic task needs two or more fields",
        ),
        (
            {"taskType": "Arithmetic", "sourceFields": ["a", "b"], "connectorOperator": {"S3": "MASK_ALL"}},
            'tasks[1].connectorOperator: an Arithmetic task does not take "MASK_ALL"',
        ),
        (
            {"taskType": "Merge", "sourceFields": ["a", "b"], "taskProperties": {"CONCAT_FORMAT": "{a}-{c}"}},
            'tasks[1].taskProperties.CONCAT_FORMAT: "{c}" names no field of sourceFields (a, b).',
        ),
        (
            {"taskType": "Mask", "sourceFields": ["a"], "connectorOperator": {"S3": "MASK_FIRST_N"}},
            "tasks[1].taskProperties.MASK_LENGTH: is required.",
        ),
        (
            {"taskType": "Mask", "sourceFields": ["a"], "connectorOperator": {"S3": "MASK_ALL"},
             "taskProperties": {"MASK_VALUE": "**"}},
            'tasks[1].taskProperties.MASK_VALUE: must be one character, not "**".',
        ),
        (
            {"taskType": "Truncate", "sourceFields": ["a"], "taskProperties": {"TRUNCATE_LENGTH": "-3"}},
            'tasks[1].taskProperties.TRUNCATE_LENGTH: must be a positive integer, not "-3".',
        ),
        (
            {"taskType": "Validate", "sourceFields": ["a"], "connectorOperator": {"S3": "VALIDATE_NON_NULL"},
             "taskProperties": {"VALIDATION_ACTION": "Explode"}},
            'tasks[1].taskProperties.VALIDATION_ACTION: must be DropRecord or DropDataset, not "Explode".',
        ),
        (
            {"taskType": "Partition", "sourceFields": []},
            "tasks[1]: a Partition task needs ORDERED_PARTITION_KEYS_LIST or sourceFields.",
        ),
        (
            {"taskType": "Filter", "sourceFields": ["a"], "connectorOperator": {"S3": "BETWEEN"},
             "taskProperties": {"LOWER_BOUND": "1"}},
            "tasks[1].taskProperties.UPPER_BOUND: is required for BETWEEN.",
        ),
        (
            {"taskType": "Filter", "sourceFields": ["a"], "connectorOperator": {"S3": "GREATER_THAN"},
             "taskProperties": {"DATA_TYPE": "integer", "VALUE": "ten"}},
            'tasks[1].taskProperties.VALUE: "ten" is not an integer (DATA_TYPE integer).',
        ),
        (
            {"taskType": "Filter", "sourceFields": ["a"], "connectorOperator": {"S3": "EQUAL_TO"},
             "taskProperties": {"DATA_TYPE": "colour", "VALUE": "red"}},
            'tasks[1].taskProperties.DATA_TYPE: "colour" is not a type Sluice compares',
        ),
        (
            {"taskType": "Map", "sourceFields": ["Id"], "connectorOperator": {"S3": "MASK_ALL"}},
            'tasks[1].connectorOperator: a Map task does not take "MASK_ALL"',
        ),
        ({"taskType": "Shuffle", "sourceFields": ["a"]}, 'tasks[1].taskType: "Shuffle" is not a task type'),
        (
            {"taskType": "Map", "sourceFields": ["a", "b"], "destinationField": "x"},
            "tasks[1].sourceFields: a Map task reads exactly one field, found 2.",
        ),
        (
            {
                "taskType": "Map_all",
                "sourceFields": [""],
                "taskProperties": {"EXCLUDE_SOURCE_FIELDS_LIST": "Phone"},
            },
            "tasks[1].taskProperties.EXCLUDE_SOURCE_FIELDS_LIST: must be a JSON array of field names",
        ),
        (map_task("Name", "Id"), 'tasks[1].destinationField: "Id" is already written by tasks[0]'),
    ],
)
def test_tasks_that_cannot_run_fail_at_plan_time_naming_the_task(task, message):
    with pytest.raises(PlanError) as caught:
        compile_plan([map_task("Id", "Id"), task])
    assert message in caught.value.message


def test_every_problem_is_reported_at_once():
    with pytest.raises(PlanError) as caught:
        compile_plan(
            [
                map_all(),
                {"taskType": "Arithmetic", "sourceFields": []},
                {"taskType": "Mask", "sourceFields": ["a"]},
            ]
        )
    assert caught.value.message.splitlines() == [
        "tasks[1].connectorOperator: an Arithmetic task needs an operator, one of ADDITION, "
        "SUBTRACTION, MULTIPLICATION, DIVISION.",
        "tasks[2].connectorOperator: a Mask task needs an operator, one of MASK_ALL, "
        "MASK_FIRST_N, MASK_LAST_N.",
    ]


def test_a_filter_cannot_test_a_derived_field():
    with pytest.raises(PlanError, match=r'tasks\[1\]: a Filter cannot test "a,b": tasks\[0\] writes it'):
        compile_plan([
            {"taskType": "Merge", "sourceFields": ["a", "b"], "destinationField": "a,b"},
            {"taskType": "Filter", "sourceFields": ["a,b"], "connectorOperator": {"S3": "EQUAL_TO"},
             "taskProperties": {"VALUE": "x"}},
            map_all(),
        ])


def test_a_flow_selecting_no_fields_is_refused():
    with pytest.raises(PlanError, match="selects no fields"):
        compile_plan([])


def test_run_fails_at_plan_time_before_reading():
    with pytest.raises(RunError, match="Arithmetic task needs an operator") as caught:
        run_in_memory([map_all(), {"taskType": "Arithmetic", "sourceFields": ["a", "b"]}])
    assert isinstance(caught.value.counters, Counters)


# -- run-time errors ------------------------------------------------------------------------------


def test_missing_field_names_the_field_the_task_and_what_is_available():
    with pytest.raises(RunError) as caught:
        run_in_memory([projection("Id", "Nmae"), map_task("Id", "id"), map_task("Nmae", "name")])
    message = caught.value.message
    assert 'Field "Nmae" (used by tasks[0], tasks[2]) is not in the source data.' in message
    assert "Available fields: Id, Name, Phone, City." in message
    assert "Traceback" not in message


def test_missing_field_with_local_files_names_the_file_and_fields(files_root: Path):
    (files_root / "accounts.csv").write_text("Id,Name\n1,Acme\n")
    with pytest.raises(RunError) as caught:
        run_local(files_root, [map_task("Nmae", "name")])
    assert 'accounts.csv has no field "Nmae". Available fields: Id, Name.' in caught.value.message


class EagerFailingSource(TableSource):
    def read(self, conn, entity, fields, filters, window, options):
        raise ConnectorError("the token was revoked")  # before returning an iterator


def test_a_source_failing_before_its_first_batch_is_reported_as_reading():
    with pytest.raises(RunError) as caught:
        run_flow(
            document([map_all()]),
            Endpoint(EagerFailingSource([]), ConnectionInfo("crm", "Tables")),
            Endpoint(MemoryDestination(), ConnectionInfo("dst", "Memory")),
            execution_id="e",
        )
    assert caught.value.message == "Reading accounts.csv from Tables (crm) failed: the token was revoked"
    assert not caught.value.retryable


def test_connector_error_becomes_run_error_with_its_message():
    source = TableSource([ACCOUNTS, ACCOUNTS], error_at=1)
    with pytest.raises(RunError) as caught:
        run_flow(
            document([map_all()]),
            Endpoint(source, ConnectionInfo("crm", "Tables")),
            Endpoint(MemoryDestination(), ConnectionInfo("dst", "Memory")),
            execution_id="e",
        )
    assert caught.value.message == "Reading accounts.csv from Tables (crm) failed: the API answered 503"
    assert caught.value.retryable
    assert caught.value.counters.records_processed == 3  # 2 rows and the one the source could not parse


# -- runs through Local files ---------------------------------------------------------------------


@pytest.fixture
def files_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SLUICE_LOCAL_FILES_BASE", str(tmp_path))
    root = tmp_path / "root"
    root.mkdir()
    return root


def run_local(root: Path, tasks: list[dict], *, destination: dict | None = None, **kwargs):
    endpoint = Endpoint(
        LocalFilesConnector(),
        ConnectionInfo("files", "CustomConnector", "LocalFiles", {"rootPath": str(root)}),
    )
    return run_flow(
        document(tasks, destination=destination), endpoint, endpoint, execution_id="exec-1", **kwargs
    )


def write_csv(path: Path, rows: int, bad_lines: tuple[int, ...] = ()) -> None:
    lines = ["Id,Name,City"]
    for i in range(rows):
        lines.append(f"{i},Name {i},City {i}" + (",extra" if len(lines) + 1 in bad_lines else ""))
    path.write_text("\n".join(lines) + "\n")


def test_cancel_mid_run_commits_what_was_written_and_reports_canceled(files_root, monkeypatch):
    monkeypatch.setenv("SLUICE_READ_BLOCK_BYTES", "4096")
    write_csv(files_root / "accounts.csv", 5_000)
    calls = []

    def should_cancel() -> bool:
        calls.append(1)
        return len(calls) >= 4  # before the first batch, then after each: stop after 3 batches

    result = run_local(files_root, [map_all()], should_cancel=should_cancel)
    assert result.status == "Canceled"
    output = files_root / "out" / "exec-1" / "part-00000.jsonl"
    lines = output.read_text().splitlines()
    assert 0 < len(lines) < 5_000
    assert len(lines) == result.counters.records_written == result.counters.records_processed
    assert json.loads(lines[0]) == {"Id": "0", "Name": "Name 0", "City": "City 0"}
    assert result.location == str(files_root / "out" / "exec-1")


class AllOrNothingDestination(MemoryDestination):
    """Publishes nothing of a cancelled run, as S3 does (publishes_on_cancel False)."""

    publishes_on_cancel = False

    def write(self, conn, entity, batches: Iterable[pa.Table], options) -> WriteResult:
        self.staged: list[pa.Table] = []
        try:
            for table in batches:
                self.staged.append(table)
        except BaseException:
            self.staged = []  # discarded, as for a failure
            raise
        return super().write(conn, entity, iter(self.staged), options)


@pytest.mark.parametrize("cancel_after", [1, 2])  # before the first batch; after it
def test_cancel_into_a_destination_that_publishes_nothing_of_a_cancelled_run(cancel_after):
    destination, logs, calls = AllOrNothingDestination(), [], []

    def should_cancel() -> bool:
        calls.append(1)
        return len(calls) >= cancel_after

    result = run_flow(
        document([map_all()]),
        Endpoint(TableSource([ACCOUNTS, ACCOUNTS]), ConnectionInfo("src", "Tables")),
        Endpoint(destination, ConnectionInfo("dst", "Memory")),
        execution_id="exec-1", should_cancel=should_cancel, log=lambda level, m: logs.append(m),
    )
    assert result.status == "Canceled" and result.location == ""
    assert destination.committed is None and destination.staged == []
    assert result.counters.records_written == 0 == result.counters.bytes_written
    assert result.counters.records_processed == {1: 0, 2: 3}[cancel_after]  # 2 rows + the source's failure
    assert logs[-1].startswith("Canceled: read ") and ", wrote 0 records (0 bytes);" in logs[-1]
    if cancel_after == 2:
        assert ("Cancel requested: stopped after 3 records; this destination publishes nothing of a "
                "cancelled run, so what was staged is deleted and nothing is written.") in logs


def test_failure_in_the_middle_leaves_no_output_folder(files_root, monkeypatch):
    monkeypatch.setenv("SLUICE_READ_BLOCK_BYTES", "4096")
    (files_root / "in").mkdir()
    (files_root / "in" / "a.jsonl").write_text(
        "".join(f'{{"Id": {i}, "Name": "n{i}"}}\n' for i in range(2_000))
    )
    (files_root / "in" / "b.jsonl").write_text('{"Id": "abc", "Name": "late"}\n')
    logs: list[str] = []
    endpoint = Endpoint(
        LocalFilesConnector(),
        ConnectionInfo("f", "CustomConnector", "LocalFiles", {"rootPath": str(files_root)}),
    )
    with pytest.raises(RunError) as caught:
        run_flow(
            document([map_all()], source={"entityName": "in"}),
            endpoint,
            endpoint,
            execution_id="exec-1",
            log=lambda level, message: logs.append(message),
        )
    assert caught.value.message.startswith('Reading in from Local files (f) failed: in/b.jsonl: column "Id"')
    assert caught.value.counters.records_processed == 2_000  # a.jsonl went through
    assert not (files_root / "out" / "exec-1").exists()
    assert list((files_root / "out").iterdir()) == []  # no hidden staging folder left either


def test_failure_after_batches_were_written_leaves_no_output(files_root, monkeypatch):
    monkeypatch.setenv("SLUICE_READ_BLOCK_BYTES", "4096")
    write_csv(files_root / "accounts.csv", 3_000)
    calls = []

    def progress(counters: Counters) -> None:
        calls.append(counters.records_written)
        if len(calls) == 3:
            raise RuntimeError("the worker lost its database")

    with pytest.raises(RuntimeError):
        run_local(files_root, [map_all()], on_progress=progress)
    assert calls[-1] > 0  # batches had reached the destination
    assert list((files_root / "out").iterdir()) == []


class FailingAtCommitDestination(MemoryDestination):
    """Takes every batch, then cannot commit: as a database that refuses the COMMIT."""

    def write(self, conn, entity, batches: Iterable[pa.Table], options) -> WriteResult:
        list(batches)
        raise ConnectorError("the database refused the commit")


def test_a_failed_write_reports_nothing_written_though_batches_were_handed_over():
    with pytest.raises(RunError) as caught:
        run_flow(document([map_all()]), Endpoint(TableSource([pa.table({"Id": [1, 2, 3]})] * 4), ConnectionInfo(
            "s", "Tables")), Endpoint(FailingAtCommitDestination(), ConnectionInfo("d", "Memory")), execution_id="e")
    counters = caught.value.counters
    assert counters.records_processed == 12 + 1  # the first batch carries one source failure
    assert (counters.records_written, counters.bytes_written) == (0, 0)


class PartlyAcceptingDestination(MemoryDestination):
    """An API that accepted some records before it failed: they stay written."""

    def write(self, conn, entity, batches: Iterable[pa.Table], options) -> WriteResult:
        list(batches)
        error = ConnectorError("the API failed half-way; 5 records stay written")
        error.records_committed, error.bytes_committed = 5, 321
        raise error


def test_a_failed_write_reports_what_a_saas_api_had_accepted():
    with pytest.raises(RunError) as caught:
        run_flow(document([map_all()]), Endpoint(TableSource([pa.table({"Id": [1, 2, 3]})] * 4), ConnectionInfo(
            "s", "Tables")), Endpoint(PartlyAcceptingDestination(), ConnectionInfo("d", "Memory")), execution_id="e")
    assert (caught.value.counters.records_written, caught.value.counters.bytes_written) == (5, 321)


def test_a_run_that_lost_its_lease_publishes_nothing(files_root, monkeypatch):
    monkeypatch.setenv("SLUICE_READ_BLOCK_BYTES", "4096")
    write_csv(files_root / "accounts.csv", 3_000)
    with pytest.raises(fencing.LeaseLost):
        run_local(files_root, [map_all()], attempt=3, holds_lease=lambda: False)
    assert list((files_root / "out").iterdir()) == []  # nor any staging folder


def test_a_lease_lost_between_the_last_batch_and_the_commit_is_caught_at_the_commit(files_root):
    write_csv(files_root / "accounts.csv", 10)  # one batch: the check before the commit is the one that counts
    asked = []
    with pytest.raises(fencing.LeaseLost):
        run_local(files_root, [map_all()], holds_lease=lambda: asked.append(1) and False)
    assert asked == [1] and list((files_root / "out").iterdir()) == []
    assert run_local(files_root, [map_all()], holds_lease=lambda: True).counters.records_written == 10


def test_counters_add_up(files_root, monkeypatch):
    monkeypatch.setenv("SLUICE_READ_BLOCK_BYTES", "4096")
    write_csv(files_root / "accounts.csv", 3_000, bad_lines=(5, 2001))
    progress: list[tuple[int, int]] = []
    logs: list[tuple[str, str]] = []
    result = run_local(
        files_root,
        [projection("Id", "Name"), map_task("Name", "name")],
        on_progress=lambda c: progress.append((c.records_processed, c.bytes_processed)),
        log=lambda level, message: logs.append((level, message)),
    )
    counters = result.counters
    assert result.status == "Successful"
    assert counters.records_processed == 3_000  # the two bad lines were read too
    assert counters.record_failures == 2
    assert [f.where for f in counters.failures] == ["accounts.csv line 5", "accounts.csv line 2001"]
    assert counters.failures[0].reason == "expected 3 columns, found 4"
    assert counters.bytes_processed == (files_root / "accounts.csv").stat().st_size
    output = files_root / "out" / "exec-1" / "part-00000.jsonl"
    assert counters.records_written == 2_998 == len(output.read_text().splitlines())
    assert counters.bytes_written == output.stat().st_size
    assert len(progress) > 2 and progress == sorted(progress)
    assert progress[-1] == (counters.records_processed, counters.bytes_processed)
    assert logs[0] == (
        "INFO",
        "Plan: Select 2 fields (Id, Name); write 1 field in task order; rename Name -> name.",
    )
    assert ("WARNING", "accounts.csv line 5: expected 3 columns, found 4") in logs
    assert logs[-1][1].startswith("Done: read 3,000 records")
    assert "2 records failed" in logs[-1][1]


def test_destination_receives_the_execution_id():
    _, _, destination = run_in_memory([map_all()])
    assert destination.options["executionId"] == "exec-1"
    assert destination.options["customProperties"] == {"fileType": "JSONL"}


def test_the_demo_job_runs_end_to_end(files_root):
    from console.demo_data import ACCOUNT_COLUMNS, write_accounts_csv

    first = write_accounts_csv(files_root / "accounts.csv", rows=2_500, seed=7).read_bytes()
    assert write_accounts_csv(files_root / "again.csv", rows=2_500, seed=7).read_bytes() == first
    result = run_local(files_root, [map_all()])
    lines = (files_root / "out" / "exec-1" / "part-00000.jsonl").read_text(encoding="utf-8").split("\n")[:-1]
    records = [json.loads(line) for line in lines]
    assert result.counters.records_processed == result.counters.records_written == len(records) == 2_500
    assert result.counters.record_failures == 0
    assert list(records[0]) == list(ACCOUNT_COLUMNS)
    assert len({r["Id"] for r in records}) == 2_500
    assert all(len(r["Id"]) == 18 and r["Id"].startswith("0015g00000") for r in records)
    assert all(r["CreatedDate"] <= r["LastModifiedDate"] for r in records)


def test_engine_imports_without_django():
    code = (
        "import flows.engine, sys; "
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules), "
        "sorted(m for m in sys.modules if m.startswith('django'))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# -- filter pushdown ------------------------------------------------------------------------------


class PushdownSource(TableSource):
    """Applies the EQUAL_TO / GREATER_THAN filters it is given, as a database would in WHERE."""

    pushdown_operators = ("EQUAL_TO", "GREATER_THAN")

    def __init__(self, tables, *, apply: bool = True):
        super().__init__(tables)
        self.apply = apply
        self.filters = None

    def read(self, conn, entity, fields, filters, window, options):
        self.filters = filters
        for batch in super().read(conn, entity, fields, filters, window, options):
            rows = batch.table.to_pylist()
            for f in filters if self.apply else []:
                if f["operator"] == "EQUAL_TO":
                    rows = [r for r in rows if r[f["field"]] in f["values"]]
                else:
                    rows = [r for r in rows if r[f["field"]] and float(r[f["field"]]) > float(f["values"][0])]
            yield SourceBatch(pa.Table.from_pylist(rows, schema=batch.table.schema), batch.bytes_read)


SALES = pa.table({
    "Id": [str(i) for i in range(12)],
    "Industry": ["Banking", "Energy", "Retail"] * 4,
    "Revenue": ["10", "2000", "300", "4000", "50", "6000", "70", "800", "9000", "", "11000", "x"],
})
PUSHABLE = [
    {"taskType": "Filter", "sourceFields": ["Industry"], "connectorOperator": {"S": "EQUAL_TO"},
     "taskProperties": {"DATA_TYPE": "string", "VALUES": "Banking,Energy"}},
    {"taskType": "Filter", "sourceFields": ["Revenue"], "connectorOperator": {"S": "GREATER_THAN"},
     "taskProperties": {"DATA_TYPE": "double", "VALUE": "100"}},
    {"taskType": "Filter", "sourceFields": ["Id"], "connectorOperator": {"S": "CONTAINS"},
     "taskProperties": {"VALUE": "1"}},
    map_task("Id", "id"),
    map_task("Revenue", "revenue", DESTINATION_DATA_TYPE="double"),
]


def run_source(source: Connector):
    destination = MemoryDestination()
    logs: list[str] = []
    result = run_flow(
        document(PUSHABLE),
        Endpoint(source, ConnectionInfo("db", "Tables")),
        Endpoint(destination, ConnectionInfo("dst", "Memory")),
        execution_id="e",
        log=lambda level, message: logs.append(message),
    )
    return result.counters, destination.committed.to_pylist(), logs


def test_a_source_gets_the_filters_it_can_push_down_and_the_result_is_the_same():
    plain_counters, plain_rows, _ = run_source(TableSource([SALES]))
    pushing = PushdownSource([SALES])
    counters, rows, logs = run_source(pushing)
    assert rows == plain_rows == [{"id": "1", "revenue": 2000.0}, {"id": "10", "revenue": 11000.0}]
    assert [(f["field"], f["operator"], f["values"], f["dataType"]) for f in pushing.filters] == [
        ("Industry", "EQUAL_TO", ["Banking", "Energy"], "string"),
        ("Revenue", "GREATER_THAN", ["100"], "double"),
    ]  # CONTAINS is not declared, so it stays with the engine
    assert "Tables (db) filters at the source too: Industry is one of Banking, Energy as string; " in logs[1]
    # records the source left out were never read, so they are neither processed nor filtered
    assert counters.records_processed < plain_counters.records_processed
    assert counters.records_written == plain_counters.records_written == 2


def test_a_source_that_ignores_pushed_filters_still_gives_the_same_result():
    _, plain_rows, _ = run_source(TableSource([SALES]))
    _, rows, _ = run_source(PushdownSource([SALES], apply=False))
    assert rows == plain_rows


# -- partition ------------------------------------------------------------------------------------

PARTITION = {"taskType": "Partition", "sourceFields": [], "connectorOperator": {"S": "NO_OP"},
             "taskProperties": {"ORDERED_PARTITION_KEYS_LIST": '["City", "Name"]'}}


class PartitioningDestination(MemoryDestination):
    partitions_output = True


def test_partition_keys_reach_a_destination_that_partitions():
    destination = PartitioningDestination()
    run_flow(
        document([map_all(), PARTITION]),
        Endpoint(TableSource([ACCOUNTS]), ConnectionInfo("src", "Tables")),
        Endpoint(destination, ConnectionInfo("dst", "Memory")),
        execution_id="e",
    )
    assert destination.options["partitionKeys"] == ["City", "Name"]


def test_a_destination_that_does_not_partition_is_named_in_a_warning():
    logs: list[tuple[str, str]] = []
    _, _, destination = run_in_memory([map_all(), PARTITION], log=lambda level, m: logs.append((level, m)))
    assert "partitionKeys" not in destination.options
    assert ("WARNING", "Memory (dst) does not partition its output; the Partition task (City, Name) is "
                       "ignored.") in logs
    assert logs[0][1].endswith("; partition the output by City, Name.")


def test_is_one_of_zero_keeps_negative_zero_as_equal_to_does():
    # Found by the property test: pyarrow's is_in hashes -0.0 apart from 0.0.
    table = pa.table({"f": pa.array([-0.0, 0.0, 1.0, None], pa.float64())})
    tasks = [
        {"taskType": "Filter", "sourceFields": ["f"], "connectorOperator": {"CustomConnector": "EQUAL_TO"},
         "taskProperties": {"VALUES": "0,2"}},
        map_all(),
    ]
    _, _, destination = run_in_memory(tasks, [table])
    assert destination.committed.column("f").to_pylist() == [0.0, 0.0]

"""Partition by record fields: hive-style folders in Local files and S3 destinations."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.connectors.fileformats import partitions
from connections.connectors.fileformats.partitions import Partitioner, encode_part
from connections.connectors.localfiles import LocalFilesConnector
from connections.connectors.s3 import S3Connector
from connections.tests import s3server

LOCAL = LocalFilesConnector()
S3 = S3Connector()

SALES = pa.table({
    "Id": [1, 2, 3, 4, 5],
    "Country": ["NO", "SE", "NO", None, "SE"],
    "City": ["Oslo", "Malmö", "Bergen", "", "Malmö"],
})
# values that would leave the run's folder, hide themselves or clash with the encodings
HOSTILE = ["..", ".", "../../etc", "a/b", "/abs", "c:\\x", "__null__", "_manifest.json", ".hidden",
           "k=v", "50%", "tab\there"]


# -- folder names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (None, "__null__"), ("", "__empty__"), ("Oslo", "Oslo"), ("Malmö", "Malmö"), ("a b", "a b"),
        ("..", "%2E."), (".", "%2E"), ("../../etc", "%2E.%2F..%2Fetc"), ("a/b", "a%2Fb"),
        ("c:\\x", "c%3A%5Cx"), ("__null__", "%5F_null__"), ("_manifest.json", "%5Fmanifest.json"),
        ("k=v", "k%3Dv"), ("50%", "50%25"), ("tab\there", "tab%09here"),
    ],
)
def test_values_become_safe_folder_names(value, name):
    assert encode_part(value) == name


def test_a_long_value_is_cut_with_a_digest_so_distinct_values_stay_distinct():
    one, two = "x" * 300 + "1", "x" * 300 + "2"
    assert encode_part(one) != encode_part(two)
    assert len(encode_part(one).encode()) <= 120 and encode_part(one).startswith("x" * 80 + "~")


@given(st.text())
def test_no_value_makes_a_path_that_leaves_or_hides(value):
    name = encode_part(value)
    assert name and "/" not in name and "\\" not in name and name not in (".", "..")
    assert not name.startswith((".", "_")) or name in ("__null__", "__empty__")
    assert len(name.encode()) <= 120 or name == encode_part(value)


@given(st.lists(st.one_of(st.none(), st.text()), min_size=2, max_size=2, unique=True))
def test_distinct_values_get_distinct_folders(values):
    assert encode_part(values[0]) != encode_part(values[1])


def test_split_keeps_row_order_within_a_partition_and_typed_values_become_text():
    table = pa.table({
        "n": [1, 2, 1], "ok": [True, False, True],
        "at": pa.array([datetime(2026, 1, 31, 9, 30, tzinfo=UTC)] * 3, pa.timestamp("us", "UTC")),
        "day": pa.array([date(2026, 1, 31)] * 3), "x": ["a", "b", "c"],
    })
    parts = list(Partitioner(["n", "ok", "at", "day"]).split(table))
    assert [(p.folder, t.column("x").to_pylist()) for p, t in parts] == [
        ("n=1/ok=true/at=2026-01-31T09%3A30%3A00Z/day=2026-01-31/", ["a", "c"]),
        ("n=2/ok=false/at=2026-01-31T09%3A30%3A00Z/day=2026-01-31/", ["b"]),
    ]
    assert parts[0][0].values == {"n": "1", "ok": "true", "at": "2026-01-31T09:30:00Z", "day": "2026-01-31"}


def test_a_missing_partition_field_is_named():
    with pytest.raises(ConnectorError, match='no field Region .*they have Id, Country, City'):
        list(Partitioner(["Region"]).split(SALES))


def test_too_many_partitions_is_an_error_a_person_can_act_on(monkeypatch):
    monkeypatch.setattr(partitions, "MAX_PARTITIONS", 3)
    with pytest.raises(ConnectorError, match="more than 3 folders in one run. Partition by fields with fewer"):
        list(Partitioner(["Id"]).split(SALES))


# -- Local files ----------------------------------------------------------------------------------


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SLUICE_LOCAL_FILES_BASE", str(tmp_path))
    (tmp_path / "root").mkdir()
    return tmp_path / "root"


def local_write(root: Path, tables, keys, file_type="JSONL", execution_id="exec-1"):
    conn = ConnectionInfo("files", "CustomConnector", "LocalFiles", {"rootPath": str(root)})
    options = {"entityName": "out", "customProperties": {"fileType": file_type}, "executionId": execution_id,
               "partitionKeys": keys}
    return LOCAL.write(conn, "out", iter(tables), options)


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_local_files_write_one_folder_per_partition(root):
    result = local_write(root, [SALES.slice(0, 3), SALES.slice(3)], ["Country", "City"])
    run = root / "out" / "exec-1"
    assert files_under(run) == [
        "Country=NO/City=Bergen/part-00000.jsonl", "Country=NO/City=Oslo/part-00000.jsonl",
        "Country=SE/City=Malmö/part-00000.jsonl", "Country=__null__/City=__empty__/part-00000.jsonl",
    ]
    assert [r["Id"] for r in jsonl(run / "Country=SE/City=Malmö/part-00000.jsonl")] == [2, 5]
    assert jsonl(run / "Country=__null__/City=__empty__/part-00000.jsonl") == [
        {"Id": 4, "Country": None, "City": ""}]
    assert result.records_written == 5 and result.location == str(run)
    assert not [p for p in (root / "out").iterdir() if p.name.startswith(".")]  # staging renamed away


def test_local_files_values_cannot_leave_the_run_folder(root):
    table = pa.table({"Id": list(range(len(HOSTILE))), "Path": HOSTILE})
    local_write(root, [table], ["Path"], file_type="CSV")
    run = root / "out" / "exec-1"
    written = files_under(run)
    assert len(written) == len(HOSTILE)
    assert all(f.count("/") == 1 and f.startswith("Path=") for f in written)
    assert files_under(root) == [f"out/exec-1/{f}" for f in written]  # nothing outside the run folder
    assert "Path=%2E.%2F..%2Fetc/part-00000.csv" in written and "Path=%2E./part-00000.csv" in written


def test_local_files_partitioned_parquet_and_a_failed_run_leaves_nothing(root):
    local_write(root, [SALES], ["Country"], file_type="PARQUET", execution_id="ok")
    assert pq.read_table(root / "out/ok/Country=NO/part-00000.parquet").column("Id").to_pylist() == [1, 3]

    def broken() -> Iterator[pa.Table]:
        yield SALES
        raise RuntimeError("the source broke")

    with pytest.raises(RuntimeError):
        local_write(root, broken(), ["Country"], execution_id="bad")
    assert sorted(p.name for p in (root / "out").iterdir()) == ["ok"]


# -- S3 -------------------------------------------------------------------------------------------


@pytest.fixture
def bucket() -> str:
    return s3server.new_bucket()


def s3_write(bucket, tables, keys, execution_id="exec-1", **output):
    options = {"bucketName": bucket, "bucketPrefix": "out", "s3OutputFormatConfig": output,
               "executionId": execution_id, "partitionKeys": keys}
    return S3.write(s3server.connection_info(), S3.entity_name(options), iter(tables), options)


def manifest(bucket: str, key: str) -> dict:
    return json.loads(s3server.body(bucket, key))


def test_s3_publishes_partition_folders_and_lists_them_in_the_manifest(bucket):
    result = s3_write(bucket, [SALES.slice(0, 2), SALES.slice(2)], ["Country"])
    assert s3server.keys(bucket) == [
        "out/exec-1/Country=NO/part-00000.jsonl", "out/exec-1/Country=SE/part-00000.jsonl",
        "out/exec-1/Country=__null__/part-00000.jsonl", "out/exec-1/_manifest.json",
    ]
    listed = manifest(bucket, "out/exec-1/_manifest.json")
    assert listed["partitionKeys"] == ["Country"] and listed["records"] == 5 == result.records_written
    assert [(f["key"], f["partition"], f["records"]) for f in listed["files"]] == [
        ("out/exec-1/Country=NO/part-00000.jsonl", {"Country": "NO"}, 2),
        ("out/exec-1/Country=SE/part-00000.jsonl", {"Country": "SE"}, 2),
        ("out/exec-1/Country=__null__/part-00000.jsonl", {"Country": None}, 1),
    ]
    rows = s3server.body(bucket, "out/exec-1/Country=NO/part-00000.jsonl").splitlines()
    assert [json.loads(r)["Id"] for r in rows] == [1, 3]


def test_s3_values_cannot_leave_the_run_prefix(bucket):
    table = pa.table({"Id": list(range(len(HOSTILE))), "Path": HOSTILE})
    s3_write(bucket, [table], ["Path"], fileType="PARQUET", preserveSourceDataTyping=True)
    keys = s3server.keys(bucket)
    data = [k for k in keys if not k.endswith("_manifest.json")]
    assert len(data) == len(HOSTILE) and len(keys) == len(HOSTILE) + 1
    assert all(k.startswith("out/exec-1/Path=") and k.count("/") == 3 for k in data)
    assert not any("/../" in k or "/./" in k or "//" in k for k in keys)
    values = sorted(f["partition"]["Path"] for f in manifest(bucket, "out/exec-1/_manifest.json")["files"])
    assert values == sorted(HOSTILE)
    one = pq.read_table(io.BytesIO(s3server.body(bucket, "out/exec-1/Path=%2E.%2F..%2Fetc/part-00000.parquet")))
    assert one.to_pylist() == [{"Id": 2, "Path": "../../etc"}]


def test_s3_partitions_roll_files_and_a_retry_clears_an_earlier_attempt(bucket):
    big = pa.table({"Id": list(range(80_000)), "Text": ["x" * 40] * 80_000,  # ~2 MB per partition
                    "Half": ["a", "b"] * 40_000})
    s3_write(bucket, [big.slice(i, 4_000) for i in range(0, 80_000, 4_000)], ["Half"], fileType="CSV",
             aggregationConfig={"targetFileSize": 1})
    first = [k for k in s3server.keys(bucket) if "Half=a/" in k]
    assert len(first) >= 2 and first[0] == "out/exec-1/Half=a/part-00000.csv"
    s3_write(bucket, [big.slice(0, 10)], ["Half"], fileType="CSV", aggregationConfig={"targetFileSize": 1})
    assert s3server.keys(bucket) == ["out/exec-1/Half=a/part-00000.csv", "out/exec-1/Half=b/part-00000.csv",
                                     "out/exec-1/_manifest.json"]


def test_s3_single_file_per_partition_in_a_shared_folder(bucket):
    s3_write(bucket, [SALES], ["Country"], execution_id="e7",
             prefixConfig={"pathPrefixHierarchy": []}, aggregationConfig={"aggregationType": "SingleFile"})
    s3_write(bucket, [SALES.slice(0, 1)], ["Country"], execution_id="e8",
             prefixConfig={"pathPrefixHierarchy": []})
    assert s3server.keys(bucket) == [
        "out/Country=NO/e7-part-00000.jsonl", "out/Country=NO/e8-part-00000.jsonl",
        "out/Country=SE/e7-part-00000.jsonl", "out/Country=__null__/e7-part-00000.jsonl",
        "out/e7-_manifest.json", "out/e8-_manifest.json",
    ]


def test_s3_a_failed_partitioned_run_leaves_nothing(bucket):
    def broken() -> Iterator[pa.Table]:
        yield SALES
        raise RuntimeError("the source broke")

    with pytest.raises(RuntimeError):
        s3_write(bucket, broken(), ["Country"])
    assert s3server.keys(bucket) == []


# -- through the engine ---------------------------------------------------------------------------


def test_a_partition_task_partitions_a_local_files_run_through_the_engine(root):
    from flows.engine import Endpoint, run_flow

    (root / "accounts.csv").write_text("Id,Name,Country\n1,Acme,NO\n2,Globex,SE\n3,Initech,NO\n")
    document = {
        "sourceFlowConfig": {"connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
                             "sourceConnectorProperties": {"CustomConnector": {"entityName": "accounts.csv"}}},
        "destinationFlowConfigList": [{"connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
                                       "destinationConnectorProperties": {"CustomConnector": {
                                           "entityName": "out"}}}],
        "tasks": [
            {"taskType": "Map", "sourceFields": ["Id"], "destinationField": "id"},
            {"taskType": "Map", "sourceFields": ["Country"], "destinationField": "country"},
            {"taskType": "Partition", "sourceFields": [],
             "taskProperties": {"ORDERED_PARTITION_KEYS_LIST": '["country"]'}},
        ],
    }
    files = Endpoint(LOCAL, ConnectionInfo("files", "CustomConnector", "LocalFiles", {"rootPath": str(root)}))
    logs: list[tuple[str, str]] = []
    result = run_flow(document, files, files, execution_id="exec-9", log=lambda lv, m: logs.append((lv, m)))
    assert result.status == "Successful" and result.counters.records_written == 3
    assert files_under(root / "out" / "exec-9") == ["country=NO/part-00000.jsonl", "country=SE/part-00000.jsonl"]
    assert jsonl(root / "out/exec-9/country=NO/part-00000.jsonl") == [
        {"id": "1", "country": "NO"}, {"id": "3", "country": "NO"}]
    assert not [m for lv, m in logs if lv == "WARNING"]


def test_s3_typed_parquet_partition_takes_a_type_from_a_later_batch_when_the_first_is_all_null(bucket):
    # The first batch has no Amount at all (Arrow's null type), the next has integers and a list:
    # the partition's file must take them, typed, instead of refusing the later batch.
    first = pa.table({"Country": ["NO", "SE"], "Amount": pa.nulls(2), "Tags": pa.nulls(2)})
    later = pa.table({"Country": ["NO", "SE"], "Amount": [5, 7], "Tags": [["a"], None]})
    s3_write(bucket, [first, later], ["Country"], fileType="PARQUET", preserveSourceDataTyping=True)
    norway = pq.read_table(io.BytesIO(s3server.body(bucket, "out/exec-1/Country=NO/part-00000.parquet")))
    assert norway.schema.field("Amount").type == pa.int64()
    assert norway.schema.field("Tags").type == pa.list_(pa.string())
    assert norway.to_pylist() == [{"Country": "NO", "Amount": None, "Tags": None},
                                  {"Country": "NO", "Amount": 5, "Tags": ["a"]}]


def test_a_column_null_in_every_batch_of_a_row_group_is_text_and_later_values_still_fit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from connections.connectors.fileformats import writers

    monkeypatch.setattr(writers, "PARQUET_ROW_GROUP_ROWS", 2)
    writer = writers.open_writer("PARQUET", tmp_path / "p.parquet")
    writer.write(pa.table({"Id": [1, 2], "Note": pa.nulls(2), "Tags": pa.nulls(2)}))  # a full row group
    writer.write(pa.table({"Id": [3], "Note": [4.5], "Tags": pa.array([{"k": 1}])}))
    writer.write(pa.table({"Id": [4], "Note": pa.nulls(1), "Tags": pa.nulls(1)}))
    writer.close()
    table = pq.read_table(tmp_path / "p.parquet")
    assert table.schema.field("Note").type == pa.string() and table.schema.field("Tags").type == pa.string()
    assert table.to_pylist() == [{"Id": 1, "Note": None, "Tags": None}, {"Id": 2, "Note": None, "Tags": None},
                                 {"Id": 3, "Note": "4.5", "Tags": '{"k":1}'}, {"Id": 4, "Note": None, "Tags": None}]


@pytest.mark.parametrize("file_type", ["CSV", "JSONL"])
def test_text_files_type_a_null_column_from_a_later_batch(tmp_path: Path, file_type: str):
    from connections.connectors.fileformats import writers

    path = tmp_path / f"p.{file_type.lower()}"
    writer = writers.open_writer(file_type, path)
    writer.write(pa.table({"Id": [1], "Amount": pa.nulls(1)}))
    writer.write(pa.table({"Id": [2], "Amount": [5]}))
    writer.write(pa.table({"Id": [3], "Amount": pa.nulls(1)}))
    writer.close()
    if file_type == "CSV":
        assert path.read_text().splitlines() == ['"Id","Amount"', "1,", '2,"5"', "3,"]  # typed after the header: text
    else:
        assert [json.loads(line) for line in path.read_text().splitlines()] == [
            {"Id": 1, "Amount": None}, {"Id": 2, "Amount": 5}, {"Id": 3, "Amount": None}]


def test_a_batch_that_cannot_fit_the_files_type_names_the_column(tmp_path: Path):
    from connections.connectors.fileformats import writers

    writer = writers.open_writer("JSONL", tmp_path / "p.jsonl")
    writer.write(pa.table({"Id": [1], "Amount": [5]}))
    with pytest.raises(ConnectorError, match=r"column Amount: a batch does not fit the type .*\(int64\)"):
        writer.write(pa.table({"Id": [2], "Amount": ["lots"]}))

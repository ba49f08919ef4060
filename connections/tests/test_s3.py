"""The S3 connector against an S3 protocol server (moto in server mode, see s3server.py)."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import botocore.exceptions as bx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connections.connectors import fencing
from connections.connectors.base import ConnectorError, Window
from connections.connectors.s3 import S3Connector
from connections.connectors.s3 import destination as destination_module
from connections.connectors.s3.client import S3Settings, s3_error, settings_from
from connections.connectors.s3.layout import layout, pattern
from connections.tests import s3server

S3 = S3Connector()


@pytest.fixture
def bucket() -> str:
    return s3server.new_bucket()


@pytest.fixture
def conn():
    return s3server.connection_info()


def put(bucket: str, key: str, data: bytes | str) -> None:
    s3server.client().put_object(Bucket=bucket, Key=key, Body=data.encode() if isinstance(data, str) else data)


def read_rows(conn, entity, fields=None, window=None, **options) -> list[dict]:
    batches = S3.read(conn, entity, fields, [], window or Window(), options)
    return [row for b in batches for row in b.table.to_pylist()]


def write(conn, bucket, tables, execution_id="exec-1", prefix="out", **output):
    options = {"bucketName": bucket, "bucketPrefix": prefix, "s3OutputFormatConfig": output, "executionId": execution_id}
    return S3.write(conn, S3.entity_name(options), iter(tables), options)


ROWS = pa.table({"Id": [1, 2], "Name": ["Acme", "Globex"], "When": pa.array(
    [datetime(2026, 1, 1, tzinfo=UTC), None], pa.timestamp("us", "UTC"))})


# -- connection ---------------------------------------------------------------------------------


def test_connection_test_lists_buckets(conn):
    S3.test(conn)


def test_unreachable_endpoint_is_transient():
    conn = s3server.connection_info(endpointUrl="http://127.0.0.1:1")
    with pytest.raises(ConnectorError) as caught:
        S3.test(conn)
    assert "Testing the connection: cannot reach http://127.0.0.1:1" in caught.value.message
    assert not caught.value.permanent


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://store", "must be an http:// or https:// URL"),
        ("http://user:pw@store:9000", "give only scheme, host and port"),
        ("http://store:9000/bucket", "give only scheme, host and port"),
        ("http://bad_host:9000", 'endpointUrl: "bad_host" is not a host name'),
    ],
)
def test_endpoint_url_is_checked(url, message):
    with pytest.raises(ConnectorError, match=message):
        settings_from(s3server.ConnectionInfo("x", "S3", "", {"endpointUrl": url}, {}))


def test_half_a_key_pair_is_refused():
    info = s3server.ConnectionInfo("x", "S3", "", {}, {"accessKeyId": "AKIA"})
    with pytest.raises(ConnectorError, match="give both, or neither"):
        settings_from(info)


@pytest.mark.parametrize(
    ("code", "status", "message", "permanent"),
    [
        ("NoSuchBucket", 404, 'Reading: the bucket "crm" does not exist at http://store', True),
        ("InvalidAccessKeyId", 403, "Reading: http://store does not know the access key id (accessKeyId).", True),
        ("SignatureDoesNotMatch", 403, "Reading: the secret access key does not match the access key id.", True),
        ("AccessDenied", 403, 'Reading: access to the bucket "crm" was denied.', True),
        ("SlowDown", 503, "Reading: http://store answered SlowDown; try again later.", False),
    ],
)
def test_s3_errors_become_messages_without_the_secret(code, status, message, permanent):
    settings = S3Settings(endpoint_url="http://store", access_key_id="AKIA1", secret_access_key="top-secret-9")
    exc = bx.ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                         "GetObject")
    error = s3_error(exc, settings, "Reading", "crm")
    assert error.message.startswith(message) and error.permanent is permanent
    assert "top-secret-9" not in error.message and "AKIA1" not in error.message


def test_missing_bucket_is_named(conn):
    with pytest.raises(ConnectorError, match='the bucket "no-such-bucket-sluice" does not exist'):
        read_rows(conn, "no-such-bucket-sluice/data")


# -- source -------------------------------------------------------------------------------------


def test_entities_are_buckets_then_folders_and_files(conn, bucket):
    put(bucket, "crm/accounts.csv", "Id\n1\n")
    put(bucket, "crm/2026/a.jsonl", '{"Id": 1}\n')
    put(bucket, "crm/_manifest.json", "{}")
    put(bucket, "crm/.sluice-staging/x/part.csv", "Id\n")
    put(bucket, "crm/notes.txt", "hello")
    assert bucket in {e.name for e in S3.list_entities(conn)}
    assert [(e.name, e.has_children) for e in S3.list_entities(conn, bucket)] == [(f"{bucket}/crm", True)]
    assert [(e.name, e.label, e.has_children) for e in S3.list_entities(conn, f"{bucket}/crm")] == [
        (f"{bucket}/crm/2026", "2026", True),
        (f"{bucket}/crm/accounts.csv", "accounts.csv", False),
    ]


def test_every_file_under_the_prefix_is_read_aligned_to_the_first(conn, bucket):
    put(bucket, "crm/a.csv", "Id,Name\n1,Acme\n")
    put(bucket, "crm/b.csv", "Id,City\n2,Lyon\n")
    put(bucket, "crm/_SUCCESS", "")
    put(bucket, "crm2/c.csv", "Id,Name\n9,Other\n")  # a sibling folder, not under crm/
    batches = list(S3.read(conn, f"{bucket}/crm", None, [], Window(), {"s3InputFormatConfig": {"s3InputFileType": "CSV"}}))
    assert [r for b in batches for r in b.table.to_pylist()] == [
        {"Id": "1", "Name": "Acme"}, {"Id": "2", "Name": None}]
    assert any("b.csv has no column Name" in w for b in batches for w in b.warnings)
    assert sum(b.bytes_read for b in batches) == len("Id,Name\n1,Acme\n") + len("Id,City\n2,Lyon\n")


def test_a_blank_csv_cell_is_null_unless_the_input_format_says_empty_text(conn, bucket):
    put(bucket, "crm/a.csv", 'Id,Name,Amount\n1,,""\n')
    rows = read_rows(conn, f"{bucket}/crm", None)
    assert rows == [{"Id": "1", "Name": None, "Amount": None}]
    rows = read_rows(conn, f"{bucket}/crm", None, s3InputFormatConfig={"s3InputFileType": "CSV", "blankCells": "EMPTY_TEXT"})
    assert rows == [{"Id": "1", "Name": "", "Amount": ""}]
    check = S3.check_source_properties
    assert check({"bucketName": bucket, "s3InputFormatConfig": {"blankCells": "EMPTY_TEXT"}}) == []
    assert check({"bucketName": bucket, "s3InputFormatConfig": {"blankCells": "none", "x": 1}}) == [
        ("s3InputFormatConfig.x", "is not an S3 input setting"),
        ("s3InputFormatConfig.blankCells",
         'must be NULL (a blank CSV cell is a null) or EMPTY_TEXT (it is empty text), not "none"')]


def test_json_lines_are_typed_and_one_key_can_be_named(conn, bucket):
    put(bucket, "events/e.json", '{"n": 1, "ok": true}\n{"n": 2, "ok": false}\n')
    fields = S3.describe_entity(conn, f"{bucket}/events/e.json")
    assert [(f.name, f.data_type) for f in fields] == [("n", "integer"), ("ok", "boolean")]
    rows = read_rows(conn, f"{bucket}/events/e.json", ["ok"], s3InputFormatConfig={"s3InputFileType": "JSON"})
    assert rows == [{"ok": True}, {"ok": False}]


def test_incremental_window_selects_files_by_modification_time(conn, bucket):
    put(bucket, "crm/a.csv", "Id\n1\n")
    now = datetime.now(UTC)
    assert read_rows(conn, f"{bucket}/crm", window=Window(now - timedelta(hours=1), now + timedelta(hours=1))) == [
        {"Id": "1"}]
    assert read_rows(conn, f"{bucket}/crm", window=Window(now + timedelta(hours=1), None)) == []


def test_an_empty_prefix_is_an_error(conn, bucket):
    with pytest.raises(ConnectorError, match=rf"s3://{bucket}/nothing holds no CSV, JSON Lines or Parquet file"):
        read_rows(conn, f"{bucket}/nothing")


# -- destination --------------------------------------------------------------------------------


def manifest(bucket: str, key: str) -> dict:
    return json.loads(s3server.body(bucket, key))


def test_jsonl_by_default_with_a_manifest_written_last(conn, bucket):
    result = write(conn, bucket, [ROWS, ROWS])
    assert result.records_written == 4 and result.location == f"s3://{bucket}/out/exec-1/"
    assert s3server.keys(bucket) == ["out/exec-1/_manifest.json", "out/exec-1/part-00000.jsonl"]
    data = s3server.body(bucket, "out/exec-1/part-00000.jsonl")
    assert data.splitlines()[0] == b'{"Id":1,"Name":"Acme","When":"2026-01-01T00:00:00Z"}'
    listed = manifest(bucket, "out/exec-1/_manifest.json")
    assert listed["records"] == 4 and listed["executionId"] == "exec-1" and listed["fileType"] == "JSONL"
    assert listed["files"] == [{"key": "out/exec-1/part-00000.jsonl", "records": 4, "bytes": len(data),
                                "sha256": hashlib.sha256(data).hexdigest()}]


def test_parquet_is_text_unless_source_types_are_preserved(conn, bucket):
    write(conn, bucket, [ROWS], "plain", fileType="PARQUET")
    write(conn, bucket, [ROWS], "typed", fileType="PARQUET", preserveSourceDataTyping=True)
    plain = pq.read_table(io.BytesIO(s3server.body(bucket, "out/plain/part-00000.parquet")))
    typed = pq.read_table(io.BytesIO(s3server.body(bucket, "out/typed/part-00000.parquet")))
    assert all(f.type == pa.string() for f in plain.schema) and plain.column("Id").to_pylist() == ["1", "2"]
    assert typed.schema == ROWS.schema


def test_target_file_size_rolls_files_and_single_file_does_not(conn, bucket):
    big = pa.table({"Id": list(range(40_000)), "Text": ["x" * 40] * 40_000})  # ~2 MB as CSV
    result = write(conn, bucket, [big.slice(i, 4_000) for i in range(0, 40_000, 4_000)], "many",
                   fileType="CSV", aggregationConfig={"aggregationType": "None", "targetFileSize": 1})
    files = [k for k in s3server.keys(bucket, "out/many/") if "part-" in k]
    assert len(files) >= 2 and result.records_written == 40_000
    listed = manifest(bucket, "out/many/_manifest.json")
    assert [f["key"] for f in listed["files"]] == files and sum(f["records"] for f in listed["files"]) == 40_000
    write(conn, bucket, [big.slice(0, 20_000), big.slice(20_000)], "single", fileType="CSV",
          aggregationConfig={"aggregationType": "SingleFile", "targetFileSize": 1})
    assert s3server.keys(bucket, "out/single/") == ["out/single/_manifest.json", "out/single/part-00000.csv"]
    assert s3server.body(bucket, "out/single/part-00000.csv").count(b"\n") == 40_001  # header + rows


def test_prefix_config_builds_the_key(conn, bucket):
    started = datetime(2026, 11, 21, 13, 5, tzinfo=UTC)
    output = {"prefixConfig": {"prefixType": "PATH_AND_FILENAME", "prefixFormat": "DAY",
                               "pathPrefixHierarchy": ["SCHEMA_VERSION", "EXECUTION_ID"]}}
    keys = layout("crm/out", output, "e9", started, "csv")
    assert keys.file_key(0) == "crm/out/2026/11/21/schema-1/e9/part-00000-2026-11-21.csv"
    assert keys.manifest_key == "crm/out/2026/11/21/schema-1/e9/_manifest.json"
    shared = layout("crm", {"prefixConfig": {"prefixType": "FILENAME", "prefixFormat": "MINUTE",
                                             "pathPrefixHierarchy": []}}, "e9", started, "jsonl")
    assert shared.file_key(1) == "crm/e9-part-00001-2026-11-21T13-05.jsonl"
    assert shared.manifest_key == "crm/e9-_manifest.json"
    assert pattern({"prefixConfig": {"prefixType": "PATH", "prefixFormat": "MONTH"}}, "parquet") == (
        "<bucketPrefix>/2026/11/<execution id>/part-00000.parquet")


def test_server_side_encryption_is_asked_for(bucket):
    conn = s3server.connection_info(serverSideEncryption="AES256")
    write(conn, bucket, [ROWS])
    for key in s3server.keys(bucket):
        assert s3server.client().head_object(Bucket=bucket, Key=key)["ServerSideEncryption"] == "AES256"


def test_a_failing_run_leaves_nothing_in_the_bucket(conn, bucket):
    def batches() -> Iterator[pa.Table]:
        yield pa.table({"Id": list(range(30_000)), "Text": ["y" * 40] * 30_000})
        yield ROWS.select(["Id"])
        raise RuntimeError("the source broke")

    with pytest.raises(RuntimeError, match="the source broke"):
        options = {"bucketName": bucket, "bucketPrefix": "out", "executionId": "exec-1", "s3OutputFormatConfig": {
            "fileType": "CSV", "aggregationConfig": {"targetFileSize": 1}}}
        S3.write(conn, bucket + "/out", batches(), options)
    assert s3server.keys(bucket) == []


def test_an_attempt_that_lost_its_lease_publishes_nothing(conn, bucket):
    with pytest.raises(fencing.LeaseLost), fencing.held(1, lambda: False):
        write(conn, bucket, [ROWS])
    assert s3server.keys(bucket) == []


def test_each_attempt_stages_under_its_own_folder(conn, bucket):
    seen = []

    def batches():
        big = pa.table({"Id": list(range(30_000)), "Text": ["y" * 40] * 30_000})  # > 1 MB: staged at once
        yield big
        yield big
        seen.extend(s3server.keys(bucket))

    with fencing.held(2, lambda: True):
        write(conn, bucket, batches(), fileType="CSV", aggregationConfig={"targetFileSize": 1})
    assert seen and all("/.sluice-staging/exec-1/2/" in "/" + key for key in seen), seen


def test_a_cancelled_run_publishes_nothing_and_says_so(conn, bucket, data_dir):
    from connections.connectors.base import ConnectionInfo
    from connections.connectors.localfiles import LocalFilesConnector
    from flows.engine import Endpoint, run_flow

    for name in ("a", "b", "c"):
        (data_dir / "in").mkdir(exist_ok=True)
        (data_dir / "in" / f"{name}.csv").write_text("Id,Name\n" + "".join(f"{i},n{i}\n" for i in range(3)))
    document = {
        "sourceFlowConfig": {"connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
                             "sourceConnectorProperties": {"CustomConnector": {"entityName": "in"}}},
        "destinationFlowConfigList": [{"connectorType": "S3", "destinationConnectorProperties": {"S3": {
            "bucketName": bucket, "bucketPrefix": "crm", "s3OutputFormatConfig": {"fileType": "CSV"}}}}],
        "tasks": [{"taskType": "Map_all", "sourceFields": [""], "taskProperties": {}}],
    }
    calls, logs, uploads = [], [], []
    real_stage = destination_module._Run.stage

    def stage(run, writer, partition=None):  # the first file is uploaded before the cancel arrives
        real_stage(run, writer, partition)
        uploads.append(s3server.keys(bucket))

    files = Endpoint(LocalFilesConnector(), ConnectionInfo("files", "CustomConnector", "LocalFiles",
                                                           {"rootPath": str(data_dir)}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(destination_module, "DEFAULT_TARGET_MB", 0)  # one file per batch
        patch.setattr(destination_module._Run, "stage", stage)
        result = run_flow(document, files, Endpoint(S3, conn), execution_id="exec-5",
                          should_cancel=lambda: calls.append(1) or len(calls) >= 3,
                          log=lambda level, m: logs.append(m))
    assert uploads and all(k.startswith("crm/.sluice-staging/exec-5/") for k in uploads[-1])
    assert result.status == "Canceled" and result.counters.records_processed == 6
    assert result.counters.records_written == 0 and result.location == ""
    assert s3server.keys(bucket) == []  # nothing under the final prefix, staging removed
    assert any("this destination publishes nothing of a cancelled run" in m for m in logs)
    assert logs[-1].startswith("Canceled:")


def test_a_retried_execution_replaces_its_files_and_clears_a_dead_attempt(conn, bucket):
    put(bucket, "out/.sluice-staging/exec-1/part-00000.csv", "left by a killed worker")
    big = pa.table({"Id": list(range(40_000)), "Text": ["x" * 40] * 40_000})
    write(conn, bucket, [big.slice(i, 4_000) for i in range(0, 40_000, 4_000)], fileType="CSV",
          aggregationConfig={"targetFileSize": 1})
    first = s3server.keys(bucket)
    assert len(first) >= 3 and not any(".sluice-staging" in k for k in first)
    write(conn, bucket, [ROWS], fileType="CSV", aggregationConfig={"targetFileSize": 1})
    assert s3server.keys(bucket) == ["out/exec-1/_manifest.json", "out/exec-1/part-00000.csv"]
    assert manifest(bucket, "out/exec-1/_manifest.json")["records"] == 2


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        ({"fileType": "XML"}, ("s3OutputFormatConfig.fileType", "must be CSV, JSON or PARQUET")),
        ({"prefixConfig": {"prefixType": "FOLDER"}},
         ("s3OutputFormatConfig.prefixConfig.prefixType", "must be one of FILENAME, PATH, PATH_AND_FILENAME")),
        ({"prefixConfig": {"pathPrefixHierarchy": ["EXECUTION_ID", "EXECUTION_ID"]}},
         ("s3OutputFormatConfig.prefixConfig.pathPrefixHierarchy", "must list EXECUTION_ID and/or SCHEMA_VERSION once each")),
        ({"aggregationConfig": {"aggregationType": "All"}},
         ("s3OutputFormatConfig.aggregationConfig.aggregationType", "must be None or SingleFile")),
        ({"aggregationConfig": {"targetFileSize": "big"}},
         ("s3OutputFormatConfig.aggregationConfig.targetFileSize", "must be a whole number of MB, 1 to 100000")),
        ({"compression": "gzip"}, ("s3OutputFormatConfig.compression", "is not an S3 output setting")),
    ],
)
def test_destination_properties_are_checked(output, problem):
    props = {"bucketName": "crm-data", "s3OutputFormatConfig": output}
    assert problem in S3Connector.check_destination_properties(props)


def test_flow_from_local_csv_to_parquet_on_s3_through_the_engine(conn, bucket, data_dir):
    from connections.connectors.base import ConnectionInfo
    from connections.connectors.localfiles import LocalFilesConnector
    from flows.engine import Endpoint, run_flow

    (data_dir / "accounts.csv").write_text("Id,Name\n1,Acme\n2,Globex\n")
    document = {
        "sourceFlowConfig": {"connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
                             "sourceConnectorProperties": {"CustomConnector": {"entityName": "accounts.csv"}}},
        "destinationFlowConfigList": [{"connectorType": "S3", "destinationConnectorProperties": {"S3": {
            "bucketName": bucket, "bucketPrefix": "crm", "s3OutputFormatConfig": {"fileType": "PARQUET"}}}}],
        "tasks": [{"taskType": "Map_all", "sourceFields": [""], "connectorOperator": {"S3": "NO_OP"},
                   "taskProperties": {}}],
    }
    result = run_flow(
        document,
        Endpoint(LocalFilesConnector(), ConnectionInfo("files", "CustomConnector", "LocalFiles",
                                                       {"rootPath": str(data_dir)})),
        Endpoint(S3, conn),
        execution_id="exec-7",
    )
    assert result.status == "Successful" and result.location == f"s3://{bucket}/crm/exec-7/"
    table = pq.read_table(io.BytesIO(s3server.body(bucket, "crm/exec-7/part-00000.parquet")))
    assert table.to_pylist() == [{"Id": "1", "Name": "Acme"}, {"Id": "2", "Name": "Globex"}]


def test_cli_creates_a_profile_from_the_issue_shape(db):
    from io import StringIO

    from django.core.management import call_command

    from connections.models import Connection

    config = {"connectorProfileProperties": {"S3": {"region": "us-east-1", "endpointUrl": s3server.need_s3()}},
              "connectorProfileCredentials": {"S3": {"accessKeyId": s3server.ACCESS_KEY,
                                                     "secretAccessKey": s3server.SECRET_KEY}}}
    out = StringIO()
    call_command("sluice", "create-connector-profile", "--connector-profile-name", "lake", "--connector-type", "S3",
                 "--connection-mode", "Public", "--connector-profile-config", json.dumps(config), stdout=out)
    assert "connectorProfileArn" in out.getvalue()
    saved = Connection.objects.get(name="lake")
    assert saved.properties == {"region": "us-east-1", "endpointUrl": s3server.need_s3()}
    assert saved.info().credentials["secretAccessKey"] == s3server.SECRET_KEY


# -- a retry in a later hour --------------------------------------------------------------------

HOURLY = {"fileType": "CSV", "prefixConfig": {"prefixType": "PATH", "prefixFormat": "HOUR"},
          "aggregationConfig": {"targetFileSize": 1}}
MANY = pa.table({"Id": list(range(40_000)), "Text": ["x" * 40] * 40_000})  # ~2 MB: 2+ files of 1 MB


class Killed(BaseException):
    """The worker process dying: nothing of ours runs after it (no except Exception catches it)."""


class FailingClient:
    """The real boto3 client to moto, except that the n-th call of `method` fails with `error`
    (and, when `dead`, every call after it: a killed process does no cleanup)."""

    def __init__(self, method: str, n: int, error: BaseException, dead: bool = False):
        self.real, self.method, self.n, self.error, self.dead = s3server.client(), method, n, error, dead
        self.failed = False

    def __getattr__(self, name):
        real = getattr(self.real, name)

        def call(*args, **kwargs):
            if self.failed and self.dead:
                raise self.error
            if name == self.method:
                self.n -= 1
                if self.n == 0:
                    self.failed = True
                    raise self.error
            return real(*args, **kwargs)

        return call


def hourly_write(client, bucket, started, batches):
    settings = settings_from(s3server.connection_info())
    return destination_module.write_objects(client, settings, bucket, "out", HOURLY, "exec-7", iter(batches),
                                            started=started)


def data_keys(bucket):
    return [k for k in s3server.keys(bucket) if ".sluice-staging" not in k]


def test_a_publish_that_fails_takes_back_what_it_copied_and_the_retry_keeps_the_first_hour(bucket):
    batches = [MANY.slice(i, 4_000) for i in range(0, 40_000, 4_000)]
    busy = bx.ClientError({"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "CopyObject")
    with pytest.raises(ConnectorError, match="try again later") as failed:
        hourly_write(FailingClient("copy", 2, busy), bucket, datetime(2026, 11, 21, 13, 59, tzinfo=UTC), batches)
    assert not failed.value.permanent
    assert data_keys(bucket) == []  # the first file was copied, then deleted again
    assert s3server.keys(bucket) == ["out/.sluice-staging/exec-7.json"]
    # the retry runs at 14:05 but writes under the first attempt's hour, once
    result = hourly_write(s3server.client(), bucket, datetime(2026, 11, 21, 14, 5, tzinfo=UTC), batches)
    keys = s3server.keys(bucket)
    assert all(k.startswith("out/2026/11/21/13/exec-7/") for k in keys) and len(keys) >= 3
    assert result.location == f"s3://{bucket}/out/2026/11/21/13/exec-7/"
    listed = manifest(bucket, "out/2026/11/21/13/exec-7/_manifest.json")
    assert sorted([f["key"] for f in listed["files"]] + ["out/2026/11/21/13/exec-7/_manifest.json"]) == keys
    assert listed["records"] == 40_000 == result.records_written


def test_a_publish_killed_half_way_is_cleared_by_the_next_attempt(bucket):
    batches = [MANY.slice(i, 4_000) for i in range(0, 40_000, 4_000)]
    with pytest.raises(Killed):
        hourly_write(FailingClient("copy", 2, Killed(), dead=True), bucket,
                     datetime(2026, 11, 21, 13, 59, tzinfo=UTC), batches)
    dead = data_keys(bucket)
    assert dead == ["out/2026/11/21/13/exec-7/part-00000.csv"]  # a dead file, and no manifest
    record = json.loads(s3server.body(bucket, "out/.sluice-staging/exec-7.json"))
    assert record["startedAt"] == "2026-11-21T13:59:00+00:00" and dead[0] in record["publishing"]
    # the retry has fewer records (a source that changed meanwhile): fewer files, none left over
    hourly_write(s3server.client(), bucket, datetime(2026, 11, 21, 15, 0, tzinfo=UTC), [ROWS])
    assert s3server.keys(bucket) == ["out/2026/11/21/13/exec-7/_manifest.json",
                                     "out/2026/11/21/13/exec-7/part-00000.csv"]
    assert s3server.body(bucket, "out/2026/11/21/13/exec-7/part-00000.csv").count(b"\n") == 3


def test_a_source_failure_leaves_nothing_under_the_final_prefix_and_the_retry_keeps_the_hour(bucket):
    def broken():
        yield MANY
        raise RuntimeError("the source broke")

    with pytest.raises(RuntimeError):
        hourly_write(s3server.client(), bucket, datetime(2026, 11, 21, 13, 59, tzinfo=UTC), broken())
    assert s3server.keys(bucket) == ["out/.sluice-staging/exec-7.json"]
    hourly_write(s3server.client(), bucket, datetime(2026, 11, 21, 14, 1, tzinfo=UTC), [ROWS])
    assert s3server.keys(bucket) == ["out/2026/11/21/13/exec-7/_manifest.json",
                                     "out/2026/11/21/13/exec-7/part-00000.csv"]

"""The Redshift connector: its JDBC URL, and its PostgreSQL code path - tested against
PostgreSQL only (there is no Redshift cluster here)."""

from __future__ import annotations

import gzip
import json
from io import StringIO

import pyarrow as pa
import pytest
from psycopg import sql

from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.connectors.redshift import RedshiftConnector
from connections.connectors.redshift import stage as stage_module
from connections.connectors.redshift.jdbc import parse
from connections.connectors.redshift.stage import copy_statement, stage_config
from connections.tests import pgserver, s3server

RS = RedshiftConnector()


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("jdbc:redshift://c1.abc.us-west-2.redshift.amazonaws.com:5439/dev",
         ("c1.abc.us-west-2.redshift.amazonaws.com", 5439, "dev", "prefer")),
        ("jdbc:redshift://c1.example.com/dev?ssl=true", ("c1.example.com", 5439, "dev", "require")),
        ("jdbc:postgresql://10.0.0.5:5432/crm?sslmode=verify-full&tcpKeepAlive=true",
         ("10.0.0.5", 5432, "crm", "verify-full")),
    ],
)
def test_jdbc_urls_are_parsed(url, parsed):
    assert parse(url) == parsed


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "databaseUrl: is required"),
        ("redshift://host:5439/dev", "is not a JDBC URL"),
        ("jdbc:mysql://host:3306/dev", "is not a JDBC URL"),
        ("jdbc:redshift://host:5439", "must end with /<database name>"),
        ("jdbc:redshift://host:99999/dev", "has an invalid port"),
        ("jdbc:redshift://host/dev?sslmode=sometimes", "sslmode must be one of"),
    ],
)
def test_bad_jdbc_urls_are_named(url, message):
    with pytest.raises(ConnectorError, match=message):
        parse(url)


def test_the_host_of_the_url_goes_through_the_host_check():
    conn = ConnectionInfo("r", "Redshift", "", {"databaseUrl": "jdbc:redshift://bad_host:5439/dev"}, {"username": "u"})
    with pytest.raises(ConnectorError, match='databaseUrl: "bad_host" is not a host name'):
        RS.target(conn)


def redshift_conn(database: str) -> ConnectionInfo:
    return ConnectionInfo("r", "Redshift", "", {"databaseUrl": f"jdbc:redshift://{pgserver.HOST}:{pgserver.PORT}/{database}"},
                          {"username": pgserver.USER, "password": pgserver.PASSWORD})


@pytest.fixture
def table() -> str:
    pgserver.need_postgres()
    schema = pgserver.fresh_schema()
    with pgserver.sql_connection() as connection:
        connection.execute(sql.SQL('CREATE TABLE {} ("Id" integer NOT NULL, amount numeric, tags text, at timestamptz)')
                           .format(sql.Identifier(schema, "t")))
    return f"{schema}.t"


def rows(table: str) -> list[tuple]:
    with pgserver.sql_connection() as connection:
        return connection.execute(sql.SQL("SELECT * FROM {} ORDER BY 1").format(
            sql.Identifier(*table.split(".")))).fetchall()


def test_records_are_inserted_without_copy_in_one_transaction(table):
    conn = redshift_conn(pgserver.need_postgres())
    batch = pa.table({"Id": [str(i) for i in range(1500)], "amount": ["1.5"] * 1500, "tags": [["a"]] * 1500})
    result = RS.write(conn, table, iter([batch]), {"object": table, "executionId": "e1"})
    assert result.records_written == 1500
    got = rows(table)
    assert len(got) == 1500 and got[0][:3] == (0, 1.5, '["a"]')


def test_a_refused_value_stops_the_run_and_writes_nothing(table):
    conn = redshift_conn(pgserver.need_postgres())
    batch = pa.table({"Id": ["1", "2"], "amount": ["1", "lots"]})
    with pytest.raises(ConnectorError, match=r'invalid input syntax for type numeric: "lots"\. Nothing was written'):
        RS.write(conn, table, iter([batch]), {"object": table, "executionId": "e1"})
    assert rows(table) == []
    result = RS.write(conn, table, iter([batch]), {"object": table, "executionId": "e1",
                                                   "errorHandlingConfig": {"failOnFirstDestinationError": False}})
    assert result.records_written == 1 and [f.where for f in result.failures] == ["record 2"]
    assert [r[0] for r in rows(table)] == [1]


def test_only_appflows_redshift_destination_properties_are_accepted():
    problems = RedshiftConnector.check_destination_properties(
        {"object": "public.t", "writeOperationType": "UPSERT", "errorHandlingConfig": {"failOnFirstDestinationError": "no"}})
    assert ("writeOperationType", "is not a property of the Redshift connector") in problems
    assert ("errorHandlingConfig.failOnFirstDestinationError", "must be true or false") in problems


def test_cli_creates_a_redshift_profile_from_appflows_shape(db):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    database = pgserver.need_postgres()
    bucket = s3server.new_bucket()
    properties = {"databaseUrl": f"jdbc:redshift://{pgserver.HOST}:{pgserver.PORT}/{database}",
                  "bucketName": bucket, "bucketPrefix": "appflow", "region": s3server.REGION,
                  "endpointUrl": s3server.need_s3()}  # endpointUrl: Sluice's, for the local S3 server
    credentials = {"username": pgserver.USER, "password": pgserver.PASSWORD,
                   "accessKeyId": s3server.ACCESS_KEY, "secretAccessKey": s3server.SECRET_KEY}

    def create(name: str, props: dict) -> str:
        config = {"connectorProfileProperties": {"Redshift": props},
                  "connectorProfileCredentials": {"Redshift": credentials}}
        out, err = StringIO(), StringIO()
        try:
            call_command("sluice", "create-connector-profile", "--connector-profile-name", name,
                         "--connector-type", "Redshift", "--connection-mode", "Public",
                         "--connector-profile-config", json.dumps(config), stdout=out, stderr=err)
        except CommandError:
            pass
        return out.getvalue() + err.getvalue()

    # the connection test checks the stage: a bucket without the role COPY needs is refused
    assert "roleArn: is required to load through the S3 stage" in create("no-role", properties)
    assert "connectorProfileArn" in create("warehouse", {**properties, "roleArn": ROLE})


# -- the S3 stage and COPY (PostgreSQL + moto: the COPY itself only as text) --------------------

ROLE = "arn:aws:iam::123456789012:role/RedshiftCopy"


def test_the_copy_statement_quotes_identifiers_and_passes_checked_literals():
    statement = copy_statement("public", 'acc"ounts', ["Id", "Na me"],
                               "s3://stage-bucket/appflow/.sluice-redshift/e1/manifest.json", ROLE, "eu-west-1")
    assert statement.as_string(None) == (
        'COPY "public"."acc""ounts" ("Id", "Na me") '
        "FROM 's3://stage-bucket/appflow/.sluice-redshift/e1/manifest.json' "
        "IAM_ROLE 'arn:aws:iam::123456789012:role/RedshiftCopy' MANIFEST FORMAT AS CSV GZIP "
        "NULL AS '\\N' TIMEFORMAT 'auto' DATEFORMAT 'auto' REGION 'eu-west-1'")
    assert copy_statement("s", "t", ["a"], "s3://b-1/m.json", ROLE).as_string(None).endswith("DATEFORMAT 'auto'")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"role_arn": ROLE + "' CREDENTIALS 'aws_access_key_id=x"}, "roleArn: .* is not an IAM role ARN"),
        ({"role_arn": "arn:aws:iam::12345:role/x"}, "roleArn: .* is not an IAM role ARN"),
        ({"region": "us-east-1' ACCEPTANYDATE --"}, "region: .* is not an AWS region"),
        ({"manifest_url": "s3://b-1/it's/manifest.json"}, "cannot be part of the stage's S3 keys"),
        ({"manifest_url": "s3://b-1/a\\b/manifest.json"}, "cannot be part of the stage's S3 keys"),
        ({"manifest_url": "s3://b-1/../manifest.json"}, "cannot be part of the stage's S3 keys"),
        ({"manifest_url": "s3://Bad_Bucket/manifest.json"}, "is not an S3 bucket name"),
        ({"manifest_url": "https://b-1/manifest.json"}, "is not an s3:// URL"),
    ],
)
def test_the_copy_statement_refuses_what_it_cannot_quote_safely(args, message):
    base = {"schema": "s", "table": "t", "columns": ["a"], "manifest_url": "s3://b-1/m.json", "role_arn": ROLE,
            "region": ""}
    with pytest.raises(ConnectorError, match=message):
        copy_statement(**{**base, **args})


def stage_conn(database: str, bucket: str, **properties) -> ConnectionInfo:
    return ConnectionInfo(
        "r", "Redshift", "",
        {"databaseUrl": f"jdbc:redshift://{pgserver.HOST}:{pgserver.PORT}/{database}", "bucketName": bucket,
         "bucketPrefix": "appflow", "roleArn": ROLE, "region": s3server.REGION, "endpointUrl": s3server.need_s3(),
         **properties},
        {"username": pgserver.USER, "password": pgserver.PASSWORD,
         "accessKeyId": s3server.ACCESS_KEY, "secretAccessKey": s3server.SECRET_KEY})


@pytest.mark.parametrize(
    ("properties", "options", "message"),
    [
        ({"roleArn": ""}, {}, "roleArn: is required to load through the S3 stage"),
        ({}, {"bucketPrefix": "in'jection"}, 'bucketPrefix: "in\'jection" cannot be part'),
        ({}, {"intermediateBucketName": "No_Such"}, 'intermediateBucketName: "No_Such" is not an S3 bucket name'),
        ({"region": "moon"}, {}, 'region: "moon" is not an AWS region'),
    ],
)
def test_stage_settings_are_checked_and_named(properties, options, message):
    conn = stage_conn("dev", "stage-bucket", **properties)
    with pytest.raises(ConnectorError, match=message):
        stage_config(conn, options)


class StagedOnPostgres(RedshiftConnector):
    """Redshift's connector with its load step done by PostgreSQL: the staged files are fetched
    from moto through the manifest, checked, and COPied FROM STDIN into the same transaction.
    What Redshift would have been sent is kept, to check it names the same manifest."""

    def __init__(self):
        self.loaded: list[dict] = []

    def load_staged(self, cursor, stage, schema, table, columns, manifest_url):
        bucket, _, key = manifest_url.removeprefix("s3://").partition("/")
        listed = json.loads(s3server.body(bucket, key))
        files = []
        for entry in listed["entries"]:
            assert entry["mandatory"] is True
            file_bucket, _, file_key = entry["url"].removeprefix("s3://").partition("/")
            data = s3server.body(file_bucket, file_key)
            assert len(data) == entry["meta"]["content_length"]
            files.append(gzip.decompress(data))
        copy = copy_statement(schema, table, columns, manifest_url, stage.config.role_arn, stage.config.region)
        self.loaded.append({"manifest": manifest_url, "keys": s3server.keys(bucket), "files": files,
                            "copy": copy.as_string(None), "records": [e["meta"]["record_count"] for e in listed["entries"]]})
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, NULL '\\N')").format(
            sql.Identifier(schema, table), sql.SQL(", ").join(sql.Identifier(c) for c in columns))
        with cursor.copy(statement) as pipe:
            for data in files:
                pipe.write(data)


@pytest.fixture
def stage_bucket() -> str:
    return s3server.new_bucket()


def run_batches(n: int, size: int) -> list[pa.Table]:
    return [pa.table({"Id": list(range(i * size, (i + 1) * size)), "amount": [f"{i}.5"] * size,
                      "tags": [["a", "b'c"]] * size}) for i in range(n)]


def test_records_are_staged_in_s3_loaded_from_the_manifest_and_the_stage_is_removed(
        table, stage_bucket, monkeypatch):
    monkeypatch.setattr(stage_module, "FILE_BYTES", 20_000)  # several staged files
    s3server.client().put_object(Bucket=stage_bucket, Key="appflow/.sluice-redshift/e1/part-00007.csv.gz",
                                 Body=b"left by a killed attempt")
    connector = StagedOnPostgres()
    conn = stage_conn(pgserver.need_postgres(), stage_bucket)
    result = connector.write(conn, table, iter(run_batches(5, 1_000)), {"object": table, "executionId": "e1"})
    assert result.records_written == 5_000
    got = rows(table)
    assert len(got) == 5_000 and got[0][:3] == (0, 0.5, '["a","b\'c"]') and got[-1][:2] == (4_999, 4.5)
    [load] = connector.loaded
    staged = [k for k in load["keys"] if k.endswith(".csv.gz")]
    assert len(staged) >= 3 and staged == [f"appflow/.sluice-redshift/e1/1/part-{i:05d}.csv.gz" for i in range(len(staged))]
    assert "appflow/.sluice-redshift/e1/part-00007.csv.gz" not in load["keys"]  # the dead attempt's file went first
    assert load["manifest"] == f"s3://{stage_bucket}/appflow/.sluice-redshift/e1/1/manifest.json"
    assert sum(load["records"]) == 5_000 and sum(f.count(b"\n") for f in load["files"]) == 5_000
    schema, name = table.split(".")
    assert load["copy"] == (
        f'COPY "{schema}"."{name}" ("Id", "amount", "tags") FROM \'{load["manifest"]}\' IAM_ROLE \'{ROLE}\' '
        "MANIFEST FORMAT AS CSV GZIP NULL AS '\\N' TIMEFORMAT 'auto' DATEFORMAT 'auto' REGION 'us-east-1'")
    assert s3server.SECRET_KEY not in load["copy"] and s3server.ACCESS_KEY not in load["copy"]
    assert s3server.keys(stage_bucket) == []  # the stage is removed after the load


def test_a_staged_null_is_loaded_as_null_and_empty_text_as_empty_text(table, stage_bucket):
    connector = StagedOnPostgres()
    conn = stage_conn(pgserver.need_postgres(), stage_bucket)
    batch = pa.table({"Id": [1, 2, 3], "amount": [None, "2", None], "tags": [None, "", "\\N"]})
    connector.write(conn, table, iter([batch]), {"object": table, "executionId": "e1"})
    assert [r[:3] for r in rows(table)] == [(1, None, None), (2, 2, ""), (3, None, "\\N")]
    [load] = connector.loaded
    assert load["files"][0].splitlines() == [b'1,\\N,\\N', b'2,"2",""', b'3,\\N,"\\N"']


def test_the_destinations_intermediate_bucket_and_prefix_win(table, stage_bucket):
    other = s3server.new_bucket()
    connector = StagedOnPostgres()
    conn = stage_conn(pgserver.need_postgres(), stage_bucket)
    options = {"object": table, "executionId": "e2", "intermediateBucketName": other, "bucketPrefix": "flows/x"}
    connector.write(conn, table, iter(run_batches(1, 10)), options)
    assert connector.loaded[0]["manifest"] == f"s3://{other}/flows/x/.sluice-redshift/e2/1/manifest.json"
    assert len(rows(table)) == 10 and s3server.keys(other) == [] and s3server.keys(stage_bucket) == []


def test_a_source_failure_after_staging_removes_the_stage_and_writes_nothing(table, stage_bucket, monkeypatch):
    monkeypatch.setattr(stage_module, "FILE_BYTES", 1_000)
    seen = []

    def batches():
        yield from run_batches(3, 200)
        seen.append(s3server.keys(stage_bucket))
        raise RuntimeError("the source broke")

    connector = StagedOnPostgres()
    with pytest.raises(RuntimeError, match="the source broke"):
        connector.write(stage_conn(pgserver.need_postgres(), stage_bucket), table, batches(),
                        {"object": table, "executionId": "e3"})
    assert len(seen[0]) >= 3  # files were staged before the failure ...
    assert s3server.keys(stage_bucket) == [] and rows(table) == [] and connector.loaded == []  # ... and removed


def test_a_load_the_database_refuses_removes_the_stage_and_writes_nothing(table, stage_bucket):
    bad = pa.table({"Id": ["1", "2"], "amount": ["1", "lots"]})
    connector = StagedOnPostgres()
    with pytest.raises(ConnectorError, match=r'invalid input syntax for type numeric: "lots"\. Nothing was written'):
        connector.write(stage_conn(pgserver.need_postgres(), stage_bucket), table,
                        iter([pa.table({"Id": ["7"], "amount": ["2"]}), bad]),
                        {"object": table, "executionId": "e4"})
    assert connector.loaded and s3server.keys(stage_bucket) == [] and rows(table) == []


def test_without_a_bucket_records_are_inserted_and_nothing_is_staged(table, stage_bucket):
    connector = StagedOnPostgres()
    conn = stage_conn(pgserver.need_postgres(), "", roleArn="")
    connector.write(conn, table, iter(run_batches(1, 3)), {"object": table, "executionId": "e5"})
    assert len(rows(table)) == 3 and connector.loaded == []


def test_a_destination_bucket_alone_does_not_stage_a_connection_without_one(table, stage_bucket):
    # AppFlow documents always carry intermediateBucketName; staging is the connection's choice
    connector = StagedOnPostgres()
    conn = stage_conn(pgserver.need_postgres(), "", roleArn="")
    connector.write(conn, table, iter(run_batches(1, 3)),
                    {"object": table, "executionId": "e6", "intermediateBucketName": stage_bucket})
    assert len(rows(table)) == 3 and connector.loaded == [] and s3server.keys(stage_bucket) == []


def test_the_connection_test_checks_the_stage(stage_bucket):
    database = pgserver.need_postgres()
    RS.test(stage_conn(database, stage_bucket))
    with pytest.raises(ConnectorError, match='Listing s3://no-such-stage-bucket/appflow/: the bucket "no-such-stage-bucket" does not exist'):
        RS.test(stage_conn(database, "no-such-stage-bucket"))
    with pytest.raises(ConnectorError, match="roleArn: is required"):
        RS.test(stage_conn(database, stage_bucket, roleArn=""))

"""The Snowflake destination against a local stand-in (fakesnow on DuckDB + moto for the stage
bucket; snowflake_standin.py says what is swapped). The COPY and MERGE texts are also tested as
text, since a stand-in is not Snowflake."""

from __future__ import annotations

import socket

import pyarrow as pa
import pytest

from connections.connectors import fencing
from connections.connectors.base import ConnectorError
from connections.connectors.snowflake import SnowflakeConnector, client, sqltext
from connections.net import BlockedAddress
from connections.tests import s3server
from connections.tests.snowflake_standin import ACCOUNT, DATABASE, standin

SF = SnowflakeConnector()


@pytest.fixture
def snow(monkeypatch, tmp_path):
    return standin(monkeypatch, tmp_path)


def accounts(n: int, start: int = 0) -> pa.Table:
    return pa.table(
        {
            "Id": [str(i) for i in range(start, start + n)],
            "Name": [f"Account {i}" for i in range(start, start + n)],
            "Revenue": [i * 1.5 for i in range(start, start + n)],
        }
    )


def options(**extra) -> dict:
    return {
        "object": "ACCOUNTS",
        "intermediateBucketName": "",
        "executionId": "exec-1",
        "customProperties": {"createTableIfMissing": "true"},
        **extra,
    }


def staged_keys(snow) -> list[str]:
    return s3server.keys(snow.bucket, "snow/")


def test_insert_creates_the_table_and_loads_the_staged_files_in_one_copy(snow):
    opts = options(intermediateBucketName=snow.bucket, bucketPrefix="crm")
    result = SF.write(snow.conn(), "ACCOUNTS", iter([accounts(3), accounts(2, 3)]), opts)

    assert result.records_written == 5 and result.location == f"{DATABASE}.PUBLIC.ACCOUNTS"
    assert snow.sql('SELECT "ID", "NAME", "REVENUE" FROM ACCOUNTS ORDER BY "REVENUE"')[4] == (
        "4",
        "Account 4",
        6.0,
    )
    columns = snow.sql(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'ACCOUNTS' ORDER BY ordinal_position"
    )
    assert columns == [("ID", "TEXT"), ("NAME", "TEXT"), ("REVENUE", "FLOAT")]
    assert snow.copies == ["@SLUICE_DB.PUBLIC.APPFLOW_STAGE/crm/.sluice-snowflake/exec-1/1/"]
    assert snow.hosts == [f"{ACCOUNT}.snowflakecomputing.com"] * len(snow.hosts) and snow.hosts
    assert staged_keys(snow) == []  # the stage is emptied after success


def test_upsert_merges_on_the_id_fields_and_the_last_repeated_record_wins(snow):
    conn = snow.conn()
    SF.write(conn, "ACCOUNTS", iter([accounts(3)]), options())
    changed = pa.table(
        {"Id": ["1", "7", "7"], "Name": ["renamed", "new", "newer"], "Revenue": [9.0, 1.0, 2.0]}
    )
    result = SF.write(
        conn,
        "accounts",
        iter([changed]),
        options(writeOperationType="UPSERT", idFieldNames=["Id"], executionId="exec-2"),
    )

    assert result.records_written == 2
    assert snow.sql('SELECT "ID", "NAME", "REVENUE" FROM ACCOUNTS ORDER BY "ID"') == [
        ("0", "Account 0", 0.0),
        ("1", "renamed", 9.0),
        ("2", "Account 2", 3.0),
        ("7", "newer", 2.0),
    ]
    assert staged_keys(snow) == []


def test_a_source_failure_rolls_back_and_empties_the_stage(snow):
    conn = snow.conn()
    SF.write(conn, "ACCOUNTS", iter([accounts(2)]), options())

    def failing():
        yield accounts(2, 10)
        raise ConnectorError("the source broke")

    with pytest.raises(ConnectorError, match="the source broke"):
        SF.write(conn, "ACCOUNTS", failing(), options(executionId="exec-2"))
    assert snow.sql("SELECT COUNT(*) FROM ACCOUNTS") == [(2,)]
    assert staged_keys(snow) == []


def test_a_lost_lease_publishes_nothing(snow):
    with fencing.held(1, lambda: False), pytest.raises(fencing.LeaseLost):
        SF.write(snow.conn(), "ACCOUNTS", iter([accounts(2)]), options())
    assert snow.sql("SELECT COUNT(*) FROM ACCOUNTS") == [(0,)]  # created before the transaction, empty
    assert staged_keys(snow) == []


def test_the_next_attempt_clears_what_a_killed_attempt_staged(snow):
    s3server.client().put_object(
        Bucket=snow.bucket,
        Key="snow/.sluice-snowflake/exec-1/1/part-00000.csv.gz",
        Body=b"left by a killed worker",
    )
    with fencing.held(2, lambda: True):
        SF.write(snow.conn(), "ACCOUNTS", iter([accounts(2)]), options())
    assert snow.copies == ["@SLUICE_DB.PUBLIC.APPFLOW_STAGE/.sluice-snowflake/exec-1/2/"]
    assert staged_keys(snow) == [] and snow.sql("SELECT COUNT(*) FROM ACCOUNTS") == [(2,)]


def test_a_missing_table_or_field_is_named(snow):
    with pytest.raises(ConnectorError, match=r"SLUICE_DB.PUBLIC.NOPE does not exist .*createTableIfMissing"):
        SF.write(snow.conn(), "NOPE", iter([accounts(1)]), {"executionId": "e"})
    snow.sql('CREATE TABLE "T" ("ID" VARCHAR)')
    with pytest.raises(ConnectorError, match='The field "Name" has no column in SLUICE_DB.PUBLIC.T'):
        SF.write(snow.conn(), "t", iter([accounts(1)]), {"executionId": "e"})
    assert staged_keys(snow) == []


def test_the_destination_bucket_must_be_the_stages(snow):
    with pytest.raises(ConnectorError, match=r"intermediateBucketName: \"other-bucket\" is not the bucket"):
        SF.write(snow.conn(), "ACCOUNTS", iter([accounts(1)]), options(intermediateBucketName="other-bucket"))


def test_the_account_host_goes_through_the_ssrf_guard(snow, monkeypatch):
    monkeypatch.undo()  # the real guard, not the stand-in's recorder
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 443))],
    )
    with pytest.raises(BlockedAddress, match=f'"{ACCOUNT}.snowflakecomputing.com" resolves to 10.1.2.3'):
        client.connect(client.login_from(snow.conn()))


def test_bad_connection_values_are_named():
    from connections.connectors.base import ConnectionInfo

    def login(**props):
        base = {"accountName": "xy12345.us-east-2.aws", "warehouse": "WH", "database": "DB"}
        return client.login_from(
            ConnectionInfo("s", "Snowflake", "", {**base, **props}, {"username": "u", "password": "p"})
        )

    assert login().host == "xy12345.us-east-2.aws.snowflakecomputing.com"
    with pytest.raises(ConnectorError, match="accountName: .* is not a Snowflake account identifier"):
        login(accountName="https://evil.example/")
    with pytest.raises(ConnectorError, match='warehouse: "W H" is not a Snowflake name'):
        login(warehouse="W H")


def test_key_pair_authentication_reads_a_pem_key_that_lost_its_line_breaks():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    der = client.private_key_der(pem.replace("\n", " "), "")
    assert serialization.load_der_private_key(der, None).private_numbers() == key.private_numbers()
    with pytest.raises(ConnectorError, match="privateKey: is not a PEM private key"):
        client.private_key_der("not a key", "")


def test_copy_and_merge_statements_as_text():
    location = sqltext.stage_location("DB.PUBLIC.ST", "crm/.sluice-snowflake/e1/1/")
    assert sqltext.copy_into(
        '"DB"."PUBLIC"."T"', ["Id", 'we"ird'], location, ["part-00000.csv.gz"], False
    ) == (
        'COPY INTO "DB"."PUBLIC"."T" ("Id", "we""ird") FROM @DB.PUBLIC.ST/crm/.sluice-snowflake/e1/1/ '
        "FILES = ('part-00000.csv.gz') FILE_FORMAT = (TYPE = CSV COMPRESSION = GZIP "
        "FIELD_OPTIONALLY_ENCLOSED_BY = '\"' EMPTY_FIELD_AS_NULL = TRUE ESCAPE_UNENCLOSED_FIELD = NONE) "
        "ON_ERROR = CONTINUE PURGE = FALSE"
    )
    assert "ON_ERROR = ABORT_STATEMENT" in sqltext.copy_into('"T"', ["a"], location, ["f.csv.gz"], True)
    assert sqltext.merge('"T"', ["Id", "Name"], ["Id"]) == (
        'MERGE INTO "T" AS t USING (SELECT "Id", "Name" FROM "SLUICE_UPSERT_STAGE" QUALIFY ROW_NUMBER() '
        'OVER (PARTITION BY "Id" ORDER BY "SLUICE_ROW" DESC) = 1) AS s ON t."Id" = s."Id" '
        'WHEN MATCHED THEN UPDATE SET t."Name" = s."Name" '
        'WHEN NOT MATCHED THEN INSERT ("Id", "Name") VALUES (s."Id", s."Name")'
    )
    with pytest.raises(ConnectorError, match="stage: .* is not a stage name"):
        sqltext.stage_location("DB.PUBLIC.ST'; DROP TABLE T; --", "")
    with pytest.raises(ConnectorError, match="cannot be part of a Snowflake stage path"):
        sqltext.stage_location("DB.PUBLIC.ST", "it's/")
    with pytest.raises(ConnectorError, match="cannot be a staged file name"):
        sqltext.copy_into('"T"', ["a"], location, ["x') --"], True)


def test_destination_properties_are_checked():
    problems = SnowflakeConnector.check_destination_properties(
        {"object": "a.b.c.d", "writeOperationType": "UPDATE", "entityName": "x"}
    )
    assert ("object", '"a.b.c.d" is not of the form DATABASE.SCHEMA.TABLE') in problems
    assert ("intermediateBucketName", "is required: the S3 bucket of the connection's stage") in problems
    assert ("writeOperationType", "must be INSERT or UPSERT, not 'UPDATE'") in problems
    assert ("entityName", "is not a property of the Snowflake connector") in problems
    assert (
        SnowflakeConnector.check_destination_properties(
            {
                "object": "DB.PUBLIC.T",
                "intermediateBucketName": "b",
                "writeOperationType": "UPSERT",
                "idFieldNames": ["Id"],
                "errorHandlingConfig": {"failOnFirstDestinationError": True},
            }
        )
        == []
    )


def test_the_connection_test_finds_the_stage_and_lists_its_bucket(snow):
    SF.test(snow.conn())
    with pytest.raises(ConnectorError, match="stage: SLUICE_DB.PUBLIC.NOPE does not exist, or the role cannot use it"):
        SF.test(snow.conn(stage="SLUICE_DB.PUBLIC.NOPE"))

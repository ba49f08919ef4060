"""A local stand-in for Snowflake: fakesnow (snowflake.connector.connect patched to run on DuckDB)
with a database, a schema and an external stage whose URL is a local folder.

What fakesnow cannot do is read the stage's S3 bucket (DuckDB would need its httpfs extension and
network access). So the tests swap that one step: `SnowflakeConnector.load_staged` first copies the
run's staged objects from the S3 test server (moto) into the stage's local folder, at the same
path, and then runs the connector's own COPY INTO statement, which fakesnow executes (FILES,
FILE_FORMAT, ON_ERROR parsed by sqlglot, gzip CSV read by DuckDB). Everything else, connecting,
looking tables up, creating them, the temporary table and MERGE of an upsert, the transaction, the
S3 staging and its removal, is the product code.

The SSRF guard resolves `<account>.snowflakecomputing.com`, which this machine cannot; the
stand-in replaces the guard's call with a recorder of the hosts it was asked about (the guard
itself is tested apart, in test_snowflake.py).
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import snowflake.connector
from fakesnow import copy_into
from fakesnow.instance import FakeSnow

from connections.connectors.base import ConnectionInfo
from connections.connectors.snowflake import client, connector
from connections.tests import s3server

ACCOUNT = "sluice-test"
DATABASE = "SLUICE_DB"
STAGE = f"{DATABASE}.PUBLIC.APPFLOW_STAGE"


@dataclass
class StandIn:
    folder: Path  # the stage's local mirror
    bucket: str
    hosts: list[str] = field(default_factory=list)
    copies: list[str] = field(default_factory=list)  # the COPY statements run

    def properties(self, **extra) -> dict:
        return {
            "accountName": ACCOUNT,
            "warehouse": "COMPUTE_WH",
            "database": DATABASE,
            "schema": "PUBLIC",
            "stage": STAGE,
            "bucketName": self.bucket,
            "bucketPrefix": "snow",
            "region": s3server.REGION,
            "endpointUrl": s3server.need_s3(),
            **extra,
        }

    def credentials(self) -> dict:
        return {
            "username": "loader",
            "password": "s3cret-pass",
            "accessKeyId": s3server.ACCESS_KEY,
            "secretAccessKey": s3server.SECRET_KEY,
        }

    def conn(self, **extra) -> ConnectionInfo:
        return ConnectionInfo("snow", "Snowflake", "", self.properties(**extra), self.credentials())

    def sql(self, statement: str) -> list[tuple]:
        """A statement on the stand-in, as another session would run it."""
        connection = snowflake.connector.connect(
            account=ACCOUNT, user="t", password="t", database=DATABASE, schema="PUBLIC"
        )
        cursor = connection.cursor()
        cursor.execute(statement)
        return cursor.fetchall()


def standin(monkeypatch, tmp_path: Path) -> StandIn:
    """The stand-in for the rest of the test (undone with `monkeypatch`)."""
    s3server.need_s3()
    state = StandIn(folder=tmp_path / "stage", bucket=s3server.new_bucket())
    state.folder.mkdir()
    monkeypatch.setattr(client, "checked_address", lambda host, port: state.hosts.append(host))
    original = connector.SnowflakeConnector.load_staged

    def load_staged(self, cursor, login, into, columns, location, files, fail_on_first):
        # the swapped step: what Snowflake would read from the bucket through the stage
        relative = location.split("/", 1)[1]
        s3 = s3server.client()
        for name in files:
            key = f"snow/{relative}{name}"
            target = state.folder / relative / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=state.bucket, Key=key)["Body"].read())
        state.copies.append(location)
        return original(self, cursor, login, into, columns, location, files, fail_on_first)

    monkeypatch.setattr(connector.SnowflakeConnector, "load_staged", load_staged)
    monkeypatch.setattr(copy_into.ReadCSV, "read_expression", _numbered_columns(copy_into.ReadCSV.read_expression))
    # what fakesnow.patch() does, undone by monkeypatch rather than a with block (contract fixtures)
    monkeypatch.setattr(snowflake.connector, "connect", FakeSnow().connect)
    state.sql(f"CREATE STAGE {STAGE} URL='file://{state.folder}/'")
    return state


def _numbered_columns(read_expression):
    """fakesnow selects a CSV file's columns as column0, column1, ...; DuckDB names them column00,
    column01, ... when a file has ten or more. Name them as fakesnow expects (a stand-in bug)."""

    def wrapped(self, url):
        expression = read_expression(self, url)
        with gzip.open(urlparse(url).path, "rt", newline="") as f:
            width = len(next(csv.reader(f), []))
        names = self.make_eq("names", [f"column{i}" for i in range(width)])
        expression.append("expressions", names)
        return expression

    return wrapped

"""The Redshift connector: its JDBC URL, and its PostgreSQL code path - tested against
PostgreSQL only (there is no Redshift cluster here)."""

from __future__ import annotations

import json
from io import StringIO

import pyarrow as pa
import pytest
from psycopg import sql

from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.connectors.redshift import RedshiftConnector
from connections.connectors.redshift.jdbc import parse
from connections.tests import pgserver

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

    database = pgserver.need_postgres()
    config = {"connectorProfileProperties": {"Redshift": {
                  "databaseUrl": f"jdbc:redshift://{pgserver.HOST}:{pgserver.PORT}/{database}",
                  "bucketName": "stage", "bucketPrefix": "appflow"}},
              "connectorProfileCredentials": {"Redshift": {"username": pgserver.USER, "password": pgserver.PASSWORD}}}
    out = StringIO()
    call_command("sluice", "create-connector-profile", "--connector-profile-name", "warehouse",
                 "--connector-type", "Redshift", "--connection-mode", "Public",
                 "--connector-profile-config", json.dumps(config), stdout=out)
    assert "connectorProfileArn" in out.getvalue()

"""Filters pushed down to a SQL source give the same records as filters run by the engine alone,
against the real PostgreSQL and MariaDB (issue 3's promise, for SQL sources)."""

from __future__ import annotations

import uuid

import pytest
from psycopg import sql

from connections.connectors.base import ConnectionInfo
from connections.connectors.mysql import MySQLConnector
from connections.connectors.postgresql import PostgreSQLConnector
from connections.tests import mysqlserver, pgserver
from flows.engine import Endpoint, run_flow
from flows.tests.test_engine import MemoryDestination, document

ROWS = [
    # Id, Name, Industry, Revenue, Employees, Created
    (1, "acme", "Banking", 10.5, 3, "2026-01-05 10:00:00"),
    (2, "Globex", "Energy", 2000.0, 40, "2026-02-10 12:30:00"),
    (3, "Initech", "Retail", 300.0, None, "2026-03-15 08:00:00"),
    (4, "umbrella", "banking", 4000.0, 700, "2026-04-20 17:45:00"),
    (5, "Hooli", None, None, 12, "2026-05-25 23:59:59"),
    # "Zeta" < "h" by code point, as the engine compares; not under MySQL's or a locale's collation
    (6, "Zeta Energy", "Energy", 6000.0, 60, "2026-06-30 00:00:00"),
    (7, "Ümlaut AG", "Banking", 70.0, 7, "2026-07-01 09:00:00"),
]


def filter_task(field: str, operator: str, **props: str) -> dict:
    return {"taskType": "Filter", "sourceFields": [field], "connectorOperator": {"SQL": operator},
            "taskProperties": props}


TASKS = [
    # pushed down: exact in both databases (numbers, datetimes) or looser (text equality, CONTAINS)
    filter_task("Industry", "EQUAL_TO", DATA_TYPE="string", VALUES="Banking,Energy"),
    filter_task("Revenue", "GREATER_THAN", DATA_TYPE="double", VALUE="50"),
    filter_task("Created", "BETWEEN", DATA_TYPE="datetime",
                LOWER_BOUND="2026-01-01T00:00:00Z", UPPER_BOUND="2026-06-30T00:00:00Z"),
    # text ranges follow the database's collation, not code points: left to the engine
    filter_task("Name", "LESS_THAN", DATA_TYPE="string", VALUE="h"),
    {"taskType": "Map_all", "sourceFields": [""], "connectorOperator": {"SQL": "NO_OP"},
     "taskProperties": {}},
]


class NoPushdown:
    pushdown_operators = ()


def run(connector, conn: ConnectionInfo, entity: str):
    destination = MemoryDestination()
    doc = document(TASKS, source={"entityName": entity})
    result = run_flow(doc, Endpoint(connector, conn), Endpoint(destination, ConnectionInfo("m", "Memory")),
                      execution_id="e")
    rows = sorted(destination.committed.to_pylist(), key=lambda r: r["Id"])
    return result.counters, rows


def check_same_result(connector_cls, conn: ConnectionInfo, entity: str) -> None:
    unpushed = type("Unpushed", (NoPushdown, connector_cls), {})()
    plain_counters, plain_rows = run(unpushed, conn, entity)
    counters, rows = run(connector_cls(), conn, entity)
    assert [r["Id"] for r in rows] == [r["Id"] for r in plain_rows] == [2, 6]
    assert rows == plain_rows
    # the database left the other rows out: they were never read
    assert plain_counters.records_processed == len(ROWS)
    assert counters.records_processed < plain_counters.records_processed
    assert counters.records_written == plain_counters.records_written == 2


def test_postgresql_pushdown_gives_the_engine_s_result():
    pgserver.need_postgres()
    schema = pgserver.fresh_schema()
    table = sql.Identifier(schema, "accounts")
    with pgserver.sql_connection() as connection:
        connection.execute(sql.SQL(
            'CREATE TABLE {} ("Id" integer PRIMARY KEY, "Name" text, "Industry" text, '
            '"Revenue" double precision, "Employees" integer, "Created" timestamptz)'
        ).format(table))
        for row in ROWS:
            connection.execute(
                sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s, %s, %s::timestamp AT TIME ZONE 'UTC')")
                .format(table), row,
            )
    check_same_result(PostgreSQLConnector, pgserver.connection_info(), f"{schema}.accounts")


def test_mysql_pushdown_gives_the_engine_s_result():
    database = mysqlserver.database_for_process()
    table = f"accounts_{uuid.uuid4().hex[:8]}"
    mysqlserver.execute(database, f"CREATE TABLE `{table}` (Id INT PRIMARY KEY, Name VARCHAR(50), "
                                  "Industry VARCHAR(50), Revenue DOUBLE, Employees INT, Created DATETIME)")
    for row in ROWS:
        mysqlserver.execute(database, f"INSERT INTO `{table}` VALUES (%s, %s, %s, %s, %s, %s)", row)
    check_same_result(MySQLConnector, mysqlserver.connection_info(database), f"{database}.{table}")


@pytest.mark.parametrize("operator", ["LESS_THAN", "GREATER_THAN_OR_EQUAL_TO", "NOT_EQUAL_TO", "BETWEEN"])
def test_text_comparisons_that_depend_on_collation_are_not_pushed(operator):
    from connections.connectors.sqlfilters import pushable

    values = ["a", "m"] if operator == "BETWEEN" else ["a"]
    assert pushable({"field": "Name", "operator": operator, "values": values, "dataType": "string"},
                    {"Name": "string"}) is None
    assert pushable({"field": "Name", "operator": "EQUAL_TO", "values": ["a"], "dataType": "string"},
                    {"Name": "string"}) is not None
    # a text column compared as a number would be compared as text by the database
    assert pushable({"field": "Name", "operator": "GREATER_THAN", "values": ["5"], "dataType": "integer"},
                    {"Name": "string"}) is None

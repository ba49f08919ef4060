"""The MySQL/MariaDB connector against a real server (skipped without one, failing under CI=true).

Each test works in its own scratch database (see mysqlserver.py)."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from connections.connectors import fencing
from connections.connectors.base import ConnectorError, Window
from connections.connectors.mysql import MySQLConnector
from connections.connectors.mysql.reading import read_table
from connections.tests import mysqlserver

MY = MySQLConnector()


@pytest.fixture
def db() -> Iterator[str]:
    name = mysqlserver.create_database()
    yield name
    mysqlserver.drop_database(name)


@pytest.fixture
def conn(db):
    return mysqlserver.connection_info(db)


def sql(db: str, statement: str, params: tuple = ()) -> list[tuple]:
    return mysqlserver.execute(db, statement, params)


def accounts(db: str) -> str:
    sql(db, "CREATE TABLE accounts (Id INT PRIMARY KEY, Name VARCHAR(50) NOT NULL, amount DECIMAL(10,2), "
            "active BOOLEAN, created TIMESTAMP NULL, born DATE, seen DATETIME, extra JSON)")
    sql(db, "INSERT INTO accounts VALUES "
            "(1, 'Acme', 10.50, TRUE, '2026-01-01 10:00:00', '2000-01-01', '2026-01-01 10:00:00', '{\"k\": 1}'), "
            "(2, 'Globex', NULL, FALSE, '2026-02-01 10:00:00', NULL, NULL, NULL), "
            "(3, 'Initech', 99, NULL, '2026-03-01 10:00:00', '1999-12-31', NULL, '[]')")
    return f"{db}.accounts"


def read_rows(conn, entity, fields=None, filters=(), window=None, options=None) -> list[dict]:
    batches = MY.read(conn, entity, fields, list(filters), window or Window(), options or {})
    return [row for batch in batches for row in batch.table.to_pylist()]


def write(conn, entity, tables, **options):
    return MY.write(conn, entity, iter(tables), {"executionId": "e1", **options})


# -- connection ---------------------------------------------------------------------------------


def test_connection_test_passes(conn):
    MY.test(conn)


class RefusingServer:
    """Speaks just enough of the MySQL protocol to refuse a login with "access denied"."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with self.listener:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with client:
                client.sendall(_packet(0, _handshake()))
                client.recv(65536)  # the login; whatever it says, it is refused
                message = b"#28000Access denied for user 'clerk'@'127.0.0.1' (using password: YES)"
                client.sendall(_packet(2, b"\xff" + struct.pack("<H", 1045) + message))

    def close(self) -> None:
        self.listener.close()


def _packet(sequence: int, payload: bytes) -> bytes:
    return struct.pack("<I", len(payload))[:3] + bytes([sequence]) + payload


def _handshake() -> bytes:
    capabilities = 0x0000_0200 | 0x0000_8000 | 0x0008_0000  # PROTOCOL_41, SECURE_CONNECTION, PLUGIN_AUTH
    return (b"\x0a" + b"5.7.0-fake\0" + struct.pack("<I", 1) + b"12345678\0"
            + struct.pack("<H", capabilities & 0xFFFF) + b"\x21" + struct.pack("<H", 2)
            + struct.pack("<H", capabilities >> 16) + bytes([21]) + b"\0" * 10 + b"123456789012\0"
            + b"mysql_native_password\0")


def test_wrong_password_is_named_and_never_shown():
    server = RefusingServer()
    try:
        bad = mysqlserver.connection_info("crm", port=str(server.port), username="clerk",
                                          password="wrong-secret-456", sslMode="disable")
        with pytest.raises(ConnectorError) as caught:
            MY.test(bad)
    finally:
        server.close()
    assert caught.value.message == (
        f"MySQL at 127.0.0.1:{server.port}/crm: the database refused the user name or password. Check the "
        "user name and password of the connection, and that the user may log in from Sluice's address."
    )
    assert caught.value.permanent and "wrong-secret-456" not in repr(caught.value)
    assert "clerk" not in caught.value.message  # the user name is a credential too


def test_the_real_server_refusing_a_login_is_named_without_the_user(db):
    """MariaDB/MySQL here answers 1045 for a user it does not know."""
    user = "sluice_no_such_user_7d1"
    with pytest.raises(ConnectorError) as caught:
        MY.test(mysqlserver.connection_info(db, username=user, password="pw-canary-456"))
    message = caught.value.message
    assert "the database refused the user name or password" in message and caught.value.permanent
    assert user not in message and "pw-canary-456" not in message


@pytest.mark.parametrize("code, server_says", [
    (1045, "Access denied for user 'clerk'@'10.0.0.9' (using password: YES)"),
    (1698, "Access denied for user 'clerk'@'localhost'"),
    (1044, "Access denied for user 'clerk'@'%' to database 'crm'"),
    (1226, "User 'clerk' has exceeded the 'max_user_connections' resource (current value: 10)"),
])
def test_no_error_echoes_the_user_name(code, server_says):
    """PyMySQL's own exception, as it raises it, mapped without the user name (MariaDB's 1045...)."""
    import pymysql

    from connections.connectors.dbtarget import Target
    from connections.connectors.mysql.client import connect_error, query_error

    target = Target(host="127.0.0.1", port=3306, database="crm", user="clerk", password="pw-789")
    exc = pymysql.err.OperationalError(code, server_says)
    for error in (connect_error(target, exc), query_error(target, exc, "Reading crm.accounts")):
        assert "clerk" not in error.message and "pw-789" not in error.message
    if code in (1045, 1698):
        assert "the database refused the user name or password" in connect_error(target, exc).message
    if code == 1044:
        assert 'may not use the database "crm"' in connect_error(target, exc).message


def test_unreachable_host_is_transient():
    with pytest.raises(ConnectorError) as caught:
        MY.test(mysqlserver.connection_info("x", port="1"))
    assert "Cannot reach MySQL at 127.0.0.1:1" in caught.value.message and not caught.value.permanent


def test_missing_database_is_named():
    mysqlserver.need_mysql()
    with pytest.raises(ConnectorError, match='The database "sluice_no_such_db" does not exist'):
        MY.test(mysqlserver.connection_info("sluice_no_such_db"))


# -- catalog ------------------------------------------------------------------------------------


def test_entities_are_databases_then_tables_and_views(conn, db):
    accounts(db)
    sql(db, "CREATE VIEW v_one AS SELECT 1 AS one")
    assert db in {e.name for e in MY.list_entities(conn)}
    assert "mysql" not in {e.name for e in MY.list_entities(conn)}
    assert [(e.name, e.label) for e in MY.list_entities(conn, db)] == [
        (f"{db}.accounts", "accounts"), (f"{db}.v_one", "v_one (view)")]


def test_describe_gives_types_keys_and_timestamp_columns(conn, db):
    fields = {f.name: f for f in MY.describe_entity(conn, accounts(db))}
    assert {n: f.data_type for n, f in fields.items()} == {
        "Id": "integer", "Name": "string", "amount": "double", "active": "boolean",
        "created": "datetime", "born": "date", "seen": "datetime", "extra": "string"}
    assert [n for n, f in fields.items() if f.primary_key] == ["Id"]
    assert [n for n, f in fields.items() if f.timestamp_for_incremental] == ["created", "born", "seen"]
    assert not fields["Name"].nullable and fields["amount"].nullable
    # a table name alone is in the connection's database
    assert [f.name for f in MY.describe_entity(conn, "accounts")] == list(fields)


def test_describe_missing_table_names_it(conn, db):
    with pytest.raises(ConnectorError, match=rf"The table nope does not exist in the database \"{db}\""):
        MY.describe_entity(conn, f"{db}.nope")


# -- reading ------------------------------------------------------------------------------------


def test_read_streams_typed_batches(conn, db):
    accounts(db)
    batches = list(read_table(MY.target(conn), db, "accounts", None, [], Window(), {}, batch_rows=2))
    assert [b.table.num_rows for b in batches] == [2, 1]
    table = pa.concat_tables(b.table for b in batches)
    assert table.schema.field("created").type == pa.timestamp("us", tz="UTC")
    first = table.to_pylist()[0]
    assert first["amount"] == 10.5 and first["active"] is True and first["born"] == date(2000, 1, 1)
    assert first["created"] == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert json.loads(first["extra"]) == {"k": 1}


def filter_task(field: str, operator: str, **props: str) -> dict:
    return {"taskType": "Filter", "sourceFields": [field], "connectorOperator": {"CustomConnector": operator},
            "taskProperties": props}


@pytest.mark.parametrize(
    ("task", "ids"),
    [
        (filter_task("Id", "GREATER_THAN", VALUE="1"), [2, 3]),
        (filter_task("Id", "EQUAL_TO", VALUES="1,3"), [1, 3]),
        (filter_task("amount", "BETWEEN", LOWER_BOUND="10", UPPER_BOUND="50"), [1]),
        (filter_task("Name", "CONTAINS", VALUE="ob"), [2]),
        (filter_task("created", "LESS_THAN", VALUE="1769940000000"), [1]),
        (filter_task("Id", "GREATER_THAN", VALUE="not a number"), [1, 2, 3]),  # left to the engine
    ],
)
def test_simple_filters_are_pushed_down(conn, db, task, ids):
    assert [r["Id"] for r in read_rows(conn, accounts(db), ["Id"], [task])] == ids


def test_incremental_window(conn, db):
    name = accounts(db)
    window = Window(datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 3, 1, 10, tzinfo=UTC))
    options = {"incrementalPullConfig": {"datetimeTypeFieldName": "created"}}
    assert [r["Id"] for r in read_rows(conn, name, ["Id"], window=window, options=options)] == [2]
    with pytest.raises(ConnectorError, match="has no timestamp column Name"):
        read_rows(conn, name, window=window, options={"datetimeTypeFieldName": "Name"})


# -- writing ------------------------------------------------------------------------------------

ROWS = pa.table({"Id": [1, 2], "Name": ["Acme", ""], "amount": [1.25, None]})


def target_table(db: str) -> str:
    sql(db, "CREATE TABLE target (Id INT PRIMARY KEY, Name VARCHAR(50), amount DECIMAL(10,2), note TEXT)")
    return f"{db}.target"


def rows_of(db: str) -> list[tuple]:
    return sql(db, "SELECT * FROM target ORDER BY Id")


def test_insert_keeps_nulls_and_empty_strings(conn, db):
    name = target_table(db)
    result = write(conn, name, [ROWS, pa.table({"Id": ["3"], "Name": ["Initech"], "amount": ["7"]})])
    assert result.records_written == 3
    assert rows_of(db) == [(1, "Acme", Decimal("1.25"), None), (2, "", None, None), (3, "Initech", Decimal(7), None)]


def test_type_mismatch_names_the_column_and_writes_nothing(conn, db):
    name = target_table(db)
    with pytest.raises(ConnectorError) as caught:
        write(conn, name, [pa.table({"Id": ["1"], "amount": ["1"]}), pa.table({"Id": ["2"], "amount": ["lots"]})])
    assert f"Writing {db}.target:" in caught.value.message and "amount" in caught.value.message
    assert "Nothing was written" in caught.value.message
    assert rows_of(db) == []


def test_a_failing_batch_stream_leaves_nothing_written(conn, db):
    name = target_table(db)

    def batches() -> Iterator[pa.Table]:
        yield ROWS
        raise RuntimeError("the source broke")

    with pytest.raises(RuntimeError, match="the source broke"):
        MY.write(conn, name, batches(), {"executionId": "e1"})
    assert rows_of(db) == []


def test_an_attempt_that_lost_its_lease_rolls_back_instead_of_committing(conn, db):
    name = target_table(db)
    with pytest.raises(fencing.LeaseLost), fencing.held(1, lambda: False):
        write(conn, name, [ROWS])
    assert rows_of(db) == []


def test_unknown_column_and_missing_table_are_named(conn, db):
    name = target_table(db)
    with pytest.raises(ConnectorError, match=rf"The table {db}\.target has no column City"):
        write(conn, name, [pa.table({"Id": [1], "City": ["Oslo"]})])
    with pytest.raises(ConnectorError, match=r"The table fresh does not exist .*createTableIfMissing"):
        write(conn, f"{db}.fresh", [ROWS])


def test_create_table_if_missing_and_drop_it_again_when_the_run_fails(conn, db):
    typed = pa.table({"Id": ["a"], "when": pa.array([datetime(2026, 1, 1, tzinfo=UTC)], pa.timestamp("us", "UTC")),
                      "tags": [["x"]], "ok": [True]})
    write(conn, f"{db}.fresh", [typed], customProperties={"createTableIfMissing": "true"},
          writeOperationType="UPSERT", idFieldNames=["Id"])
    assert sql(db, "SELECT Id, `when`, tags, ok FROM fresh") == [("a", datetime(2026, 1, 1), '["x"]', 1)]

    def failing() -> Iterator[pa.Table]:
        yield typed
        raise RuntimeError("the source broke")

    with pytest.raises(RuntimeError):
        MY.write(conn, f"{db}.other", failing(), {"customProperties": {"createTableIfMissing": "true"}})
    assert sql(db, "SHOW TABLES LIKE 'other'") == []


def test_upsert_inserts_updates_and_last_duplicate_wins(conn, db):
    name = target_table(db)
    sql(db, "INSERT INTO target VALUES (1, 'Old', 1, 'kept')")
    result = write(conn, name, [pa.table({"Id": [1, 2, 2], "Name": ["New", "B1", "B2"]})],
                   writeOperationType="UPSERT", idFieldNames=["Id"])
    assert result.records_written == 3
    assert rows_of(db) == [(1, "New", Decimal(1), "kept"), (2, "B2", None, None)]


def test_upsert_needs_a_unique_key_and_the_id_field(conn, db):
    sql(db, "CREATE TABLE loose (Id INT, Name TEXT)")
    with pytest.raises(ConnectorError, match=r"UPSERT into .*loose needs a primary key or unique index on exactly \(Id\)"):
        write(conn, f"{db}.loose", [ROWS.select(["Id", "Name"])], writeOperationType="UPSERT", idFieldNames=["Id"])
    with pytest.raises(ConnectorError, match="idFieldNames: the records have no field Key"):
        write(conn, target_table(db), [ROWS], writeOperationType="UPSERT", idFieldNames=["Key"])


def test_update_changes_matching_rows_and_reports_the_rest(conn, db):
    name = target_table(db)
    sql(db, "INSERT INTO target VALUES (1, 'Old', 1, 'kept'), (2, 'Same', 2, NULL)")
    batch = pa.table({"Id": [1, 9, 2], "Name": ["New", "Ghost", "Same"]})
    with pytest.raises(ConnectorError, match=rf"UPDATE of {db}\.target: record 2: no row has Id = 9\. Nothing"):
        write(conn, name, [batch], writeOperationType="UPDATE", idFieldNames=["Id"])
    assert rows_of(db) == [(1, "Old", Decimal(1), "kept"), (2, "Same", Decimal(2), None)]
    result = write(conn, name, [batch], writeOperationType="UPDATE", idFieldNames=["Id"],
                   errorHandlingConfig={"failOnFirstDestinationError": False})
    assert result.records_written == 2  # a row whose values do not change still counts as matched
    assert [(f.where, f.reason) for f in result.failures] == [
        ("record 2", f"no row of {db}.target has Id = 9; nothing was updated")]
    assert rows_of(db) == [(1, "New", Decimal(1), "kept"), (2, "Same", Decimal(2), None)]


def test_ssl_required_against_a_server_without_tls_is_clear(db):
    if sql(db, "SHOW VARIABLES LIKE 'have_ssl'")[0][1] == "YES":
        pytest.skip("this server offers TLS")
    with pytest.raises(ConnectorError, match="MySQL at 127.0.0.1:3306 does not offer TLS, and sslMode is require"):
        MY.test(mysqlserver.connection_info(db, sslMode="require"))


def test_refused_records_are_skipped_and_reported_when_asked(conn, db):
    sql(db, "CREATE TABLE strict (Id INT PRIMARY KEY, Name VARCHAR(5) NOT NULL, amount DECIMAL(10,2))")
    batch = pa.table({"Id": ["1", "2", "3", "4", "1"], "Name": ["a", None, "c", "dddddddd", "again"],
                      "amount": ["1", "2", "lots", "4", "5"]})
    result = write(conn, f"{db}.strict", [batch], errorHandlingConfig={"failOnFirstDestinationError": False})
    assert result.records_written == 1
    assert sql(db, "SELECT Id FROM strict") == [(1,)]
    assert [(f.where, f.record["Id"]) for f in result.failures] == [
        ("record 2", "2"), ("record 3", "3"), ("record 4", "4"), ("record 5", "1")]
    reasons = [f.reason for f in result.failures]
    assert "Column 'Name' cannot be null" in reasons[0] and "amount" in reasons[1]
    assert "Data too long for column 'Name'" in reasons[2] and "Duplicate entry '1'" in reasons[3]

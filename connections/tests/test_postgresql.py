"""The PostgreSQL connector against a real server (skipped without one, failing under CI=true).

Each test works in its own schema of a scratch database (see pgserver.py)."""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pyarrow as pa
import pytest
from psycopg import sql

from connections.connectors import fencing
from connections.connectors.base import ConnectorError, Window
from connections.connectors.hosts import check_host
from connections.connectors.postgresql import PostgreSQLConnector
from connections.connectors.postgresql.reading import read_table
from connections.tests import pgserver

PG = PostgreSQLConnector()


@pytest.fixture
def schema() -> str:
    pgserver.need_postgres()
    return pgserver.fresh_schema()


@pytest.fixture
def conn():
    return pgserver.connection_info()


def execute(statement: str, *identifiers: str, params: tuple = ()) -> list[tuple]:
    """Run SQL whose {} placeholders are identifiers (schema-qualified when given as "a.b")."""
    idents = [sql.Identifier(*name.split(".", 1)) for name in identifiers]
    with pgserver.sql_connection() as connection:
        cur = connection.execute(sql.SQL(statement).format(*idents), params)
        return cur.fetchall() if cur.description else []


def accounts(schema: str) -> str:
    name = f"{schema}.accounts"
    execute(
        'CREATE TABLE {} ("Id" integer PRIMARY KEY, "Name" text NOT NULL, amount numeric(10,2), '
        "active boolean, created timestamptz, born date, tags text[], extra jsonb)",
        name,
    )
    execute(
        "INSERT INTO {} VALUES (1, 'Acme', 10.5, true, '2026-01-01T10:00Z', '2000-01-01', '{{a,b}}', '{{\"k\": 1}}'), "
        "(2, 'Globex', NULL, false, '2026-02-01T10:00Z', NULL, NULL, NULL), "
        "(3, 'Initech', 99, NULL, '2026-03-01T10:00Z', '1999-12-31', '{{}}', '[]')",
        name,
    )
    return name


def read_rows(conn, entity, fields=None, filters=(), window=None, options=None) -> list[dict]:
    batches = PG.read(conn, entity, fields, list(filters), window or Window(), options or {})
    return [row for batch in batches for row in batch.table.to_pylist()]


def write(conn, entity, tables, **options) -> object:
    return PG.write(conn, entity, iter(tables), {"executionId": "e1", **options})


def table_rows(name: str, order: str = "Id") -> list[tuple]:
    return execute("SELECT * FROM {} ORDER BY {}", name, order)


# -- connection ---------------------------------------------------------------------------------


def test_connection_test_passes(conn):
    PG.test(conn)


class RefusingServer:
    """Speaks just enough of the PostgreSQL protocol to refuse a login the way a server with
    password authentication does (the local test server may trust every login)."""

    def __init__(self, sqlstate: str, message: str):
        self.reply = _error_response(sqlstate, message)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with self.listener:
            while True:
                try:
                    client, _ = self.listener.accept()
                except OSError:
                    return
                with client:
                    while True:
                        length, code = struct.unpack("!ii", _recv(client, 8))
                        _recv(client, length - 8)
                        if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest: "not here"
                            client.sendall(b"N")
                            continue
                        client.sendall(self.reply)
                        break

    def close(self) -> None:
        self.listener.close()


def _recv(client: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = client.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _error_response(sqlstate: str, message: str) -> bytes:
    body = b"".join(kind + value.encode() + b"\0" for kind, value in
                    ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", sqlstate), (b"M", message))) + b"\0"
    return b"E" + struct.pack("!i", len(body) + 4) + body


def test_wrong_password_is_named_and_never_shown():
    server = RefusingServer("28P01", 'password authentication failed for user "clerk"')
    try:
        bad = pgserver.connection_info(port=str(server.port), username="clerk", password="wrong-secret-456",
                                       sslMode="disable")
        with pytest.raises(ConnectorError) as caught:
            PG.test(bad)
    finally:
        server.close()
    message = caught.value.message
    assert message == (
        f'PostgreSQL at 127.0.0.1:{server.port}/{bad.properties["database"]}: the database refused the user '
        "name or password. Check the user name and password of the connection, and that the server lets "
        "that user log in from Sluice's address."
    )
    assert caught.value.permanent and "wrong-secret-456" not in repr(caught.value)
    assert "clerk" not in message  # the user name is a credential too


def test_an_unknown_user_is_a_refused_login_not_cannot_reach():
    """The real local server (which trusts every login it knows) refuses a role it does not know:
    libpq gives no SQLSTATE there, and it was labelled "Cannot reach" with the user name in it."""
    pgserver.need_postgres()
    user = "sluice_no_such_role_7d1"
    with pytest.raises(ConnectorError) as caught:
        PG.test(pgserver.connection_info(username=user, password="pw-canary-456"))
    message = caught.value.message
    assert "the database refused the user name or password" in message
    assert "Cannot reach" not in message and user not in message and "pw-canary-456" not in message
    assert caught.value.permanent


@pytest.mark.parametrize("sqlstate, server_says, expected", [
    ("28000", 'no pg_hba.conf entry for host "127.0.0.1", user "clerk", database "crm", no encryption',
     "the database refused the user name or password"),
    ("28000", 'role "clerk" is not permitted to log in', "the database refused the user name or password"),
    ("42501", 'permission denied for database "crm"', "The connection's user may not connect"),
    ("53300", 'too many connections for role "clerk"', "Cannot reach PostgreSQL"),
])
def test_no_refusal_echoes_the_user_name(sqlstate, server_says, expected):
    server = RefusingServer(sqlstate, server_says)
    try:
        with pytest.raises(ConnectorError) as caught:
            PG.test(pgserver.connection_info(port=str(server.port), username="clerk", password="pw-789",
                                             sslMode="disable"))
    finally:
        server.close()
    assert expected in caught.value.message
    assert "clerk" not in caught.value.message and "pw-789" not in caught.value.message


def test_unreachable_host_is_transient_and_names_host_and_port():
    conn = pgserver.connection_info(host="127.0.0.1", port="1")
    with pytest.raises(ConnectorError) as caught:
        PG.test(conn)
    assert "Cannot reach PostgreSQL at 127.0.0.1:1" in caught.value.message
    assert not caught.value.permanent


def test_missing_database_is_named(conn):
    with pytest.raises(ConnectorError, match='The database "no_such_db_sluice" does not exist'):
        PG.test(pgserver.connection_info(database="no_such_db_sluice"))


@pytest.mark.parametrize("host", ["", "http://db", "db:5432", "db/x", "a b", "-x"])
def test_host_must_be_a_bare_name_or_address(host):
    with pytest.raises(ConnectorError, match="host:"):
        check_host(host)


@pytest.mark.parametrize("host", ["db", "db.example.com", "10.0.0.5", "::1"])
def test_host_forms_accepted(host):
    assert check_host(host) == host


def test_cli_creates_a_profile_from_the_issue_shape(db, monkeypatch):
    from io import StringIO

    from django.core.management import call_command

    pgserver.need_postgres()
    config = {
        "connectorProfileProperties": {"CustomConnector": {"profileProperties": {
            "host": pgserver.HOST, "port": str(pgserver.PORT), "database": pgserver.need_postgres(),
            "sslMode": "prefer"}}},
        "connectorProfileCredentials": {"CustomConnector": {"authenticationType": "BASIC", "basic": {
            "username": pgserver.USER, "password": pgserver.PASSWORD}}},
    }
    out = StringIO()
    call_command(
        "sluice", "create-connector-profile", "--connector-profile-name", "warehouse",
        "--connector-type", "CustomConnector", "--connector-label", "PostgreSQL",
        "--connection-mode", "Public", "--connector-profile-config", json.dumps(config), stdout=out,
    )
    assert "connectorProfileArn" in out.getvalue()
    from connections.models import Connection

    saved = Connection.objects.get(name="warehouse")
    assert saved.properties["host"] == pgserver.HOST and "password" not in saved.properties
    assert saved.info().credentials["username"] == pgserver.USER


# -- catalog ------------------------------------------------------------------------------------


def test_entities_are_schemas_then_tables_and_views(conn, schema):
    accounts(schema)
    execute("CREATE VIEW {} AS SELECT 1 AS one", f"{schema}.v_one")
    assert schema in {e.name for e in PG.list_entities(conn)}
    assert all(e.has_children for e in PG.list_entities(conn))
    tables = PG.list_entities(conn, schema)
    assert [(e.name, e.label) for e in tables] == [
        (f"{schema}.accounts", "accounts"),
        (f"{schema}.v_one", "v_one (view)"),
    ]


def test_describe_gives_types_keys_and_timestamp_columns(conn, schema):
    fields = {f.name: f for f in PG.describe_entity(conn, accounts(schema))}
    assert list(fields) == ["Id", "Name", "amount", "active", "created", "born", "tags", "extra"]
    assert {n: f.data_type for n, f in fields.items()} == {
        "Id": "integer", "Name": "string", "amount": "double", "active": "boolean",
        "created": "datetime", "born": "date", "tags": "array", "extra": "string",
    }
    assert [n for n, f in fields.items() if f.primary_key] == ["Id"]
    assert [n for n, f in fields.items() if f.timestamp_for_incremental] == ["created", "born"]
    assert not fields["Name"].nullable and fields["amount"].nullable


def test_describe_missing_table_names_it(conn, schema):
    with pytest.raises(ConnectorError, match=rf"The table {schema}\.nope does not exist in the database"):
        PG.describe_entity(conn, f"{schema}.nope")


# -- reading ------------------------------------------------------------------------------------


def test_read_streams_typed_batches_through_a_server_side_cursor(conn, schema):
    name = accounts(schema)
    target = PG.target(conn)
    batches = list(read_table(target, schema, "accounts", None, [], Window(), {}, batch_rows=2))
    assert [b.table.num_rows for b in batches] == [2, 1]
    table = pa.concat_tables(b.table for b in batches)
    assert table.schema.field("Id").type == pa.int64()
    assert table.schema.field("created").type == pa.timestamp("us", tz="UTC")
    first = table.to_pylist()[0]
    assert first["amount"] == 10.5 and first["active"] is True and first["tags"] == ["a", "b"]
    assert json.loads(first["extra"]) == {"k": 1}
    assert first["created"] == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert all(b.bytes_read > 0 for b in batches)
    assert name


def test_read_chosen_fields_in_order_and_unknown_field_named(conn, schema):
    name = accounts(schema)
    assert read_rows(conn, name, ["Name", "Id"])[0] == {"Name": "Acme", "Id": 1}
    with pytest.raises(ConnectorError, match="has no column Nope"):
        read_rows(conn, name, ["Nope"])


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
        (filter_task("active", "EQUAL_TO", VALUE="false"), [2]),
        (filter_task("created", "LESS_THAN", VALUE="1769940000000"), [1]),  # epoch ms, 2026-02-01T10:00Z
        (filter_task("created", "GREATER_THAN_OR_EQUAL_TO", VALUE="2026-02-01T10:00:00Z"), [2, 3]),
    ],
)
def test_simple_filters_are_pushed_down(conn, schema, task, ids):
    name = accounts(schema)
    assert [r["Id"] for r in read_rows(conn, name, ["Id"], [task])] == ids


def test_a_filter_that_cannot_be_pushed_is_left_to_the_engine(conn, schema):
    name = accounts(schema)
    odd = [filter_task("Id", "GREATER_THAN", VALUE="not a number"), filter_task("tags", "CONTAINS", VALUE="a")]
    assert len(read_rows(conn, name, ["Id"], odd)) == 3


def test_incremental_window_on_a_timestamp_column(conn, schema):
    name = accounts(schema)
    window = Window(datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 3, 1, 10, tzinfo=UTC))
    options = {"incrementalPullConfig": {"datetimeTypeFieldName": "created"}}
    assert [r["Id"] for r in read_rows(conn, name, ["Id"], window=window, options=options)] == [2]
    with pytest.raises(ConnectorError, match="needs incrementalPullConfig.datetimeTypeFieldName"):
        read_rows(conn, name, window=window)
    with pytest.raises(ConnectorError, match="has no timestamp column Name"):
        read_rows(conn, name, window=window, options={"datetimeTypeFieldName": "Name"})


# -- reading through COPY --------------------------------------------------------------------------

def typed_table(schema: str) -> str:
    name = f"{schema}.typed"
    execute(
        'CREATE TABLE {} ("Id" int8, small int2, big int8, r4 real, r8 double precision, n numeric, ok boolean, '
        '"Note, with comma" text, code varchar(5), pad char(3), doc jsonb, uid uuid, born date, '
        "at timestamp, at_tz timestamptz)",
        name,
    )
    execute(
        "INSERT INTO {} VALUES "
        "(1, 1, 9223372036854775807, 1.5, 0.1, 12.345, true, 'plain', 'ab', 'x', '{{\"k\": [1]}}', "
        "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2000-02-29', '1969-12-31 23:59:59.5', "
        "'1970-01-01 00:00:00.000001+00'), "
        "(2, -32768, -9223372036854775808, 'NaN', '-Infinity', 'NaN', false, E'two\\nlines, \"quoted\"', '', '', "
        "'null', NULL, '0001-01-01', '9999-12-31 23:59:59.999999', '1900-06-15 12:30:00.25+02'), "
        "(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), "
        "(4, 0, 0, 0, 1e300, 1e-10, true, 'Ærøskøbing — ☃', 'ñ', 'zz', '\"\"', "
        "'00000000-0000-0000-0000-000000000000', '1970-01-01', '2026-11-21 13:05:00', '2026-11-21 13:05:00.123456Z')",
        name,
    )
    return name


def read_both(monkeypatch, target, schema, table, **kwargs) -> tuple[list[pa.Table], list[pa.Table]]:
    """The same read through COPY and through the cursor (COPY turned off)."""
    import psycopg

    from connections.connectors.postgresql import reading

    copies = []
    real_copy = psycopg.Cursor.copy
    monkeypatch.setattr(psycopg.Cursor, "copy", lambda self, *a, **k: copies.append(1) or real_copy(self, *a, **k))
    fast = [b.table for b in read_table(target, schema, table, None, [], Window(), {}, **kwargs)]
    assert copies == [1]  # every column of the table is read through COPY
    with monkeypatch.context() as patch:
        patch.setattr(reading, "_copy_columns", lambda chosen: None)
        slow = [b.table for b in read_table(target, schema, table, None, [], Window(), {}, **kwargs)]
    assert copies == [1]
    return fast, slow


def test_copy_reads_every_value_exactly_as_the_cursor_does(conn, schema, monkeypatch):
    typed_table(schema)
    fast, slow = read_both(monkeypatch, PG.target(conn), schema, "typed", batch_rows=3)
    assert [t.num_rows for t in fast] == [3, 1] == [t.num_rows for t in slow]
    fast_table, slow_table = pa.concat_tables(fast), pa.concat_tables(slow)
    assert fast_table.schema == slow_table.schema
    assert fast_table.to_pylist() == slow_table.to_pylist() or _same_with_nan(fast_table, slow_table)
    rows = {r["Id"]: r for r in fast_table.to_pylist()}
    assert rows[2]["Note, with comma"] == 'two\nlines, "quoted"' and rows[2]["code"] == "" and rows[3]["code"] is None
    assert rows[1]["at"] == datetime(1969, 12, 31, 23, 59, 59, 500000)
    assert rows[2]["at_tz"] == datetime(1900, 6, 15, 10, 30, 0, 250000, tzinfo=UTC)
    assert rows[4]["at_tz"] == datetime(2026, 11, 21, 13, 5, 0, 123456, tzinfo=UTC)
    assert rows[1]["big"] == 2**63 - 1 and rows[2]["big"] == -(2**63)


def _same_with_nan(a: pa.Table, b: pa.Table) -> bool:
    import math

    def norm(v):
        return "NaN" if isinstance(v, float) and math.isnan(v) else v

    return [{k: norm(v) for k, v in r.items()} for r in a.to_pylist()] == [
        {k: norm(v) for k, v in r.items()} for r in b.to_pylist()]


def test_copy_binds_filter_values_as_settings_never_as_sql_text(conn, schema, monkeypatch):
    import psycopg

    name = typed_table(schema)
    sent: list[str] = []
    real_copy = psycopg.Cursor.copy

    def copy(self, statement, *args, **kwargs):
        sent.append(statement.as_string(self))
        return real_copy(self, statement, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "copy", copy)
    hostile = "x'); DROP TABLE typed; --"
    tasks = [filter_task("Note, with comma", "CONTAINS", VALUE=hostile)]
    assert read_rows(conn, name, ["Id"], tasks) == []
    tasks = [filter_task("code", "EQUAL_TO", VALUES="ab,ñ"), filter_task("at_tz", "GREATER_THAN", VALUE="1950-01-01T00:00:00Z"),
             filter_task("n", "BETWEEN", LOWER_BOUND="0", UPPER_BOUND="13")]
    window = Window(datetime(1960, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
    got = read_rows(conn, name, ["Id", "code"], tasks, window, {"datetimeTypeFieldName": "at_tz"})
    assert got == [{"Id": 1, "code": "ab"}, {"Id": 4, "code": "ñ"}]
    assert len(sent) == 2 and all(s.startswith("COPY (SELECT") for s in sent)
    for text in sent:  # the only literals: the settings' names and our own constants
        literals = re.findall(r"'((?:[^']|'')*)'", text)
        assert literals and all(v.startswith("sluice.p") or v in ("second", "1970-01-01") for v in literals)
    assert hostile not in sent[0] and "current_setting('sluice.p0')::\"text\"" in sent[0]
    assert "current_setting('sluice.p2')::\"varchar\"[]" in sent[1]
    assert "current_setting('sluice.p0')::\"timestamptz\"" in sent[1]


def test_copy_compares_a_window_with_a_date_column_as_the_cursor_does(conn, schema, monkeypatch):
    from connections.connectors.postgresql import reading

    name = typed_table(schema)
    # 10:00 on 1970-01-01: the date 1970-01-01 (midnight) is before it, in both paths
    window = Window(datetime(1970, 1, 1, 10, tzinfo=UTC), datetime(2001, 1, 1, tzinfo=UTC))
    options = {"datetimeTypeFieldName": "born"}
    fast = read_rows(conn, name, ["Id"], (), window, options)
    monkeypatch.setattr(reading, "_copy_columns", lambda chosen: None)
    assert fast == read_rows(conn, name, ["Id"], (), window, options) == [{"Id": 1}]
    assert execute("SELECT count(*) FROM {}", name) == [(4,)]


@pytest.mark.parametrize("kind", ["timestamptz", "timestamp", "date"])
def test_copy_names_infinity_in_a_date_or_timestamp(conn, schema, kind):
    name = f"{schema}.forever"
    execute(f"CREATE TABLE {{}} (at {kind})", name)
    execute("INSERT INTO {} VALUES ('-infinity')", name)
    with pytest.raises(ConnectorError, match=rf"Reading {schema}\.forever: a date or timestamp column holds infinity"):
        read_rows(conn, name)


# -- writing ------------------------------------------------------------------------------------

ROWS = pa.table({"Id": [1, 2], "Name": ["Acme", ""], "amount": [1.25, None]})


def target_table(schema: str) -> str:
    name = f"{schema}.target"
    execute('CREATE TABLE {} ("Id" integer PRIMARY KEY, "Name" text, amount numeric, note text)', name)
    return name


def test_insert_copies_rows_keeping_nulls_and_empty_strings(conn, schema):
    name = target_table(schema)
    result = write(conn, name, [ROWS, pa.table({"Id": ["3"], "Name": ["Initech"], "amount": ["7"]})])
    assert result.records_written == 3 and result.bytes_written > 0
    assert table_rows(name) == [(1, "Acme", 1.25, None), (2, "", None, None), (3, "Initech", 7, None)]


def test_field_names_match_columns_case_insensitively(conn, schema):
    name = target_table(schema)
    write(conn, name, [pa.table({"id": [5], "NAME": ["x"]})])
    assert table_rows(name) == [(5, "x", None, None)]


def test_unknown_column_is_named(conn, schema):
    name = target_table(schema)
    with pytest.raises(ConnectorError, match=rf"The table {schema}\.target has no column City \(its columns: Id,"):
        write(conn, name, [pa.table({"Id": [1], "City": ["Oslo"]})])


def test_type_mismatch_names_record_and_column_and_writes_nothing(conn, schema):
    name = target_table(schema)
    good = pa.table({"Id": ["1", "2"], "amount": ["1", "2"]})
    bad = pa.table({"Id": ["3", "4"], "amount": ["3", "lots"]})
    with pytest.raises(ConnectorError) as caught:
        write(conn, name, [good, bad])
    assert f"Writing {schema}.target: record 4, column amount: invalid input syntax" in caught.value.message
    assert "Nothing was written" in caught.value.message
    assert table_rows(name) == []


def test_not_null_violation_names_the_column(conn, schema):
    name = f"{schema}.strict"
    execute('CREATE TABLE {} ("Id" integer, "Name" text NOT NULL)', name)
    with pytest.raises(ConnectorError, match='column Name: null value in column "Name"'):
        write(conn, name, [pa.table({"Id": [1], "Name": pa.array([None], pa.string())})])


def test_missing_table_is_named_unless_asked_to_create_it(conn, schema):
    name = f"{schema}.fresh"
    with pytest.raises(ConnectorError, match=r"does not exist .* set customProperties.createTableIfMissing"):
        write(conn, name, [ROWS])
    stamps = pa.array([datetime(2026, 1, 1, tzinfo=UTC)], pa.timestamp("ns", tz="UTC"))
    typed = pa.table({"Id": [1], "when": stamps, "tags": [["a"]], "ok": [True]})
    write(conn, name, [typed], customProperties={"createTableIfMissing": "true"},
          writeOperationType="UPSERT", idFieldNames=["Id"])
    fields = {f.name: f for f in PG.describe_entity(conn, name)}
    assert {n: f.data_type for n, f in fields.items()} == {
        "Id": "integer", "when": "datetime", "tags": "string", "ok": "boolean"}
    assert fields["Id"].primary_key
    assert execute("SELECT tags::text, \"when\" FROM {}", name) == [('["a"]', datetime(2026, 1, 1, tzinfo=UTC))]


def test_a_failing_batch_stream_leaves_nothing_written(conn, schema):
    name = target_table(schema)

    def batches() -> Iterator[pa.Table]:
        yield ROWS
        raise RuntimeError("the source broke")

    with pytest.raises(RuntimeError, match="the source broke"):
        PG.write(conn, name, batches(), {"executionId": "e1"})
    assert table_rows(name) == []


def test_an_attempt_that_lost_its_lease_rolls_back_instead_of_committing(conn, schema):
    name = target_table(schema)
    asked = []
    with pytest.raises(fencing.LeaseLost), fencing.held(1, lambda: asked.append(1) and False):
        write(conn, name, [ROWS])
    assert asked == [1] and table_rows(name) == []


def test_a_stream_that_ends_early_commits_what_was_sent(conn, schema):
    """A cancel ends the engine's batch iterator normally: what was sent is kept."""
    name = target_table(schema)

    def batches() -> Iterator[pa.Table]:
        yield ROWS
        return  # the engine stops here when a cancel is requested

    assert PG.write(conn, name, batches(), {"executionId": "e1"}).records_written == 2
    assert len(table_rows(name)) == 2


def test_upsert_inserts_and_updates_and_last_duplicate_wins(conn, schema):
    name = target_table(schema)
    execute("INSERT INTO {} VALUES (1, 'Old', 1, 'kept')", name)
    batch = pa.table({"Id": [1, 2, 2], "Name": ["New", "B1", "B2"]})
    result = write(conn, name, [batch, pa.table({"Id": [3], "Name": ["C"]})],
                   writeOperationType="UPSERT", idFieldNames=["Id"])
    assert result.records_written == 3
    assert table_rows(name) == [(1, "New", 1, "kept"), (2, "B2", None, None), (3, "C", None, None)]


def test_upsert_needs_a_unique_key_on_the_id_fields(conn, schema):
    name = f"{schema}.loose"
    execute('CREATE TABLE {} ("Id" integer, "Name" text)', name)
    with pytest.raises(ConnectorError, match=r"UPSERT into .*loose needs a primary key or unique index on exactly \(Id\)"):
        write(conn, name, [ROWS.select(["Id", "Name"])], writeOperationType="UPSERT", idFieldNames=["Id"])


def test_upsert_without_the_id_field_is_named(conn, schema):
    name = target_table(schema)
    with pytest.raises(ConnectorError, match=r"idFieldNames: the records have no field Key"):
        write(conn, name, [ROWS], writeOperationType="UPSERT", idFieldNames=["Key"])
    with pytest.raises(ConnectorError, match=r"has no column Key"):
        write(conn, name, [ROWS.append_column("Key", pa.array(["a", "b"]))],
              writeOperationType="UPSERT", idFieldNames=["Key"])


def test_update_changes_matching_rows_and_reports_the_rest(conn, schema):
    name = target_table(schema)
    execute("INSERT INTO {} VALUES (1, 'Old', 1, 'kept'), (2, 'Two', 2, NULL)", name)
    batches = [pa.table({"Id": [1, 9], "Name": ["New", "Ghost"]}), pa.table({"Id": [8], "Name": ["Gone"]})]
    with pytest.raises(ConnectorError, match=rf"UPDATE of {schema}\.target: record 2: no row has Id = 9\. Nothing"):
        write(conn, name, batches, writeOperationType="UPDATE", idFieldNames=["Id"])
    assert table_rows(name) == [(1, "Old", 1, "kept"), (2, "Two", 2, None)]
    result = write(conn, name, batches, writeOperationType="UPDATE", idFieldNames=["Id"],
                   errorHandlingConfig={"failOnFirstDestinationError": False})
    assert result.records_written == 1
    assert [(f.where, f.reason) for f in result.failures] == [
        ("record 2", f"no row of {schema}.target has Id = 9; nothing was updated"),
        ("record 3", f"no row of {schema}.target has Id = 8; nothing was updated"),
    ]
    assert table_rows(name) == [(1, "New", 1, "kept"), (2, "Two", 2, None)]


@pytest.mark.parametrize(
    ("props", "problem"),
    [
        ({}, ("entityName", "is required: a table or view, as schema.table")),
        ({"entityName": "a.b.c"}, ("entityName", '"a.b.c" is not of the form schema.table')),
        ({"entityName": "a.b", "writeOperationType": "UPSERT"},
         ("idFieldNames", "UPSERT needs the fields that identify a record")),
        ({"entityName": "a.b", "writeOperationType": "DELETE"},
         ("writeOperationType", "must be one of INSERT, UPSERT, UPDATE, not 'DELETE'")),
        ({"entityName": "a.b", "customProperties": {"createTableIfMissing": "yes"}},
         ("customProperties.createTableIfMissing", 'must be "true" or "false"')),
        ({"entityName": "a.b", "object": "x"}, ("object", "is not a property of this connector")),
    ],
)
def test_destination_properties_are_checked(props, problem):
    assert problem in PostgreSQLConnector.check_destination_properties(props)


def test_flow_from_csv_to_postgresql_upsert_through_the_engine(conn, schema, data_dir):
    from connections.connectors.base import ConnectionInfo
    from connections.connectors.localfiles import LocalFilesConnector
    from flows.engine import Endpoint, run_flow

    name = target_table(schema)
    (data_dir / "accounts.csv").write_text("Id,Name\n1,Acme\n2,Globex\n1,Acme Corp\n")
    document = {
        "sourceFlowConfig": {"connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
                             "sourceConnectorProperties": {"CustomConnector": {"entityName": "accounts.csv"}}},
        "destinationFlowConfigList": [{"connectorType": "CustomConnector", "connectorLabel": "PostgreSQL",
                                       "destinationConnectorProperties": {"CustomConnector": {
                                           "entityName": name, "writeOperationType": "UPSERT",
                                           "idFieldNames": ["Id"]}}}],
        "tasks": [{"taskType": "Map_all", "sourceFields": [""], "connectorOperator": {"CustomConnector": "NO_OP"},
                   "taskProperties": {}}],
    }
    result = run_flow(
        document,
        Endpoint(LocalFilesConnector(), ConnectionInfo("files", "CustomConnector", "LocalFiles",
                                                       {"rootPath": str(data_dir)})),
        Endpoint(PG, conn),
        execution_id="exec-1",
    )
    assert result.status == "Successful"
    assert table_rows(name) == [(1, "Acme Corp", None, None), (2, "Globex", None, None)]


def test_a_blank_csv_cell_reaches_a_double_precision_column_as_null(conn, schema, data_dir):
    """A blank CSV cell is a null: the run no longer fails on "invalid input syntax for type double
    precision", and VALIDATE_NON_NULL drops a record whose checked cell is blank."""
    from connections.connectors.base import ConnectionInfo
    from connections.connectors.localfiles import LocalFilesConnector
    from flows.engine import Endpoint, run_flow

    name = f"{schema}.scores"
    execute('CREATE TABLE {} ("Id" integer, "Name" text, score double precision)', name)
    (data_dir / "scores.csv").write_text('Id,Name,score\n1,Acme,\n2,,2.5\n3,Initech,""\n')
    document = {
        "sourceFlowConfig": {"connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
                             "sourceConnectorProperties": {"CustomConnector": {"entityName": "scores.csv"}}},
        "destinationFlowConfigList": [{"connectorType": "CustomConnector", "connectorLabel": "PostgreSQL",
                                       "destinationConnectorProperties": {"CustomConnector": {"entityName": name}}}],
        "tasks": [{"taskType": "Map_all", "sourceFields": [""], "connectorOperator": {"CustomConnector": "NO_OP"},
                   "taskProperties": {}},
                  {"taskType": "Validate", "sourceFields": ["Name"],
                   "connectorOperator": {"CustomConnector": "VALIDATE_NON_NULL"},
                   "taskProperties": {"VALIDATION_ACTION": "DropRecord"}}],
    }
    result = run_flow(
        document,
        Endpoint(LocalFilesConnector(), ConnectionInfo("files", "CustomConnector", "LocalFiles",
                                                       {"rootPath": str(data_dir)})),
        Endpoint(PG, conn),
        execution_id="exec-1",
    )
    assert result.status == "Successful", result.message
    assert table_rows(name) == [(1, "Acme", None), (3, "Initech", None)]


def test_refused_records_are_skipped_and_reported_when_asked(conn, schema):
    name = f"{schema}.strict"
    execute('CREATE TABLE {} ("Id" integer PRIMARY KEY, "Name" text NOT NULL, amount numeric)', name)
    batch = pa.table({"Id": ["1", "2", "3", "4", "1"], "Name": ["a", None, "c", "d", "again"],
                      "amount": ["1", "2", "lots", "4", "5"]})
    result = write(conn, name, [batch, pa.table({"Id": ["9"], "Name": ["z"], "amount": ["9"]})],
                   errorHandlingConfig={"failOnFirstDestinationError": False})
    assert result.records_written == 3
    assert execute('SELECT "Id" FROM {} ORDER BY 1', name) == [(1,), (4,), (9,)]
    failures = [(f.where, f.reason.split(" (")[0], f.record) for f in result.failures]
    assert failures == [
        ("record 2", 'column Name: null value in column "Name" of relation "strict" violates not-null constraint',
         {"Id": "2", "Name": None, "amount": "2"}),
        ("record 3", 'column amount: invalid input syntax for type numeric: "lots"',
         {"Id": "3", "Name": "c", "amount": "lots"}),
        ("record 5", 'duplicate key value violates unique constraint "strict_pkey"',
         {"Id": "1", "Name": "again", "amount": "5"}),
    ]


def test_fail_on_first_destination_error_true_stops_at_the_first_refusal(conn, schema):
    name = target_table(schema)
    with pytest.raises(ConnectorError, match="record 2, column amount"):
        write(conn, name, [pa.table({"Id": ["1", "2"], "amount": ["1", "x"]})],
              errorHandlingConfig={"failOnFirstDestinationError": True})
    assert table_rows(name) == []


def test_refused_records_land_in_an_s3_bucket_through_the_engine(conn, schema, data_dir):
    from connections.connectors.base import ConnectionInfo
    from connections.connectors.localfiles import LocalFilesConnector
    from connections.connectors.s3 import S3Connector
    from connections.tests import s3server
    from flows.engine import Endpoint, run_flow

    name = target_table(schema)
    bucket = s3server.new_bucket()
    (data_dir / "accounts.csv").write_text("Id,amount\n1,5\n2,lots\n3,7\n")
    handling = {"failOnFirstDestinationError": False, "bucketName": bucket, "bucketPrefix": "errors"}
    document = {
        "sourceFlowConfig": {"connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
                             "sourceConnectorProperties": {"CustomConnector": {"entityName": "accounts.csv"}}},
        "destinationFlowConfigList": [{"connectorType": "CustomConnector", "connectorLabel": "PostgreSQL",
                                       "destinationConnectorProperties": {"CustomConnector": {
                                           "entityName": name, "errorHandlingConfig": handling}}}],
        "tasks": [{"taskType": "Map_all", "sourceFields": [""], "connectorOperator": {"CustomConnector": "NO_OP"},
                   "taskProperties": {}}],
    }
    result = run_flow(
        document,
        Endpoint(LocalFilesConnector(), ConnectionInfo("files", "CustomConnector", "LocalFiles",
                                                       {"rootPath": str(data_dir)})),
        Endpoint(PG, conn),
        execution_id="exec-9",
        rejects=Endpoint(S3Connector(), s3server.connection_info()),
    )
    assert result.status == "Successful" and result.counters.record_failures == 1
    assert [r[0] for r in table_rows(name)] == [1, 3]
    line = json.loads(s3server.body(bucket, "errors/exec-9/part-00000.jsonl"))
    assert line["where"] == "record 2" and line["record"] == {"Id": "2", "amount": "lots"}
    assert line["reason"].startswith('column amount: invalid input syntax for type numeric: "lots"')


def test_upsert_skips_refused_records_and_numbers_them_in_the_run(conn, schema):
    name = target_table(schema)
    batch = pa.table({"Id": ["1", "1", "2", "3"], "amount": ["x", "1", "lots", "3"]})
    result = write(conn, name, [pa.table({"Id": ["7"], "amount": ["7"]}), batch], writeOperationType="UPSERT",
                   idFieldNames=["Id"], errorHandlingConfig={"failOnFirstDestinationError": False})
    assert [(f.where, f.record) for f in result.failures] == [("record 4", {"Id": "2", "amount": "lots"})]
    assert [(r[0], r[2]) for r in table_rows(name)] == [(1, 1), (3, 3), (7, 7)]


def test_an_incremental_flow_reads_its_window_through_the_engine(conn, schema):
    from flows.engine import Endpoint, run_flow
    from flows.tests.test_engine import MemoryDestination

    name = accounts(schema)
    destination = MemoryDestination()
    document = {
        "sourceFlowConfig": {"connectorType": "CustomConnector", "connectorLabel": "PostgreSQL",
                             "sourceConnectorProperties": {"CustomConnector": {"entityName": name}},
                             "incrementalPullConfig": {"datetimeTypeFieldName": "created"}},
        "destinationFlowConfigList": [{"connectorType": "Memory",
                                       "destinationConnectorProperties": {"Memory": {"object": "x"}}}],
        "tasks": [{"taskType": "Filter", "sourceFields": ["Id"], "connectorOperator": {"CustomConnector": "PROJECTION"}},
                  {"taskType": "Map", "sourceFields": ["Id"], "destinationField": "Id",
                   "connectorOperator": {"CustomConnector": "NO_OP"}, "taskProperties": {}}],
    }
    window = Window(datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
    result = run_flow(document, Endpoint(PG, conn), Endpoint(destination, pgserver.connection_info("m")),
                      execution_id="e1", window=window)
    assert result.status == "Successful" and destination.committed.to_pylist() == [{"Id": 2}]

"""Writes in one transaction per run: INSERT, UPSERT (ON DUPLICATE KEY UPDATE) and UPDATE.

- INSERT and UPSERT send each batch as multi-row INSERT statements (PyMySQL's executemany);
  UPSERT adds ON DUPLICATE KEY UPDATE, so a record whose ids exist replaces the row's values (the
  last record wins when ids repeat). The table needs a primary key or unique index on exactly the
  id fields.
- UPDATE runs one UPDATE per record on the id fields. (One statement per record: fine for the
  volumes updates usually have, slow for millions.)

The run's rows commit together when the batches end normally (a cancel included) and roll back
when they raise or the server refuses a value (sessions are strict, so a value that does not fit
its column is an error naming the column) or an UPDATE matches no row - unless
errorHandlingConfig.failOnFirstDestinationError is false: then refused records are found by
halving the batch under savepoints, returned as record failures with the record, and the rest is
written. MySQL commits DDL at once, so a table created for the
run ("createTableIfMissing") is dropped again when the run fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.types as pat
import pymysql

from .. import errorhandling, fencing, sqlprops
from ..base import ConnectorError, RecordFailure, WriteResult
from ..dbtarget import Target
from . import catalog
from .client import connect, error_text, qualified, query_error, quote

WRITE_OPERATIONS = ("INSERT", "UPSERT", "UPDATE")


def write_table(
    target: Target, schema: str, table: str, batches: Iterable[pa.Table], options: Mapping[str, Any]
) -> WriteResult:
    operation = str(options.get("writeOperationType") or "INSERT").upper()
    ids = [str(i) for i in options.get("idFieldNames") or []]
    custom = options.get("customProperties") or {}
    create = str(custom.get("createTableIfMissing", "")).lower() == "true"
    if operation not in WRITE_OPERATIONS:
        raise ConnectorError(
            f"writeOperationType: must be one of {', '.join(WRITE_OPERATIONS)}, not {operation}."
        )
    if operation != "INSERT" and not ids:
        raise ConnectorError(f"idFieldNames: {operation} needs the fields that identify a record.")
    result = WriteResult(location=f"{target.where} {schema}.{table}")
    connection = connect(target)
    writer: _Writer | None = None
    try:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            if writer is None:
                writer = _Writer(connection.cursor(), target, schema, table, operation, ids, result)
                writer.reject = not errorhandling.fail_on_first(options)
                writer.prepare(batch.schema, create)
            writer.write(batch)
        fencing.before_publish()  # a run that lost its lease rolls back instead
        connection.commit()
    except BaseException:
        connection.rollback()
        if writer is not None and writer.created:
            writer.drop_created()
        raise
    finally:
        connection.close()
    return result


class _Writer:
    def __init__(self, cur, target: Target, schema: str, table: str, operation: str, ids: list[str], result):
        self.cur = cur
        self.target = target
        self.schema, self.table = schema, table
        self.name = f"{schema}.{table}"
        self.operation = operation
        self.ids = ids
        self.result: WriteResult = result
        self.rows_sent = 0
        self.created = False
        self.columns: list[str] = []
        self.fields: list[str] = []
        self.reject = False  # errorHandlingConfig.failOnFirstDestinationError false: skip refused records

    def prepare(self, schema: pa.Schema, create: bool) -> None:
        if not catalog.table_exists(self.cur, self.schema, self.table):
            if not create:
                raise ConnectorError(
                    f"{catalog.missing_table_message(self.schema, self.table)} Create it, or set "
                    "customProperties.createTableIfMissing to true."
                )
            self._create(schema)
        existing = [c.name for c in catalog.columns(self.cur, self.schema, self.table)]
        self.columns = [sqlprops.column_for(f, existing, self.name) for f in schema.names]
        self.fields = list(schema.names)
        names = ", ".join(quote(c) for c in self.columns)
        marks = ", ".join(["%s"] * len(self.columns))
        self.insert = f"INSERT INTO {qualified(self.schema, self.table)} ({names}) VALUES ({marks})"
        if self.operation == "INSERT":
            return
        self.id_columns = [sqlprops.id_column(i, schema.names, self.columns) for i in self.ids]
        others = [c for c in self.columns if c not in self.id_columns]
        if self.operation == "UPSERT":
            if not catalog.has_unique_key(self.cur, self.schema, self.table, self.id_columns):
                raise ConnectorError(
                    f"UPSERT into {self.name} needs a primary key or unique index on exactly "
                    f"({', '.join(self.id_columns)}); the table has none. Add one, or use INSERT or UPDATE."
                )
            updates = ", ".join(f"{quote(c)} = VALUES({quote(c)})" for c in others or self.id_columns)
            self.insert += f" ON DUPLICATE KEY UPDATE {updates}"
        else:
            if not others:
                raise ConnectorError(
                    f"UPDATE of {self.name}: the records have no field to update besides the ids."
                )
            self.positions = [self.columns.index(c) for c in others] + [
                self.columns.index(c) for c in self.id_columns
            ]
            self.update = (
                f"UPDATE {qualified(self.schema, self.table)} SET "
                + ", ".join(f"{quote(c)} = %s" for c in others)
                + " WHERE "
                + " AND ".join(f"{quote(c)} = %s" for c in self.id_columns)
            )

    def write(self, batch: pa.Table) -> None:
        rows = _rows(batch)
        if self.operation == "UPDATE":
            self._update(rows)
        elif self.reject:
            self.result.records_written += self._insert_rejecting(rows, self.rows_sent)
        else:
            try:
                self.cur.executemany(self.insert, rows)
            except pymysql.Error as exc:
                raise self._error(exc) from None
            self.result.records_written += len(rows)
        self.rows_sent += len(rows)

    def _insert_rejecting(self, rows: list[tuple], offset: int) -> int:
        """Insert `rows`; when the server refuses them, halve them (under savepoints) until the
        refused records are found, keep those as failures and write the rest."""
        self.cur.execute("SAVEPOINT sluice_part")
        try:
            self.cur.executemany(self.insert, rows)
        except pymysql.Error as exc:
            if not _refused(exc):
                raise self._error(exc) from None
            self.cur.execute("ROLLBACK TO SAVEPOINT sluice_part")
            if len(rows) == 1:
                self._reject(offset + 1, rows[0], error_text(exc, self.target))
                return 0
            half = len(rows) // 2
            return self._insert_rejecting(rows[:half], offset) + self._insert_rejecting(
                rows[half:], offset + half
            )
        self.cur.execute("RELEASE SAVEPOINT sluice_part")
        return len(rows)

    def _update(self, rows: list[tuple]) -> None:
        for number, row in enumerate(rows, self.rows_sent + 1):
            if self.reject:
                self.cur.execute("SAVEPOINT sluice_part")
            try:
                matched = self.cur.execute(self.update, [row[i] for i in self.positions])
            except pymysql.Error as exc:
                if not (self.reject and _refused(exc)):
                    raise self._error(exc, number) from None
                self.cur.execute("ROLLBACK TO SAVEPOINT sluice_part")
                self._reject(number, row, error_text(exc, self.target))
                continue
            if matched:
                self.result.records_written += 1
                continue
            shown = ", ".join(f"{c} = {row[self.columns.index(c)]!r}" for c in self.id_columns)
            if not self.reject:
                raise ConnectorError(
                    f"UPDATE of {self.name}: record {number}: no row has {shown}. Nothing was written "
                    "(set errorHandlingConfig.failOnFirstDestinationError to false to skip such records)."
                )
            self._reject(number, row, f"no row of {self.name} has {shown}; nothing was updated")

    def _reject(self, number: int, row: tuple, reason: str) -> None:
        record = dict(zip(self.fields, row, strict=True))
        self.result.failures.append(RecordFailure(f"record {number}", reason, record))

    def _create(self, schema: pa.Schema) -> None:
        columns = [f"{quote(f.name)} {_ddl_type(f.type, f.name in self.ids)}" for f in schema]
        if self.ids:
            columns.append(f"PRIMARY KEY ({', '.join(quote(i) for i in self.ids)})")
        statement = f"CREATE TABLE {qualified(self.schema, self.table)} ({', '.join(columns)})"
        try:
            self.cur.execute(statement)
        except pymysql.Error as exc:
            raise query_error(self.target, exc, f"Creating {self.name}") from None
        self.created = True

    def drop_created(self) -> None:
        try:
            self.cur.execute(f"DROP TABLE IF EXISTS {qualified(self.schema, self.table)}")
        except pymysql.Error:
            pass  # the connection is gone; the table stays, empty, and the run's error says why

    def _error(self, exc: pymysql.Error, record: int | None = None) -> ConnectorError:
        text = error_text(exc, self.target)
        if isinstance(exc, pymysql.OperationalError) and 2000 <= (exc.args[0] if exc.args else 0) < 3000:
            return query_error(self.target, exc, f"Writing {self.name}")
        where = f"record {record}: " if record else ""
        return ConnectorError(f"Writing {self.name}: {where}{text}. Nothing was written.")


# server errors about a record's values: wrong type or format, out of range, too long, NULL in a NOT
# NULL column, duplicate key, missing foreign key, a CHECK constraint
_REFUSALS = {1048, 1062, 1264, 1265, 1292, 1366, 1406, 1451, 1452, 3819, 4025}


def _refused(exc: pymysql.Error) -> bool:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
    return isinstance(exc, pymysql.DataError | pymysql.IntegrityError) or code in _REFUSALS


def _rows(batch: pa.Table) -> list[tuple]:
    """The batch as parameter tuples: timestamps in UTC without zone (sessions run in UTC),
    nested values as JSON text."""
    columns = []
    for column in batch.columns:
        kind = column.type
        values = column.to_pylist()
        if pat.is_nested(kind):
            values = [None if v is None else orjson.dumps(v, default=str).decode() for v in values]
        elif pat.is_timestamp(kind) and kind.tz:
            values = [v if v is None else v.astimezone(UTC).replace(tzinfo=None) for v in values]
        columns.append(values)
    return list(zip(*columns, strict=True))


def _ddl_type(arrow: pa.DataType, is_id: bool) -> str:
    """A column type for a created table (a fixed vocabulary)."""
    if pat.is_dictionary(arrow):
        return _ddl_type(arrow.value_type, is_id)
    if pat.is_boolean(arrow):
        return "BOOLEAN"
    if pat.is_integer(arrow):
        return "BIGINT"
    if pat.is_floating(arrow):
        return "DOUBLE"
    if pat.is_decimal(arrow):
        return f"DECIMAL({min(arrow.precision, 65)},{min(arrow.scale, 30)})"
    if pat.is_timestamp(arrow):
        return "DATETIME(6)"
    if pat.is_date(arrow):
        return "DATE"
    if pat.is_time(arrow):
        return "TIME(6)"
    if pat.is_binary(arrow) or pat.is_large_binary(arrow):
        return "VARBINARY(255)" if is_id else "LONGBLOB"
    if pat.is_nested(arrow):
        return "JSON"
    # a key cannot be a TEXT column without a prefix length
    return "VARCHAR(255)" if is_id else "LONGTEXT"


__all__ = ["WRITE_OPERATIONS", "write_table"]

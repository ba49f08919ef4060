"""Writes in one transaction per run: INSERT via COPY, UPSERT and UPDATE via a staging table.

- INSERT: each batch is sent as CSV through COPY straight into the table.
- UPSERT: each batch is copied into a temporary staging table, then
  INSERT ... SELECT ... ON CONFLICT (ids) DO UPDATE (the last record of a batch wins when ids
  repeat: the others are dropped in Arrow before the copy). The table needs a primary key or
  unique index on exactly the id fields.
- UPDATE: staging as for UPSERT, then UPDATE ... FROM the stage on the id fields.

Everything happens in one transaction that commits when the batches end normally (a cancel
included) and rolls back when they raise, so a table is never half-written. A record the database
refuses (a value its column cannot hold, a NOT NULL or unique violation) or an UPDATE that matches
no row stops the run, unless errorHandlingConfig.failOnFirstDestinationError is false: then the
refused records are found by halving the batch under savepoints, returned as record failures
(with the record) and the rest is written. (For UPSERT only the copy into the staging table is
checked record by record; a constraint the final INSERT breaks still stops the run.)
Field names match columns exactly, or else case-insensitively when that is unique.

A `staged` load (Redshift's S3 stage, redshift/stage.py) takes an INSERT's batches instead of
the database: each is handed to `staged.add()`, and after the last one `staged.load()` loads
them all with the run's cursor, in the same transaction, before the commit. Records are then
checked by the load as a whole: a refused one stops the run (no record-by-record rejection).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg import errors as pg_errors
from psycopg import sql

from .. import errorhandling, fencing, sqlprops
from ..base import ConnectorError, RecordFailure, WriteResult
from . import catalog, pgtypes
from .client import Target, connect, query_error

WRITE_OPERATIONS = ("INSERT", "UPSERT", "UPDATE")
_STAGE = "sluice_stage"
_STAGE_ROW = "sluice_stage_row"
_COPY_CONTEXT = re.compile(r"line (\d+), column ([^:]+):")


class StagedLoad(Protocol):
    """Where an INSERT's batches go instead of the database, then loaded in one step."""

    def add(self, batch: pa.Table) -> None: ...

    def load(self, cursor: psycopg.Cursor, schema: str, table: str, columns: list[str]) -> int:
        """Load what was added into schema.table's `columns`; returns the bytes staged."""
        ...


def write_table(
    target: Target,
    schema: str,
    table: str,
    batches: Iterable[pa.Table],
    options: Mapping[str, Any],
    copy_in: bool = True,
    staged: StagedLoad | None = None,
) -> WriteResult:
    """Write `batches` to schema.table. `copy_in` False sends multi-row INSERT statements
    instead of COPY ... FROM STDIN, which Redshift does not accept; `staged` (INSERT only)
    hands the batches to a staged load instead (module docstring)."""
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
    if staged is not None and operation != "INSERT":
        raise ConnectorError(f"writeOperationType: {operation} cannot load through a stage; use INSERT.")
    result = WriteResult(location=f"{target.where} {schema}.{table}")
    connection = connect(target)
    try:
        writer: _Writer | None = None
        for batch in batches:
            if batch.num_rows == 0:
                continue
            if writer is None:
                writer = _Writer(connection, target, schema, table, operation, ids, result)
                # a staged load is checked as a whole, when it loads
                writer.reject = staged is None and not errorhandling.fail_on_first(options)
                writer.copy_in = copy_in
                writer.staged = staged
                writer.prepare(batch.schema, create)
            writer.write(batch)
        if writer is not None and staged is not None:
            writer.load_staged()
        fencing.before_publish()  # a run that lost its lease rolls back instead
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.close()
    return result


def _last_per_id(batch: pa.Table, ids: list[str], offset: int) -> pa.Table:
    """`batch` with each record's number in the run added, keeping only the last record of each
    id (INSERT ... ON CONFLICT may not touch a row twice in one statement). Done in Arrow: a
    DISTINCT ON in the database cost a sort of every batch."""
    numbers = pa.array(range(offset + 1, offset + batch.num_rows + 1), pa.int64())
    batch = batch.append_column(_STAGE_ROW, numbers)
    if batch.num_rows < 2:
        return batch
    last = batch.group_by(ids, use_threads=False).aggregate([(_STAGE_ROW, "max")])
    if last.num_rows == batch.num_rows:
        return batch
    return batch.filter(pc.is_in(batch[_STAGE_ROW], last[f"{_STAGE_ROW}_max"]))


class _Refused(ConnectorError):
    """The database refused a record's values (SQLSTATE class 22 or 23)."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class _Writer:
    def __init__(
        self,
        connection: psycopg.Connection,
        target: Target,
        schema: str,
        table: str,
        operation: str,
        ids: list[str],
        result: WriteResult,
    ):
        self.connection = connection
        self.cur = connection.cursor()
        self.target = target
        self.schema, self.table = schema, table
        self.operation = operation
        self.ids = ids
        self.result = result
        self.rows_sent = 0  # records before the current batch, to number failing records
        self.fields: list[str] = []  # the batch's field names, in order
        self.copy_in = True  # False: multi-row INSERTs instead of COPY (Redshift)
        self.staged: StagedLoad | None = None  # batches go to a stage, loaded at the end (Redshift)
        self.reject = False  # errorHandlingConfig.failOnFirstDestinationError false: skip refused records
        self.columns: list[str] = []  # table column of each batch field, in batch order

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"

    def prepare(self, schema: pa.Schema, create: bool) -> None:
        self._run(self.cur.execute, "SET TIME ZONE 'UTC'")
        if not catalog.table_exists(self.cur, self.schema, self.table):
            if not create:
                raise ConnectorError(
                    f"{catalog.missing_table_message(self.cur, self.schema, self.table)} Create it, or set "
                    "customProperties.createTableIfMissing to true."
                )
            self._create(schema)
        existing = [c.name for c in catalog.columns(self.cur, self.schema, self.table)]
        self.columns = [sqlprops.column_for(field, existing, self.name) for field in schema.names]
        self.fields = list(schema.names)
        if self.operation == "INSERT":
            return
        self.id_columns = [sqlprops.id_column(i, schema.names, self.columns) for i in self.ids]
        self.other_columns = [c for c in self.columns if c not in self.id_columns]
        if self.operation == "UPSERT" and not catalog.has_unique_key(
            self.cur, self.schema, self.table, self.id_columns
        ):
            raise ConnectorError(
                f"UPSERT into {self.name} needs a primary key or unique index on exactly "
                f"({', '.join(self.id_columns)}); the table has none. Add one, or use INSERT or UPDATE."
            )
        if self.operation == "UPDATE" and not self.other_columns:
            raise ConnectorError(
                f"UPDATE of {self.name}: the records have no field to update besides the id fields."
            )
        self._run(
            self.cur.execute,
            sql.SQL(
                "CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS SELECT {cols} FROM {table} WITH NO DATA"
            ).format(stage=sql.Identifier(_STAGE), cols=self._idents(self.columns), table=self._table()),
        )
        # each staged record keeps its number in the run, for the messages about it
        self._run(
            self.cur.execute,
            sql.SQL("ALTER TABLE {} ADD COLUMN {} bigint").format(
                sql.Identifier(_STAGE), sql.Identifier(_STAGE_ROW)
            ),
        )

    def write(self, batch: pa.Table) -> None:
        into = self._table() if self.operation == "INSERT" else sql.Identifier(_STAGE)
        size = batch.num_rows
        if self.operation != "INSERT":
            batch = _last_per_id(
                batch, [self.fields[self.columns.index(c)] for c in self.id_columns], self.rows_sent
            )
        if self.reject:
            accepted = self._copy_rejecting(into, batch, self.rows_sent)
        else:
            self._copy(into, batch, self.rows_sent)
            accepted = batch.num_rows
        if self.operation == "INSERT":
            self.result.records_written += accepted
        elif self.operation == "UPSERT":
            self._upsert()
        else:
            self._update()
        self.rows_sent += size

    # -- steps ---------------------------------------------------------------------------------

    def _copy_rejecting(self, into: sql.Composable, batch: pa.Table, offset: int) -> int:
        """COPY `batch`; when the database refuses it, halve it until the refused records are
        found (each half under a savepoint), keep them as failures and write the rest. Costs
        about (refused records x log2(batch size)) extra COPYs, none when all is well."""
        try:
            with self.connection.transaction():  # a savepoint: a refusal undoes only this part
                self._copy(into, batch, offset)
            return batch.num_rows
        except _Refused as refused:
            if batch.num_rows == 1:
                record = batch.to_pylist()[0]
                number = record.pop(_STAGE_ROW, offset + 1)  # staged records carry their number
                self.result.failures.append(RecordFailure(f"record {number}", refused.reason, record))
                return 0
            half = batch.num_rows // 2
            return self._copy_rejecting(into, batch.slice(0, half), offset) + self._copy_rejecting(
                into, batch.slice(half), offset + half
            )

    def load_staged(self) -> None:
        assert self.staged is not None
        try:
            self.result.bytes_written += self.staged.load(self.cur, self.schema, self.table, self.columns)
        except psycopg.Error as exc:
            raise self._record_error(exc) from None

    def _copy(self, into: sql.Composable, batch: pa.Table, offset: int) -> None:
        if self.staged is not None:
            self.staged.add(batch)
            return
        if not self.copy_in:
            self._insert_values(into, batch, offset)
            return
        buffer = io.BytesIO()
        pacsv.write_csv(pgtypes.csv_ready(batch), buffer, pacsv.WriteOptions(include_header=False))
        data = buffer.getbuffer()
        columns = self.columns + ([_STAGE_ROW] if _STAGE_ROW in batch.column_names else [])
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(into, self._idents(columns))
        try:
            with self.cur.copy(statement) as copy:
                copy.write(data)
        except psycopg.Error as exc:
            raise self._record_error(exc, offset) from None
        self.result.bytes_written += len(data)

    def _insert_values(self, into: sql.Composable, batch: pa.Table, offset: int) -> None:
        """Multi-row INSERT ... VALUES statements, parameterised, within PostgreSQL's limit of
        65,535 parameters per statement."""
        width = len(self.columns)
        per_statement = max(1, min(1000, 65_535 // max(1, width)))
        row = sql.SQL("({})").format(sql.SQL(", ").join([sql.Placeholder()] * width))
        head = sql.SQL("INSERT INTO {} ({}) VALUES ").format(into, self._idents(self.columns))
        rows = pgtypes.python_rows(batch)
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            statement = head + sql.SQL(", ").join([row] * len(chunk))
            try:
                self.cur.execute(statement, [value for values in chunk for value in values])
            except psycopg.Error as exc:
                raise self._record_error(exc, offset + start) from None
        self.result.bytes_written += batch.nbytes

    def _latest(self) -> sql.Composable:
        """The staged records (one per id: _last_per_id kept the last one sent)."""
        return sql.SQL("SELECT {cols} FROM {stage}").format(
            cols=self._idents(self.columns), stage=sql.Identifier(_STAGE)
        )

    def _upsert(self) -> None:
        if self.other_columns:
            action = sql.SQL("DO UPDATE SET ") + sql.SQL(", ").join(
                sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in self.other_columns
            )
        else:
            action = sql.SQL("DO NOTHING")
        statement = sql.SQL("INSERT INTO {table} ({cols}) {latest} ON CONFLICT ({ids}) {action}").format(
            table=self._table(),
            cols=self._idents(self.columns),
            latest=self._latest(),
            ids=self._idents(self.id_columns),
            action=action,
        )
        self._run(self.cur.execute, statement)
        self.result.records_written += max(self.cur.rowcount, 0)
        self._run(self.cur.execute, sql.SQL("TRUNCATE {}").format(sql.Identifier(_STAGE)))

    def _update(self) -> None:
        match = sql.SQL(" AND ").join(
            sql.SQL("t.{0} = s.{0}").format(sql.Identifier(c)) for c in self.id_columns
        )
        statement = sql.SQL("UPDATE {table} AS t SET {sets} FROM ({latest}) AS s WHERE {match}").format(
            table=self._table(),
            sets=sql.SQL(", ").join(
                sql.SQL("{0} = s.{0}").format(sql.Identifier(c)) for c in self.other_columns
            ),
            latest=self._latest(),
            match=match,
        )
        self._run(self.cur.execute, statement)
        self.result.records_written += max(self.cur.rowcount, 0)
        missing = sql.SQL(
            "SELECT {row}, {ids} FROM {stage} AS s "
            "WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {match}) ORDER BY 1"
        ).format(
            row=sql.Identifier(_STAGE_ROW),
            ids=self._idents(self.id_columns),
            stage=sql.Identifier(_STAGE),
            table=self._table(),
            match=match,
        )
        self._run(self.cur.execute, missing)
        for row_number, *values in self.cur.fetchall():
            shown = ", ".join(f"{c} = {v!r}" for c, v in zip(self.id_columns, values, strict=True))
            if not self.reject:
                raise ConnectorError(
                    f"UPDATE of {self.name}: record {row_number}: no row has {shown}. Nothing was written "
                    "(set errorHandlingConfig.failOnFirstDestinationError to false to skip such records)."
                )
            self.result.failures.append(
                RecordFailure(
                    f"record {row_number}", f"no row of {self.name} has {shown}; nothing was updated"
                )
            )
        # no RESTART IDENTITY: the staging row number goes on counting, so it is the record's
        # number in the whole run
        self._run(self.cur.execute, sql.SQL("TRUNCATE {}").format(sql.Identifier(_STAGE)))

    def _create(self, schema: pa.Schema) -> None:
        columns = [
            sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(pgtypes.column_ddl_type(f.type)))
            for f in schema
        ]
        if self.ids:
            columns.append(sql.SQL("PRIMARY KEY ({})").format(self._idents(self.ids)))
        self._run(
            self.cur.execute,
            sql.SQL("CREATE TABLE {} ({})").format(self._table(), sql.SQL(", ").join(columns)),
        )

    # -- helpers -------------------------------------------------------------------------------

    def _table(self) -> sql.Composable:
        return sql.Identifier(self.schema, self.table)

    @staticmethod
    def _idents(names: list[str]) -> sql.Composable:
        return sql.SQL(", ").join(sql.Identifier(n) for n in names)

    def _run(self, execute, *args) -> None:
        try:
            execute(*args)
        except psycopg.Error as exc:
            raise self._record_error(exc) from None

    def _record_error(self, exc: psycopg.Error, offset: int | None = None) -> ConnectorError:
        """A message naming the column (and record, for COPY) the database refused."""
        diag = exc.diag
        context = _COPY_CONTEXT.search(diag.context or "")
        text = (diag.message_primary or str(exc)).strip()
        if diag.message_detail:
            text += f" ({diag.message_detail.strip()})"
        refused = (diag.sqlstate or "")[:2] in ("22", "23")  # data exception, integrity violation
        column = context.group(2) if context else diag.column_name
        reason = f"column {column}: {text}" if column else text
        if context and offset is not None:
            record = offset + int(context.group(1))
            message = f"Writing {self.name}: record {record}, {reason}. Nothing was written."
            return _Refused(message, reason) if refused else ConnectorError(message)
        if column or refused:
            message = f"Writing {self.name}: {reason}. Nothing was written."
            return _Refused(message, reason) if refused else ConnectorError(message)
        if isinstance(exc, pg_errors.InsufficientPrivilege):
            return ConnectorError(f"Writing {self.name}: the connection's user may not write it: "
                                  f"{self.target.scrub(text)}.")
        error = query_error(self.target, exc, f"Writing {self.name}")
        if error.permanent:
            error = ConnectorError(f"{error.message}. Nothing was written.")
        return error

"""Streaming reads, in one read-only transaction per run, as Arrow tables of `batch_rows` rows.

Two ways to read, chosen by the columns' types:

- COPY (the faster one): `COPY (SELECT ...) TO STDOUT (FORMAT csv)` parsed by pyarrow's CSV
  reader with the column types fixed from the catalog, when every column is a number, a boolean,
  text (or anything read as text: json, uuid, enums, ...), a date or a timestamp. Dates travel as
  days and timestamps as microseconds since 1970 (integers: exact, no time zone or DateStyle in
  between). A date or timestamp holding infinity fails the read with a message, as the cursor
  path does.
- A server-side cursor (psycopg's Python values), for the rest: arrays, bytea, time.

Simple filters are pushed down (see ..sqlfilters), with identifiers composed by psycopg.sql and
values always bound as server-side parameters. COPY takes no parameters, so for it the values are
first handed to the server with `set_config('sluice.p<n>', %s, true)` (bound parameters, scoped
to the transaction) and the query reads them back with `current_setting('sluice.p<n>')` cast to
the type the cursor path's parameter has (a datetime stays a timestamptz next to a date column,
text takes the column's type, as the server infers it): no value ever becomes part of SQL text.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

from ..base import ConnectorError, MissingAtSource, SourceBatch, Window
from ..sqlfilters import pushable
from . import catalog, pgtypes
from .client import Target, connect, query_error

BATCH_ROWS = 50_000


def read_table(
    target: Target,
    schema: str,
    table: str,
    fields: list[str] | None,
    filters: list[Mapping[str, Any]],
    window: Window,
    options: Mapping[str, Any],
    batch_rows: int = BATCH_ROWS,
) -> Iterator[SourceBatch]:
    connection = connect(target)
    try:
        with connection.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")  # timestamptz values arrive in UTC
            found = catalog.columns(cur, schema, table)
        by_name = {c.name: c for c in found}
        chosen = _chosen_columns(found, fields, schema, table)
        copyable = _copy_columns(chosen)
        params: list[Any] = []
        bind = _cursor_binder(params) if copyable is None else _setting_binder(params)
        conditions = _window_conditions(by_name, window, options, schema, table, bind)
        for condition in filters:
            pushed = _filter_condition(by_name, condition, bind)
            if pushed is not None:
                conditions.append(pushed)
        selected = [c[0] for c in copyable] if copyable else [sql.Identifier(c.name) for c in chosen]
        query = sql.SQL("SELECT {columns} FROM {table}").format(
            columns=sql.SQL(", ").join(selected),
            table=sql.Identifier(schema, table),
        )
        if conditions:
            query += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions)
        types = [pgtypes.arrow_type(c.typname, c.is_array) for c in chosen]
        names = [c.name for c in chosen]
        if copyable is not None:
            where = (target, schema, table)
            yield from _read_copy(connection, where, query, params, names, copyable, batch_rows)
            return
        with connection.cursor(name="sluice_read") as cur:
            cur.itersize = batch_rows
            try:
                cur.execute(query, params)
                while rows := cur.fetchmany(batch_rows):
                    batch = _to_table(rows, names, types)
                    yield SourceBatch(batch, bytes_read=batch.nbytes)
            except psycopg.Error as exc:
                raise query_error(target, exc, f"Reading {schema}.{table}") from None
    finally:
        connection.close()  # ends the read-only transaction and the cursor with it


# how a value is bound: (value, the column it is compared with, as an array of its type) -> SQL
Binder = Callable[[Any, catalog.Column, bool], sql.Composable]


def _cursor_binder(params: list[Any]) -> Binder:
    """A server-side parameter of the query itself ($n)."""

    def bind(value: Any, column: catalog.Column, as_array: bool = False) -> sql.Composable:
        params.append(value)
        return sql.Placeholder()

    return bind


def _setting_binder(params: list[Any]) -> Binder:
    """For COPY, which takes no parameters: the value is set, as a bound parameter, into a
    transaction-local setting, read back in the query and cast to the column's type."""

    def bind(value: Any, column: catalog.Column, as_array: bool = False) -> sql.Composable:
        name = f"sluice.p{len(params)}"
        params.append((name, value, as_array))
        sample = value[0] if as_array and value else value
        kind = sql.Identifier(_parameter_type(sample, column)) + sql.SQL("[]" if as_array else "")
        return sql.SQL("current_setting({})::{}").format(sql.Literal(name), kind)

    return bind


def _parameter_type(value: Any, column: catalog.Column) -> str:
    """The type a bound parameter with `value` has in the cursor path (psycopg's dumpers)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int8"
    if isinstance(value, float):
        return "float8"
    if isinstance(value, Decimal):
        return "numeric"
    if isinstance(value, datetime):
        return "timestamptz" if value.tzinfo else "timestamp"
    if isinstance(value, date):
        return "date"
    return column.typname  # text: psycopg leaves its type to the server, which takes the column's


_EPOCH_MICROS = (
    "(extract(epoch from date_trunc('second', {c}))::int8 * 1000000"
    " + extract(microseconds from {c})::int8 % 1000000)"
)
_STRAIGHT = (pa.int64(), pa.float64(), pa.bool_(), pa.string())


Planned = list[tuple[sql.Composable, pa.DataType, pa.DataType]]


def _copy_columns(chosen: list[catalog.Column]) -> Planned | None:
    """Per column: what COPY selects, the type pyarrow parses it as, the type of the batch
    column; None when a column needs the cursor path (arrays, bytea, time)."""
    planned = []
    for column in chosen:
        if column.is_array:
            return None
        kind = pgtypes.arrow_type(column.typname)
        ident = sql.Identifier(column.name)
        if column.typname in ("timestamp", "timestamptz"):
            planned.append((sql.SQL(_EPOCH_MICROS).format(c=ident), pa.int64(), kind))
        elif column.typname == "date":
            planned.append((sql.SQL("({} - DATE '1970-01-01')").format(ident), pa.int32(), kind))
        elif kind in _STRAIGHT:
            planned.append((ident, kind, kind))
        else:
            return None
    return planned


class _CopyStream(io.RawIOBase):
    """The rows COPY TO STDOUT sends, as a file pyarrow can read."""

    def __init__(self, copy: psycopg.Copy):
        self._chunks = iter(copy)
        self._left = memoryview(b"")

    def readable(self) -> bool:
        return True

    def at_end(self) -> bool:
        """Whether COPY sent nothing (no rows): pyarrow refuses an empty CSV."""
        while not self._left:
            chunk = next(self._chunks, None)
            if chunk is None:
                return True
            self._left = memoryview(chunk)
        return False

    def readinto(self, buffer: Any) -> int:
        # COPY sends a message per row: gather rows until the buffer is full, so pyarrow makes
        # one call per buffer (about a MB), not one per row
        wanted = len(buffer)
        parts, size = [], 0
        if self._left:
            parts.append(self._left)
            size = len(self._left)
        while size < wanted:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            parts.append(chunk)
            size += len(chunk)
        data = memoryview(b"".join(parts)) if len(parts) != 1 else memoryview(parts[0])
        taken = min(wanted, len(data))
        buffer[:taken] = data[:taken]
        self._left = data[taken:]
        return taken


def _read_copy(
    connection: psycopg.Connection,
    where: tuple[Target, str, str],
    query: sql.Composable,
    params: list[tuple[str, Any, bool]],
    names: list[str],
    planned: Planned,
    batch_rows: int,
) -> Iterator[SourceBatch]:
    target, schema, table = where
    keys = [f"c{i}" for i in range(len(names))]  # pyarrow's names: a column name may be anything
    convert = pacsv.ConvertOptions(
        column_types={k: read for k, (_, read, _) in zip(keys, planned, strict=True)},
        true_values=["t"],
        false_values=["f"],
        null_values=[""],
        strings_can_be_null=True,  # COPY's CSV: NULL is an empty field, empty text is ""
        quoted_strings_can_be_null=False,
    )
    try:
        with connection.cursor() as cur:
            for name, value, as_array in params:
                value_sql = "%s::text[]::text" if as_array else "%s::text"
                cur.execute(sql.SQL("SELECT set_config(%s, " + value_sql + ", true)"), [name, value])
            statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv)").format(query)
            with cur.copy(statement) as copy:
                stream = _CopyStream(copy)
                if stream.at_end():
                    return
                reader = pacsv.open_csv(
                    stream,
                    read_options=pacsv.ReadOptions(column_names=keys, block_size=4 << 20, use_threads=False),
                    parse_options=pacsv.ParseOptions(newlines_in_values=True),
                    convert_options=convert,
                )
                pending: list[pa.RecordBatch] = []
                rows = 0
                for batch in reader:
                    pending.append(batch)
                    rows += batch.num_rows
                    while rows >= batch_rows:
                        whole = pa.Table.from_batches(pending)
                        yield _copy_batch(whole.slice(0, batch_rows), names, planned)
                        rest = whole.slice(batch_rows)
                        pending, rows = rest.to_batches(), rest.num_rows
                if rows:
                    yield _copy_batch(pa.Table.from_batches(pending), names, planned)
    except psycopg.Error as exc:
        # "cannot convert infinity to bigint", "cannot subtract infinite dates": our conversions
        if "infinit" in (exc.diag.message_primary or ""):
            raise ConnectorError(
                f"Reading {schema}.{table}: a date or timestamp column holds infinity, which Sluice cannot "
                f"read ({exc.diag.message_primary}). Filter those rows out at the source."
            ) from None
        raise query_error(target, exc, f"Reading {schema}.{table}") from None


def _copy_batch(table: pa.Table, names: list[str], planned: Planned) -> SourceBatch:
    columns = []
    for column, (_, _read, kind) in zip(table.columns, planned, strict=True):
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            column = column.cast(kind)  # microseconds / days since 1970, as Arrow stores them
        columns.append(column)
    batch = pa.table(columns, names=names)
    return SourceBatch(batch, bytes_read=batch.nbytes)


def _chosen_columns(found: list[catalog.Column], fields: list[str] | None, schema: str, table: str) -> list:
    if fields is None:
        return found
    by_name = {c.name: c for c in found}
    missing = [f for f in fields if f not in by_name]
    if missing:
        raise MissingAtSource(f"{schema}.{table} has no column {', '.join(missing)}.",
                              entity=f"{schema}.{table}", fields=missing)
    return [by_name[f] for f in fields]


def _window_conditions(
    by_name: Mapping[str, catalog.Column],
    window: Window,
    options: Mapping[str, Any],
    schema: str,
    table: str,
    bind: Binder,
) -> list[sql.Composable]:
    """Rows whose timestamp column is in [start, end): consecutive windows neither overlap nor
    leave a gap."""
    if window.start is None and window.end is None:
        return []
    incremental = options.get("incrementalPullConfig") or {}
    name = incremental.get("datetimeTypeFieldName") if isinstance(incremental, Mapping) else None
    name = name or options.get("datetimeTypeFieldName")
    if not name:
        raise ConnectorError(
            f"An incremental read of {schema}.{table} needs incrementalPullConfig.datetimeTypeFieldName "
            "(a timestamp column)."
        )
    column = by_name.get(name)
    if column is None or column.typname not in pgtypes.TIMESTAMP_TYPES:
        raise ConnectorError(f"datetimeTypeFieldName: {schema}.{table} has no timestamp column {name}.")
    conditions: list[sql.Composable] = []
    if window.start is not None:
        conditions.append(sql.SQL("{} >= {}").format(sql.Identifier(name), bind(window.start, column, False)))
    if window.end is not None:
        conditions.append(sql.SQL("{} < {}").format(sql.Identifier(name), bind(window.end, column, False)))
    return conditions


def _filter_condition(
    by_name: Mapping[str, catalog.Column], task: Mapping[str, Any], bind: Binder
) -> sql.Composable | None:
    """A WHERE condition for one Filter task, or None when it is not simple enough to push."""
    types = {c.name: c.data_type for c in by_name.values() if not c.is_array}
    naive = frozenset(c.name for c in by_name.values() if c.typname == "timestamp")
    pushed = pushable(task, types, naive)
    if pushed is None:
        return None
    ident = sql.Identifier(pushed.column)
    column = by_name[pushed.column]
    if pushed.kind == "IN":
        return sql.SQL("{} = ANY({})").format(ident, bind(list(pushed.values), column, True))
    if pushed.kind == "BETWEEN":
        low, high = (bind(v, column, False) for v in pushed.values)
        return sql.SQL("{} BETWEEN {} AND {}").format(ident, low, high)
    if pushed.kind == "CONTAINS":
        text = catalog.Column(column.name, "text", False, False, False)  # compared as text
        return sql.SQL("strpos({}::text, {}) > 0").format(ident, bind(pushed.values[0], text, False))
    (value,) = pushed.values
    return sql.SQL("{} {} {}").format(ident, sql.SQL(pushed.kind), bind(value, column, False))


def _to_table(rows: list[tuple], names: list[str], types: list[pa.DataType]) -> pa.Table:
    arrays = []
    for values, kind in zip(zip(*rows, strict=True), types, strict=True):
        try:
            arrays.append(pa.array(values, type=kind))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            # e.g. 'infinity' in a date column, or a multi-dimensional array: keep the values, as text
            arrays.append(pa.array([None if v is None else str(v) for v in values], pa.string()))
    return pa.table(arrays, names=names)


__all__ = ["BATCH_ROWS", "read_table"]

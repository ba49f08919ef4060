"""Streaming reads: one server-side cursor per run, batches of rows turned into Arrow tables.

Filters are pushed down only when they are simple (one column, an operator with a direct SQL
form, a value that converts to the column's type); anything else is left to the engine, which
re-applies every filter anyway, so a filter not pushed down costs speed, never correctness.
Values are always bound as parameters; identifiers are composed with psycopg.sql.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import psycopg
import pyarrow as pa
from psycopg import sql

from ..base import ConnectorError, SourceBatch, Window
from . import catalog, pgtypes
from .client import Target, connect, query_error

BATCH_ROWS = 50_000

_COMPARISONS = {
    "EQUAL_TO": "=",
    "NOT_EQUAL_TO": "<>",
    "LESS_THAN": "<",
    "LESS_THAN_OR_EQUAL_TO": "<=",
    "GREATER_THAN": ">",
    "GREATER_THAN_OR_EQUAL_TO": ">=",
}


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
        conditions, params = _window_conditions(by_name, window, options, schema, table)
        for condition in filters:
            pushed = _filter_condition(by_name, condition)
            if pushed is not None:
                conditions.append(pushed[0])
                params.extend(pushed[1])
        query = sql.SQL("SELECT {columns} FROM {table}").format(
            columns=sql.SQL(", ").join(sql.Identifier(c.name) for c in chosen),
            table=sql.Identifier(schema, table),
        )
        if conditions:
            query += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions)
        types = [pgtypes.arrow_type(c.typname, c.is_array) for c in chosen]
        names = [c.name for c in chosen]
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


def _chosen_columns(found: list[catalog.Column], fields: list[str] | None, schema: str, table: str) -> list:
    if fields is None:
        return found
    by_name = {c.name: c for c in found}
    missing = [f for f in fields if f not in by_name]
    if missing:
        raise ConnectorError(f"{schema}.{table} has no column {', '.join(missing)}.")
    return [by_name[f] for f in fields]


def _window_conditions(
    by_name: Mapping[str, catalog.Column], window: Window, options: Mapping[str, Any], schema: str, table: str
) -> tuple[list[sql.Composable], list[Any]]:
    """Rows whose timestamp column is in [start, end): consecutive windows neither overlap nor
    leave a gap."""
    if window.start is None and window.end is None:
        return [], []
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
    params: list[Any] = []
    if window.start is not None:
        conditions.append(sql.SQL("{} >= %s").format(sql.Identifier(name)))
        params.append(window.start)
    if window.end is not None:
        conditions.append(sql.SQL("{} < %s").format(sql.Identifier(name)))
        params.append(window.end)
    return conditions, params


def _filter_condition(
    by_name: Mapping[str, catalog.Column], task: Mapping[str, Any]
) -> tuple[sql.Composable, list[Any]] | None:
    """A WHERE condition for one Filter task, or None when it is not simple enough to push."""
    sources = task.get("sourceFields") or []
    operator_block = task.get("connectorOperator") or {}
    operator = next(iter(operator_block.values()), None) if isinstance(operator_block, Mapping) else None
    props = task.get("taskProperties") or {}
    if len(sources) != 1 or sources[0] not in by_name or not isinstance(props, Mapping):
        return None
    column = by_name[sources[0]]
    if column.is_array:
        return None
    ident = sql.Identifier(column.name)
    try:
        if operator in _COMPARISONS and "VALUE" in props:
            value = _typed(column, props["VALUE"])
            return sql.SQL("{} {} %s").format(ident, sql.SQL(_COMPARISONS[operator])), [value]
        if operator == "EQUAL_TO" and "VALUES" in props:
            values = [_typed(column, v) for v in str(props["VALUES"]).split(",")]
            return sql.SQL("{} = ANY(%s)").format(ident), [values]
        if operator == "BETWEEN" and {"LOWER_BOUND", "UPPER_BOUND"} <= set(props):
            low, high = _typed(column, props["LOWER_BOUND"]), _typed(column, props["UPPER_BOUND"])
            return sql.SQL("{} BETWEEN %s AND %s").format(ident), [low, high]
        if operator == "CONTAINS" and column.data_type == "string" and "VALUE" in props:
            return sql.SQL("strpos({}::text, %s) > 0").format(ident), [str(props["VALUE"])]
    except (TypeError, ValueError):
        return None
    return None


def _typed(column: catalog.Column, value: Any) -> Any:
    """`value` (text, as in a flow document) converted for comparison with `column`."""
    text = str(value).strip()
    kind = column.data_type
    if kind == "integer":
        return int(text)
    if kind == "double":
        return float(text)
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise ValueError(text)
        return text.lower() == "true"
    if kind in ("date", "datetime"):
        if text.isdigit():  # AppFlow gives dates as epoch milliseconds
            moment = datetime.fromtimestamp(int(text) / 1000, UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if column.typname == "timestamp" and moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return moment.date() if kind == "date" else moment
    if kind == "string":
        return str(value)
    raise ValueError(kind)


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

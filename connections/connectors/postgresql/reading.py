"""Streaming reads: one server-side cursor per run, batches of rows turned into Arrow tables.

Simple filters are pushed down (see ..sqlfilters); values are always bound as parameters and
identifiers composed with psycopg.sql.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import psycopg
import pyarrow as pa
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
        raise MissingAtSource(f"{schema}.{table} has no column {', '.join(missing)}.",
                              entity=f"{schema}.{table}", fields=missing)
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
    types = {c.name: c.data_type for c in by_name.values() if not c.is_array}
    naive = frozenset(c.name for c in by_name.values() if c.typname == "timestamp")
    pushed = pushable(task, types, naive)
    if pushed is None:
        return None
    ident = sql.Identifier(pushed.column)
    if pushed.kind == "IN":
        return sql.SQL("{} = ANY(%s)").format(ident), [list(pushed.values)]
    if pushed.kind == "BETWEEN":
        return sql.SQL("{} BETWEEN %s AND %s").format(ident), list(pushed.values)
    if pushed.kind == "CONTAINS":
        return sql.SQL("strpos({}::text, %s) > 0").format(ident), list(pushed.values)
    return sql.SQL("{} {} %s").format(ident, sql.SQL(pushed.kind)), list(pushed.values)


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

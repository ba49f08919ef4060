"""Streaming reads: an unbuffered (server-side) cursor, batches of rows turned into Arrow tables.

Simple filters are pushed down (see ..sqlfilters) and an incremental window applies to
`incrementalPullConfig.datetimeTypeFieldName` as start <= column < end."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pymysql

from ..base import ConnectorError, MissingAtSource, SourceBatch, Window
from ..dbtarget import Target
from ..sqlfilters import pushable
from . import catalog
from .client import connect, qualified, query_error, quote

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
    connection = connect(target, streaming=True)
    try:
        with connection.cursor() as cur:
            found = catalog.columns(cur, schema, table)
            by_name = {c.name: c for c in found}
            if fields is not None:
                missing = [f for f in fields if f not in by_name]
                if missing:
                    raise MissingAtSource(f"{schema}.{table} has no column {', '.join(missing)}.",
                                          entity=f"{schema}.{table}", fields=missing)
            chosen = found if fields is None else [by_name[f] for f in fields]
            conditions, params = _window(by_name, window, options, schema, table)
            types = {c.name: c.data_type for c in found}
            naive = frozenset(c.name for c in found if c.sql_type.lower() == "datetime")
            for task in filters:
                pushed = pushable(task, types, naive)
                if pushed is not None:
                    condition, values = _render(pushed)
                    conditions.append(condition)
                    params.extend(values)
            query = f"SELECT {', '.join(quote(c.name) for c in chosen)} FROM {qualified(schema, table)}"
            if conditions:
                query += " WHERE " + " AND ".join(conditions)
            try:
                cur.execute(query, params)
                while rows := cur.fetchmany(batch_rows):
                    batch = _to_table(rows, chosen)
                    yield SourceBatch(batch, bytes_read=batch.nbytes)
            except pymysql.Error as exc:
                raise query_error(target, exc, f"Reading {schema}.{table}") from None
    finally:
        connection.close()


def _render(pushed) -> tuple[str, list[Any]]:
    column = quote(pushed.column)
    if pushed.kind == "IN":
        return f"{column} IN ({', '.join(['%s'] * len(pushed.values))})", list(pushed.values)
    if pushed.kind == "BETWEEN":
        return f"{column} BETWEEN %s AND %s", list(pushed.values)
    if pushed.kind == "CONTAINS":
        return f"LOCATE(%s, {column}) > 0", list(pushed.values)
    return f"{column} {pushed.kind} %s", list(pushed.values)  # kind: one of a fixed set of operators


def _window(
    by_name: Mapping[str, catalog.Column], window: Window, options: Mapping[str, Any], schema: str, table: str
) -> tuple[list[str], list[Any]]:
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
    if column is None or column.sql_type.lower() not in ("date", "datetime", "timestamp"):
        raise ConnectorError(f"datetimeTypeFieldName: {schema}.{table} has no timestamp column {name}.")
    conditions, params = [], []
    for bound, operator in ((window.start, ">="), (window.end, "<")):
        if bound is not None:
            conditions.append(f"{quote(name)} {operator} %s")
            # sessions run in UTC; MySQL compares naive values
            params.append(bound.astimezone(UTC).replace(tzinfo=None) if bound.tzinfo else bound)
    return conditions, params


def _to_table(rows: tuple, chosen: list[catalog.Column]) -> pa.Table:
    arrays = []
    for values, column in zip(zip(*rows, strict=True), chosen, strict=True):
        kind = column.arrow_type
        if column.data_type == "double":
            values = [float(v) if isinstance(v, Decimal) else v for v in values]
        elif column.data_type == "boolean":
            values = [None if v is None else bool(v) for v in values]
        elif kind == pa.string():
            values = [v if v is None or isinstance(v, str) else _text(v) for v in values]
        try:
            arrays.append(pa.array(values, type=kind))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            # e.g. a zero date ('0000-00-00') that the driver hands over as text: keep it as text
            arrays.append(pa.array([None if v is None else str(v) for v in values], pa.string()))
    return pa.table(arrays, names=[c.name for c in chosen])


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    return str(value)  # TIME arrives as a timedelta, DECIMAL as Decimal

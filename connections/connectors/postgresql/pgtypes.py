"""PostgreSQL types <-> Sluice data types <-> Arrow types.

Reading: psycopg loads values as Python objects; a few are loaded as text (numeric as float, json,
uuid, ...) because Arrow has no faithful equivalent or the engine handles them as strings anyway.
Writing: an Arrow schema becomes column types for "create the table if missing", and a batch
becomes CSV text for COPY (nested values as JSON text, binary as bytea hex).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

from ..fileformats import json_text_values

# pg_type.typname (of the element type for arrays) -> Sluice data type
_DATA_TYPES: dict[str, str] = {
    "int2": "integer",
    "int4": "integer",
    "int8": "integer",
    "oid": "integer",
    "float4": "double",
    "float8": "double",
    "numeric": "double",
    "money": "string",
    "bool": "boolean",
    "date": "date",
    "timestamp": "datetime",
    "timestamptz": "datetime",
    "time": "time",
    "timetz": "string",
    "bytea": "binary",
}

# Sluice data type -> Arrow type of the column a read produces
_ARROW_TYPES: dict[str, pa.DataType] = {
    "integer": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "time": pa.time64("us"),
    "binary": pa.binary(),
    "string": pa.string(),
}

TIMESTAMP_TYPES = frozenset({"timestamp", "timestamptz", "date"})


def data_type(typname: str, is_array: bool = False) -> str:
    """The Sluice data type of a column whose pg_type name is `typname`."""
    if is_array:
        return "array"
    return _DATA_TYPES.get(typname, "string")


def arrow_type(typname: str, is_array: bool = False) -> pa.DataType:
    """The Arrow type of a column in read batches: fixed from the catalog, so that every batch
    of a read has the same schema whatever its values (an all-empty array column included)."""
    if is_array:
        return pa.list_(arrow_type(typname))
    if typname == "timestamptz":
        return pa.timestamp("us", tz="UTC")
    if typname == "timestamp":
        return pa.timestamp("us")
    return _ARROW_TYPES[data_type(typname)]


def column_ddl_type(arrow: pa.DataType) -> str:
    """A PostgreSQL type name for a column created from an Arrow field (a fixed vocabulary, so
    callers may compose it as SQL)."""
    if pat.is_dictionary(arrow):
        return column_ddl_type(arrow.value_type)
    if pat.is_boolean(arrow):
        return "boolean"
    if pat.is_integer(arrow):
        return "bigint"
    if pat.is_floating(arrow):
        return "double precision"
    if pat.is_decimal(arrow):
        return "numeric"
    if pat.is_timestamp(arrow):
        return "timestamp with time zone" if arrow.tz else "timestamp without time zone"
    if pat.is_date(arrow):
        return "date"
    if pat.is_time(arrow):
        return "time"
    if pat.is_binary(arrow) or pat.is_large_binary(arrow) or pat.is_fixed_size_binary(arrow):
        return "bytea"
    if pat.is_nested(arrow):
        return "jsonb"
    return "text"


def csv_ready(table: pa.Table) -> pa.Table:
    """`table` with every column in a form pyarrow's CSV writer and PostgreSQL's CSV COPY agree
    on: nested values as JSON text, binary as bytea hex, timestamps with microseconds."""
    columns = []
    for column in table.columns:
        kind = column.type
        if pat.is_dictionary(kind):
            column = column.cast(kind.value_type)
            kind = kind.value_type
        if pat.is_nested(kind):
            column = pa.chunked_array([json_text_values(c) for c in column.chunks], pa.string())
        elif pat.is_binary(kind) or pat.is_large_binary(kind) or pat.is_fixed_size_binary(kind):
            hexed = [None if v is None else "\\x" + v.hex() for v in column.to_pylist()]
            column = pa.array(hexed, pa.string())
        elif pat.is_timestamp(kind) and kind.unit == "ns":
            # nanoseconds would print nine fraction digits; PostgreSQL keeps six
            column = pc.cast(column, pa.timestamp("us", tz=kind.tz), safe=False)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def python_rows(table: pa.Table) -> list[tuple]:
    """`table` as parameter tuples for INSERT ... VALUES: nested values as JSON text."""
    columns = []
    for column in table.columns:
        if pat.is_nested(column.type):
            column = pa.chunked_array([json_text_values(c) for c in column.chunks], pa.string())
        columns.append(column.to_pylist())
    return list(zip(*columns, strict=True))

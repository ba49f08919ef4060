"""What information_schema says: databases, tables and views, columns, keys, unique indexes."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from pymysql.cursors import Cursor

from ..base import ConnectorError, Entity, EntityField
from ..sqlfilters import OPERATORS

_HIDDEN = ("information_schema", "mysql", "performance_schema", "sys")
_DATA_TYPES = {
    **dict.fromkeys(("tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year"), "integer"),
    **dict.fromkeys(("decimal", "numeric", "float", "double", "real"), "double"),
    "date": "date",
    "datetime": "datetime",
    "timestamp": "datetime",
    **dict.fromkeys(("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit"), "binary"),
}
_ARROW = {
    "integer": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "binary": pa.binary(),
    "string": pa.string(),
}


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # information_schema DATA_TYPE, e.g. "int", "varchar"
    column_type: str  # the full type, e.g. "tinyint(1)", "int(10) unsigned"
    nullable: bool
    primary_key: bool

    @property
    def data_type(self) -> str:
        if self.column_type.lower().startswith("tinyint(1)"):
            return "boolean"  # MySQL's BOOLEAN
        return _DATA_TYPES.get(self.sql_type.lower(), "string")

    @property
    def arrow_type(self) -> pa.DataType:
        if self.sql_type.lower() == "timestamp":
            return pa.timestamp("us", tz="UTC")  # sessions run in UTC
        if self.sql_type.lower() == "datetime":
            return pa.timestamp("us")
        return _ARROW[self.data_type]


def list_databases(cur: Cursor) -> list[Entity]:
    cur.execute(
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN %s ORDER BY 1",
        (_HIDDEN,),
    )
    return [Entity(name, name, has_children=True) for (name,) in cur.fetchall()]


def list_tables(cur: Cursor, schema: str) -> list[Entity]:
    cur.execute(
        "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s ORDER BY 1",
        (schema,),
    )
    return [
        Entity(f"{schema}.{name}", name + (" (view)" if kind == "VIEW" else ""))
        for name, kind in cur.fetchall()
    ]


def columns(cur: Cursor, schema: str, table: str) -> list[Column]:
    cur.execute(
        "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE = 'YES', COLUMN_KEY = 'PRI' "
        "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
        "ORDER BY ORDINAL_POSITION",
        (schema, table),
    )
    found = [Column(n, t, ct, bool(nullable), bool(pk)) for n, t, ct, nullable, pk in cur.fetchall()]
    if not found:
        raise ConnectorError(missing_table_message(schema, table))
    return found


def missing_table_message(schema: str, table: str) -> str:
    return f'The table {table} does not exist in the database "{schema}".'


def table_exists(cur: Cursor, schema: str, table: str) -> bool:
    cur.execute(
        "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s", (schema, table)
    )
    return cur.fetchone() is not None


def has_unique_key(cur: Cursor, schema: str, table: str, key: list[str]) -> bool:
    """Whether a primary key or unique index covers exactly `key` (ON DUPLICATE KEY UPDATE
    matches on any unique key; only one on the id fields makes it an upsert by those fields)."""
    cur.execute(
        "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
        "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND NON_UNIQUE = 0",
        (schema, table),
    )
    indexes: dict[str, set[str]] = {}
    for index, column in cur.fetchall():
        indexes.setdefault(index, set()).add(column)
    return set(key) in indexes.values()


def entity_fields(found: list[Column]) -> list[EntityField]:
    return [
        EntityField(
            name=c.name,
            data_type=c.data_type,
            nullable=c.nullable,
            primary_key=c.primary_key,
            filter_operators=OPERATORS,
            timestamp_for_incremental=c.sql_type.lower() in ("date", "datetime", "timestamp"),
        )
        for c in found
    ]

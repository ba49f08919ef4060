"""What the catalog says: schemas, tables and views, their columns, keys and unique indexes.

Queries read pg_catalog (not information_schema) so that views, partitioned tables and
materialised views show up, and so that they work unchanged on Redshift's PostgreSQL catalog
where it has the same tables (tested on PostgreSQL only)."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from ..base import ConnectorError, Entity, EntityField
from ..sqlfilters import OPERATORS
from . import pgtypes

_HIDDEN_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
# relkind: r table, v view, m materialised view, p partitioned table, f foreign table
_READABLE = ("r", "v", "m", "p", "f")
FILTER_OPERATORS = OPERATORS


@dataclass(frozen=True)
class Column:
    name: str
    typname: str  # pg_type name of the column, or of its elements for an array
    is_array: bool
    not_null: bool
    primary_key: bool

    @property
    def data_type(self) -> str:
        return pgtypes.data_type(self.typname, self.is_array)


def list_schemas(cur: psycopg.Cursor) -> list[Entity]:
    cur.execute(
        "SELECT nspname FROM pg_catalog.pg_namespace "
        "WHERE nspname <> ALL(%s) AND nspname NOT LIKE 'pg\\_temp\\_%%' "
        "AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%%' "
        "AND has_schema_privilege(oid, 'USAGE') ORDER BY nspname",
        (list(_HIDDEN_SCHEMAS),),
    )
    return [Entity(name, name, has_children=True) for (name,) in cur.fetchall()]


def list_tables(cur: psycopg.Cursor, schema: str) -> list[Entity]:
    cur.execute(
        "SELECT c.relname, c.relkind FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind = ANY(%s) ORDER BY c.relname",
        (schema, list(_READABLE)),
    )
    kinds = {"v": " (view)", "m": " (materialised view)"}
    return [Entity(f"{schema}.{name}", name + kinds.get(kind, "")) for name, kind in cur.fetchall()]


def columns(cur: psycopg.Cursor, schema: str, table: str) -> list[Column]:
    """The columns of schema.table in order, or a ConnectorError naming the missing table."""
    cur.execute(
        "SELECT a.attname, "
        "       CASE WHEN t.typcategory = 'A' THEN e.typname ELSE t.typname END, "
        "       t.typcategory = 'A', a.attnotnull, "
        "       COALESCE(a.attnum = ANY(pk.conkey), false) "
        "FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
        "LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem "
        "LEFT JOIN pg_catalog.pg_constraint pk ON pk.conrelid = c.oid AND pk.contype = 'p' "
        "WHERE n.nspname = %s AND c.relname = %s AND c.relkind = ANY(%s) ORDER BY a.attnum",
        (schema, table, list(_READABLE)),
    )
    found = [Column(*row) for row in cur.fetchall()]
    if not found:
        raise ConnectorError(missing_table_message(cur, schema, table))
    return found


def table_exists(cur: psycopg.Cursor, schema: str, table: str) -> bool:
    cur.execute(
        "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s",
        (schema, table),
    )
    return cur.fetchone() is not None


def missing_table_message(cur: psycopg.Cursor, schema: str, table: str) -> str:
    database = cur.connection.info.dbname
    if not table_exists(cur, schema, table):
        return f'The table {schema}.{table} does not exist in the database "{database}".'
    return f'{schema}.{table} in the database "{database}" is not a table or view that can be read.'


def has_unique_key(cur: psycopg.Cursor, schema: str, table: str, key: list[str]) -> bool:
    """Whether a primary key or unique index covers exactly the columns `key` (what
    INSERT ... ON CONFLICT (key) needs)."""
    cur.execute(
        "SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_catalog.pg_index i "
        "JOIN pg_catalog.pg_class c ON c.oid = i.indrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) "
        "WHERE n.nspname = %s AND c.relname = %s AND i.indisunique AND i.indpred IS NULL "
        "AND i.indexprs IS NULL GROUP BY i.indexrelid",
        (schema, table),
    )
    wanted = sorted(key)
    return any(list(row[0]) == wanted for row in cur.fetchall())


def entity_fields(found: list[Column]) -> list[EntityField]:
    return [
        EntityField(
            name=c.name,
            data_type=c.data_type,
            nullable=not c.not_null,
            primary_key=c.primary_key,
            filter_operators=FILTER_OPERATORS,
            timestamp_for_incremental=not c.is_array and c.typname in pgtypes.TIMESTAMP_TYPES,
        )
        for c in found
    ]

"""The SQL Sluice sends to Snowflake, built from checked names: quoted identifiers, Snowflake types
for a table created from the records, the COPY INTO that loads the staged files, the MERGE of an
upsert. Nothing from a flow document is glued in raw: identifiers are quoted (a `"` doubled),
stage paths and file names are checked against a small alphabet first.

Statements follow Snowflake's reference pages: COPY INTO <table>
(https://docs.snowflake.com/en/sql-reference/sql/copy-into-table: FILES, FILE_FORMAT, ON_ERROR,
PURGE), CSV format options (https://docs.snowflake.com/en/sql-reference/sql/create-file-format),
MERGE (https://docs.snowflake.com/en/sql-reference/sql/merge) and data types
(https://docs.snowflake.com/en/sql-reference/intro-summary-data-types).
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.types as pat

from ..base import ConnectorError

ROW_COLUMN = "SLUICE_ROW"  # the record's number in the run, to keep the last of repeated ids
UPSERT_STAGE = "SLUICE_UPSERT_STAGE"  # the session's temporary table an upsert copies into
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_PATH_PART = re.compile(r"[A-Za-z0-9_.=-]+")
_STAGE = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*){0,2}")


def ident(name: str) -> str:
    if not name or "\x00" in name:
        raise ConnectorError(f'"{name[:100]}" cannot be a Snowflake identifier.')
    return '"' + name.replace('"', '""') + '"'


def qualified(*parts: str) -> str:
    return ".".join(ident(p) for p in parts)


def created_name(name: str) -> str:
    """The name Snowflake itself would give `name` written without quotes: upper case for a plain
    name (so `accounts` is queried as accounts, unquoted), exactly as given otherwise."""
    return name.upper() if _PLAIN.fullmatch(name) else name


def column_type(arrow: pa.DataType) -> str:
    """A Snowflake type for a column created from an Arrow field (a fixed vocabulary)."""
    if pat.is_dictionary(arrow):
        return column_type(arrow.value_type)
    if pat.is_boolean(arrow):
        return "BOOLEAN"
    if pat.is_integer(arrow):
        return "NUMBER(38,0)"
    if pat.is_floating(arrow):
        return "FLOAT"
    if pat.is_decimal(arrow):
        return f"NUMBER({min(arrow.precision, 38)},{min(arrow.scale, 37)})"
    if pat.is_timestamp(arrow):
        return "TIMESTAMP_TZ" if arrow.tz else "TIMESTAMP_NTZ"
    if pat.is_date(arrow):
        return "DATE"
    if pat.is_time(arrow):
        return "TIME"
    if pat.is_binary(arrow) or pat.is_large_binary(arrow) or pat.is_fixed_size_binary(arrow):
        return "BINARY"
    # lists and structs are staged as JSON text: VARCHAR (PARSE_JSON makes them VARIANT in Snowflake)
    return "VARCHAR"


def create_table(database: str, schema: str, table: str, arrow_schema: pa.Schema) -> str:
    columns = ", ".join(f"{ident(created_name(f.name))} {column_type(f.type)}" for f in arrow_schema)
    return f"CREATE TABLE IF NOT EXISTS {qualified(database, schema, table)} ({columns})"


def create_upsert_stage(columns: list[tuple[str, str]]) -> str:
    """The session's temporary table for an upsert: the target's columns and types, plus the row number."""
    body = ", ".join(f"{ident(name)} {kind}" for name, kind in columns)
    return (
        f"CREATE OR REPLACE TEMPORARY TABLE {ident(UPSERT_STAGE)} ({body}, {ident(ROW_COLUMN)} NUMBER(38,0))"
    )


def stage_location(stage: str, path: str) -> str:
    """`@DB.SCHEMA.STAGE/path/`: the stage as the connection names it, the path checked part by part."""
    if not _STAGE.fullmatch(stage):
        raise ConnectorError(
            f'stage: "{stage[:200]}" is not a stage name like MYDB.PUBLIC.APPFLOW_STAGE (letters, digits, '
            "_ and $, parts separated by dots)."
        )
    parts = [p for p in path.split("/") if p]
    for part in parts:
        if not _PATH_PART.fullmatch(part) or part in (".", ".."):
            raise ConnectorError(
                f'bucketPrefix: "{part[:100]}" cannot be part of a Snowflake stage path: use letters, '
                "digits and _.=- only."
            )
    return "@" + stage + "/" + "".join(f"{p}/" for p in parts)


def on_error(fail_on_first: bool) -> str:
    """errorHandlingConfig.failOnFirstDestinationError -> COPY's ON_ERROR: stop at the first bad
    record (nothing loaded), or load the others and report the refused ones."""
    return "ABORT_STATEMENT" if fail_on_first else "CONTINUE"


def copy_into(target: str, columns: list[str], location: str, files: list[str], fail_on_first: bool) -> str:
    """COPY INTO `target` (a quoted name) of the gzip CSV `files` under `location` (stage_location()).
    Unquoted empty fields load as NULL, quoted empty ones ("") as empty text."""
    for name in files:
        if not _PATH_PART.fullmatch(name):
            raise ConnectorError(f'"{name[:100]}" cannot be a staged file name.')
    return (
        f"COPY INTO {target} ({', '.join(ident(c) for c in columns)}) FROM {location} "
        f"FILES = ({', '.join(repr(f) for f in files)}) "
        "FILE_FORMAT = (TYPE = CSV COMPRESSION = GZIP FIELD_OPTIONALLY_ENCLOSED_BY = '\"' "
        "EMPTY_FIELD_AS_NULL = TRUE ESCAPE_UNENCLOSED_FIELD = NONE) "
        f"ON_ERROR = {on_error(fail_on_first)} PURGE = FALSE"
    )


def merge(target: str, columns: list[str], ids: list[str]) -> str:
    """MERGE the upsert stage into `target` on `ids`: the last record of repeated ids wins."""
    partition = ", ".join(ident(i) for i in ids)
    source = (
        f"SELECT {', '.join(ident(c) for c in columns)} FROM {ident(UPSERT_STAGE)} "
        f"QUALIFY ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY {ident(ROW_COLUMN)} DESC) = 1"
    )
    on = " AND ".join(f"t.{ident(i)} = s.{ident(i)}" for i in ids)
    others = [c for c in columns if c not in ids]
    matched = (
        f" WHEN MATCHED THEN UPDATE SET {', '.join(f't.{ident(c)} = s.{ident(c)}' for c in others)}"
        if others
        else ""
    )
    insert = (
        f" WHEN NOT MATCHED THEN INSERT ({', '.join(ident(c) for c in columns)}) "
        f"VALUES ({', '.join(f's.{ident(c)}' for c in columns)})"
    )
    return f"MERGE INTO {target} AS t USING ({source}) AS s ON {on}{matched}{insert}"

"""Writers: a stream of `pyarrow.Table`s into one CSV, JSON Lines or Parquet file.

The first table fixes the column names of the file; later tables are cast to its types. A column
that is null throughout the first table(s) has no type yet (Arrow's null type), so it does not
fix one: CSV and JSON Lines take the type of the first table where it has values, and Parquet,
whose file schema is written once, holds its first row group back and takes each column's type
from all the tables in it (a column still all null then becomes text, as in CSV). Later tables
whose column is all null fit any type; a value that fits a text column only as text (a list, a
struct) is written as its JSON text. Where the file lands and when it becomes visible (atomic
commit) is the connector's business.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pyarrow.types as pat

from ..base import ConnectorError
from .jsonl import json_text_values, write_jsonl
from .timetext import iso_text
from .types import FILE_TYPES

# A Parquet row group per incoming table would give a file of many tiny row groups (a filter
# keeping 1 row in 3 of 1 MiB blocks: ~1,000 rows each), slow to write and to read. Tables are
# gathered until one of these limits, so memory stays bounded whatever the row width.
PARQUET_ROW_GROUP_ROWS = 65_536
PARQUET_ROW_GROUP_BYTES = 16 << 20


NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def is_out_of_space(exc: BaseException) -> bool:
    """A full file system or a quota reached. pyarrow's own writes raise OSError without errno and
    put the system's words in the message ("... No space left on device")."""
    if not isinstance(exc, OSError):
        return False
    return exc.errno in NO_SPACE or any(os.strerror(code) in str(exc) for code in NO_SPACE)


@contextlib.contextmanager
def writing_to(where: Path | str) -> Iterator[None]:
    """Writes inside this block that meet a full disk or a quota become a ConnectorError naming
    `where` (the folder the user chose), not an "unexpected error"."""
    try:
        yield
    except OSError as exc:
        if not is_out_of_space(exc):
            raise
        quota = exc.errno == errno.EDQUOT or os.strerror(errno.EDQUOT) in str(exc)
        what = "The disk quota is reached" if quota else "No space left"
        # Permanent: a person has to free space; retrying within the run's back-off rarely helps.
        raise ConnectorError(f"{what} on {where}: free some space there (or choose another folder), "
                             "then run the flow again.", permanent=True) from None


class TableFileWriter:
    """Write tables to `path` as `file_type` (CSV | JSONL | PARQUET)."""

    def __init__(self, file_type: str, path: Path):
        if file_type not in FILE_TYPES:
            raise ConnectorError(f'fileType must be one of {", ".join(FILE_TYPES)}, not "{file_type}".')
        self.file_type = file_type
        self.path = path
        self.records = 0
        self._schema: pa.Schema | None = None
        self._sink: Any = None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._pending_bytes = 0

    @property
    def size(self) -> int:
        """Bytes on disk so far (Parquet holds its first row group back: 0 until it is written)."""
        return self.path.stat().st_size if self._sink is not None else 0

    def write(self, table: pa.Table) -> None:
        if self.file_type == "PARQUET" and self._sink is None:
            # the file schema waits for the first row group: its tables decide the types together
            if self._pending:
                _same_names(table, self._pending[0].schema, self.path.name)
        elif self._schema is None:
            self._start(table)
        else:
            table = _conform(table, self._schema, self.path.name)
            if self.file_type != "PARQUET":
                self._schema = _typed_where_null(self._schema, table.schema)
        if self.file_type == "CSV":
            table = _csv_ready(table)
            if not table.schema.equals(self._sink_schema):  # a column typed after the header was written
                table = table.cast(self._sink_schema)
            self._sink.write_table(table)
        elif self.file_type == "PARQUET":
            self._pending.append(table)
            self._pending_rows += table.num_rows
            self._pending_bytes += table.nbytes
            if self._pending_rows >= PARQUET_ROW_GROUP_ROWS or self._pending_bytes >= PARQUET_ROW_GROUP_BYTES:
                self._flush()
        else:
            write_jsonl(table, self._sink.write)
        self.records += table.num_rows

    def close(self) -> int:
        """Finish the file; returns its size in bytes (0 when nothing was written)."""
        if self._sink is None and self.file_type == "PARQUET" and self._pending:
            self._flush()
        if self._sink is None:
            return 0
        self._flush()
        self._sink.close()
        self._sink = None
        return self.path.stat().st_size

    def _flush(self) -> None:
        if self._pending:
            if self._sink is None:
                self._start_parquet()
            self._sink.write_table(pa.concat_tables(self._pending))  # one row group
            self._pending, self._pending_rows, self._pending_bytes = [], 0, 0

    def abort(self) -> None:
        """Close without caring about the content (the caller deletes the file)."""
        self._pending = []
        if self._sink is not None:
            with contextlib.suppress(Exception):  # the file is about to be deleted anyway
                self._sink.close()
            self._sink = None

    def _start(self, table: pa.Table) -> None:
        self._schema = table.schema
        if self.file_type == "CSV":
            self._sink_schema = _csv_ready(table.slice(0, 0)).schema
            self._sink = pacsv.CSVWriter(str(self.path), self._sink_schema)
        else:
            self._sink = open(self.path, "wb", buffering=1 << 20)  # noqa: SIM115 - closed in close()/abort()


    def _start_parquet(self) -> None:
        """Open the Parquet file with the first table's types, except that a column null there
        takes its type from the first held-back table with values; null in all of them: text."""
        schema = self._pending[0].schema
        for table in self._pending[1:]:
            schema = _typed_where_null(schema, table.schema)
        schema = pa.schema([f.with_type(pa.string()) if pat.is_null(f.type) else f for f in schema])
        self._pending = [_conform(t, schema, self.path.name) for t in self._pending]
        self._schema = schema
        self._sink = pq.ParquetWriter(str(self.path), schema, compression="snappy")


def open_writer(file_type: str, path: Path) -> TableFileWriter:
    return TableFileWriter(file_type, path)


def _same_names(table: pa.Table, schema: pa.Schema, name: str) -> None:
    if table.column_names != schema.names:
        raise ConnectorError(
            f"{name}: a batch came with columns {', '.join(table.column_names)} after the file was "
            f"started with {', '.join(schema.names)}; one output file needs one set of columns."
        )


def _conform(table: pa.Table, schema: pa.Schema, name: str) -> pa.Table:
    """`table` cast to the file's `schema`. A column the file has no type for yet (null) keeps
    the table's type; a list or struct going into a text column becomes its JSON text."""
    if table.schema.equals(schema):
        return table
    _same_names(table, schema, name)
    columns = []
    for field, column in zip(schema, table.columns, strict=True):
        kind = column.type
        try:
            if kind == field.type or pat.is_null(field.type):
                columns.append(column)
            elif pat.is_string(field.type) and (
                pat.is_nested(kind) or pat.is_binary(kind) or pat.is_large_binary(kind)
            ):
                columns.append(pa.chunked_array([json_text_values(c) for c in column.chunks], pa.string()))
            else:
                columns.append(column.cast(field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ConnectorError(
                f"{name}: column {field.name}: a batch does not fit the type the file was started "
                f"with ({field.type}): {exc}"
            ) from None
    return pa.table(columns, names=schema.names)


def _typed_where_null(schema: pa.Schema, seen: pa.Schema) -> pa.Schema:
    """`schema` with its null (not yet typed) columns given the type they have in `seen`."""
    for i, field in enumerate(schema):
        if pat.is_null(field.type) and not pat.is_null(seen.field(i).type):
            schema = schema.set(i, field.with_type(seen.field(i).type))
    return schema


def _csv_ready(table: pa.Table) -> pa.Table:
    """CSV holds text: nested values become their JSON text, all-null columns become text,
    timestamps ISO 8601 text as in JSON Lines (pyarrow would write `2024-01-01 17:35:00.000000Z`)."""
    for i, f in enumerate(table.schema):
        kind = f.type
        if pat.is_nested(kind) or pat.is_binary(kind) or pat.is_large_binary(kind) or pat.is_duration(kind):
            table = table.set_column(i, f.name, json_text_values(table.column(i).combine_chunks()))
        elif pat.is_dictionary(kind):
            table = table.set_column(i, f.name, table.column(i).cast(kind.value_type))
        elif pat.is_null(kind):
            table = table.set_column(i, f.name, table.column(i).cast(pa.string()))
        elif pat.is_timestamp(kind):
            table = table.set_column(i, f.name, iso_text(table.column(i)))
    return table

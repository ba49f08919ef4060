"""Writers: a stream of `pyarrow.Table`s into one CSV, JSON Lines or Parquet file.

The first table fixes the columns of the file; later tables are cast to them. Where the file
lands and when it becomes visible (atomic commit) is the connector's business.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pyarrow.types as pat

from ..base import ConnectorError
from .jsonl import json_text_values, write_jsonl
from .types import FILE_TYPES

# A Parquet row group per incoming table would give a file of many tiny row groups (a filter
# keeping 1 row in 3 of 1 MiB blocks: ~1,000 rows each), slow to write and to read. Tables are
# gathered until one of these limits, so memory stays bounded whatever the row width.
PARQUET_ROW_GROUP_ROWS = 65_536
PARQUET_ROW_GROUP_BYTES = 16 << 20


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

    def write(self, table: pa.Table) -> None:
        if self._schema is None:
            self._start(table)
        else:
            table = _conform(table, self._schema, self.path.name)
        if self.file_type == "CSV":
            table = _csv_ready(table)
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
        if self._sink is None:
            return 0
        self._flush()
        self._sink.close()
        self._sink = None
        return self.path.stat().st_size

    def _flush(self) -> None:
        if self._pending:
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
            self._sink = pacsv.CSVWriter(str(self.path), _csv_ready(table.slice(0, 0)).schema)
        elif self.file_type == "PARQUET":
            self._sink = pq.ParquetWriter(str(self.path), table.schema, compression="snappy")
        else:
            self._sink = open(self.path, "wb", buffering=1 << 20)  # noqa: SIM115 - closed in close()/abort()


def open_writer(file_type: str, path: Path) -> TableFileWriter:
    return TableFileWriter(file_type, path)


def _conform(table: pa.Table, schema: pa.Schema, name: str) -> pa.Table:
    if table.schema.equals(schema):
        return table
    if table.column_names != schema.names:
        raise ConnectorError(
            f"{name}: a batch came with columns {', '.join(table.column_names)} after the file was "
            f"started with {', '.join(schema.names)}; one output file needs one set of columns."
        )
    try:
        return table.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ConnectorError(
            f"{name}: a batch does not fit the column types the file was started with ({exc})."
        ) from None


def _csv_ready(table: pa.Table) -> pa.Table:
    """CSV holds text: nested values become their JSON text, all-null columns become text."""
    for i, f in enumerate(table.schema):
        kind = f.type
        if pat.is_nested(kind) or pat.is_binary(kind) or pat.is_large_binary(kind) or pat.is_duration(kind):
            table = table.set_column(i, f.name, json_text_values(table.column(i).combine_chunks()))
        elif pat.is_dictionary(kind):
            table = table.set_column(i, f.name, table.column(i).cast(kind.value_type))
        elif pat.is_null(kind):
            table = table.set_column(i, f.name, table.column(i).cast(pa.string()))
    return table

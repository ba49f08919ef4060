"""Streaming readers: CSV, JSON Lines and Parquet byte streams to `SourceBatch`es.

Each reader holds at most a block of the file at a time (plus pyarrow's read-ahead), reports
the source bytes it consumed with every batch (the batches of one file add up to its size)
and turns a bad record into a `RecordFailure` with its line number instead of failing the run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..base import ConnectorError, RecordFailure, SourceBatch
from .jsonl_reader import JsonLinesReader

# Measured with bench/run_demo_job.py (CSV -> JSONL, 1M demo rows, 2 cores, best of 3):
#   block   0.5 MiB  1 MiB  2 MiB  4 MiB
#   run s     1.80    1.55   1.44   1.45
#   peak MB    168     190    250    340
# pyarrow's CSV reader reads some 30 blocks ahead, so memory grows with the block size while
# the speed levels off after 1 MiB.
DEFAULT_BLOCK_BYTES = 1 << 20

Opener = Callable[[], Any]  # returns a binary stream (a pyarrow NativeFile or a Python file)


def read_block_bytes() -> int:
    """Bytes per read block: env SLUICE_READ_BLOCK_BYTES, else DEFAULT_BLOCK_BYTES."""
    raw = os.environ.get("SLUICE_READ_BLOCK_BYTES", "").strip()
    if not raw:
        return DEFAULT_BLOCK_BYTES
    try:
        value = int(raw)
    except ValueError:
        raise ConnectorError(f'SLUICE_READ_BLOCK_BYTES must be a number of bytes, not "{raw}".') from None
    if value < 4096:
        raise ConnectorError(f"SLUICE_READ_BLOCK_BYTES must be at least 4096 bytes, not {value}.")
    return value


# What a blank CSV cell (`a,,b` or `a,"",b`) is. A CSV has no other way to say "no value", so by
# default it is a null, for every target type: VALIDATE_NON_NULL drops it and a database column
# of any type receives NULL. A source may ask for the text "" instead (the behaviour before).
BLANK_IS_NULL = "NULL"
BLANK_IS_EMPTY_TEXT = "EMPTY_TEXT"
BLANK_CELLS = (BLANK_IS_NULL, BLANK_IS_EMPTY_TEXT)
BLANK_CELLS_KEY = "blankCells"


def blank_cells_problem(value: Any) -> str:
    """Why `value` is not a blankCells setting ("" when it is one)."""
    if value in BLANK_CELLS:
        return ""
    return (f"must be {BLANK_IS_NULL} (a blank CSV cell is a null) or {BLANK_IS_EMPTY_TEXT} "
            f'(it is empty text), not "{value}"')


@dataclass
class FileReader:
    """One open file: its full schema (known before any batch) and its batches.

    `batches(columns)` yields only the columns of `columns` that the file has (all when None),
    in the file's order; aligning to a wanted schema is the caller's job (`align_to_schema`)."""

    name: str
    schema: pa.Schema
    _batches: Callable[[list[str] | None], Iterator[SourceBatch]] = field(repr=False)

    def batches(self, columns: list[str] | None = None) -> Iterator[SourceBatch]:
        return self._batches(columns)


def open_reader(fmt: str, opener: Opener, *, name: str, size: int, block_size: int,
                blank_cells: str = BLANK_IS_NULL) -> FileReader:
    """A reader for one file of format CSV | JSONL | PARQUET. `name` is how failures and errors
    refer to the file (e.g. "accounts.csv"); `size` its length in bytes; `blank_cells` what a
    blank CSV cell is (`blank_cells_option`)."""
    if fmt == "CSV":
        return _csv_reader(opener, name, size, block_size, blank_cells == BLANK_IS_EMPTY_TEXT)
    if fmt == "JSONL":
        return _jsonl_reader(opener, name, size, block_size)
    if fmt == "PARQUET":
        return _parquet_reader(opener, name, size, block_size)
    raise ConnectorError(f"{name}: files of type {fmt} cannot be read; use CSV, JSON Lines or Parquet.")


def align_to_schema(
    table: pa.Table, schema: pa.Schema, *, name: str
) -> tuple[pa.Table, list[str], list[str]]:
    """`table` with exactly `schema`'s columns, in order: missing columns become nulls, extra
    columns are dropped, types are cast. Returns (table, missing names, extra names)."""
    have = set(table.column_names)
    want = set(schema.names)
    missing = [f.name for f in schema if f.name not in have]
    extra = [n for n in table.column_names if n not in want]
    if not missing and not extra and table.schema.equals(schema):
        return table, [], []
    columns = []
    for f in schema:
        if f.name not in have:
            columns.append(pa.nulls(table.num_rows, f.type))
            continue
        column = table.column(f.name)
        if column.type != f.type:
            try:
                column = column.cast(f.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ConnectorError(
                    f'{name}: column "{f.name}" holds {column.type} values that cannot be read as '
                    f"{f.type} like in the first file ({_short(exc)}). Put files of one shape in one folder."
                ) from None
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema), missing, extra


def _csv_reader(opener: Opener, name: str, size: int, block_size: int, blank_is_text: bool) -> FileReader:
    if size == 0:
        return FileReader(name, pa.schema([]), lambda columns: iter(()))
    # use_threads=False: only the serial parser knows the line number of a bad row (and on two
    # cores it was as fast as the threaded one)
    read_options = pacsv.ReadOptions(block_size=block_size, use_threads=False)
    try:
        with opener() as stream:
            # a first look for the header only, in a small block; the inferred types are ignored
            names = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(block_size=min(block_size, 1 << 16), use_threads=False),
                parse_options=pacsv.ParseOptions(
                    newlines_in_values=True, invalid_row_handler=lambda row: "skip"
                ),
            ).schema.names
    except pa.ArrowInvalid as exc:
        raise _csv_error(name, exc) from None
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConnectorError(
            f"{name}: the header names {', '.join(repr(d) for d in duplicates)} more than once; "
            "give every column a distinct name."
        )
    schema = pa.schema([(n, pa.string()) for n in names])

    def batches(columns: list[str] | None) -> Iterator[SourceBatch]:
        wanted = names if columns is None else [n for n in names if n in set(columns)]
        failures: list[RecordFailure] = []

        def on_invalid_row(row: Any) -> str:
            # pyarrow counts lines from the start of the file (header = line 1); a value with a
            # line break inside quotes counts as one line
            failures.append(
                RecordFailure(
                    f"{name} line {row.number}",
                    f"expected {row.expected_columns} columns, found {row.actual_columns}",
                )
            )
            return "skip"

        with opener() as stream:
            try:
                reader = pacsv.open_csv(
                    stream,
                    read_options=read_options,
                    parse_options=pacsv.ParseOptions(
                        newlines_in_values=True, invalid_row_handler=on_invalid_row
                    ),
                    convert_options=pacsv.ConvertOptions(
                        column_types={n: pa.string() for n in names},
                        include_columns=wanted,
                        # a blank cell, quoted or not, is a null unless the source says otherwise
                        null_values=[""],
                        strings_can_be_null=not blank_is_text,
                        quoted_strings_can_be_null=not blank_is_text,
                    ),
                )
                tables = (pa.Table.from_batches([b]) for b in reader)
                yield from _account_bytes(
                    tables, stream.tell, size, failures, schema.empty_table().select(wanted)
                )
            except pa.ArrowInvalid as exc:
                raise _csv_error(name, exc) from None

    return FileReader(name, schema, batches)


def _csv_error(name: str, exc: Exception) -> ConnectorError:
    text = _short(exc)
    if "UTF8" in text or "UTF-8" in text:
        return ConnectorError(f"{name} is not UTF-8 text ({text}). Save it as UTF-8 and run again.")
    return ConnectorError(f"{name} could not be read as CSV with a header row: {text}")


def _jsonl_reader(opener: Opener, name: str, size: int, block_size: int) -> FileReader:
    if size == 0:
        return FileReader(name, pa.schema([]), lambda columns: iter(()))
    with opener() as stream:
        if bytes(stream.read(1024)).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
            raise ConnectorError(
                f"{name} holds one JSON array; Sluice reads JSON Lines (one object per line). "
                "Convert it, for example with: jq -c '.[]' in.json > out.jsonl"
            )
    with opener() as stream:
        schema = JsonLinesReader(stream, name=name, block_size=block_size).first_schema()

    def batches(columns: list[str] | None) -> Iterator[SourceBatch]:
        with opener() as stream:
            reader = JsonLinesReader(stream, name=name, block_size=block_size)
            consumed = 0
            for table, failures, warnings, position in reader.tables():
                if columns is not None:
                    table = table.select([n for n in table.column_names if n in set(columns)])
                yield SourceBatch(table, position - consumed, failures, warnings)
                consumed = position

    return FileReader(name, schema, batches)


def _parquet_reader(opener: Opener, name: str, size: int, block_size: int) -> FileReader:
    try:
        with opener() as stream:
            meta = pq.ParquetFile(stream)
            schema = meta.schema_arrow
            rows = meta.metadata.num_rows
            raw = sum(meta.metadata.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    except (pa.ArrowInvalid, OSError) as exc:
        raise ConnectorError(f"{name} could not be read as Parquet: {_short(exc)}") from None
    # rows per batch so a batch holds about one read block of uncompressed data
    batch_rows = max(1024, block_size // max(1, raw // max(1, rows)))

    def batches(columns: list[str] | None) -> Iterator[SourceBatch]:
        wanted = None if columns is None else [n for n in schema.names if n in set(columns)]
        with opener() as stream:
            parquet = pq.ParquetFile(stream)
            done_rows = 0
            consumed = 0
            for batch in parquet.iter_batches(batch_size=batch_rows, columns=wanted, use_threads=True):
                done_rows += batch.num_rows
                # Parquet is compressed column by column: share the file's bytes out by rows
                position = size if done_rows >= rows else size * done_rows // max(1, rows)
                yield SourceBatch(pa.Table.from_batches([batch]), position - consumed)
                consumed = position
            if consumed < size:
                yield SourceBatch(
                    schema.empty_table() if wanted is None else schema.empty_table().select(wanted),
                    size - consumed,
                )

    return FileReader(name, schema, batches)


def _account_bytes(
    tables: Iterator[pa.Table],
    tell: Callable[[], int],
    size: int,
    failures: list[RecordFailure],
    empty: pa.Table,
) -> Iterator[SourceBatch]:
    """SourceBatches whose bytes_read add up to `size`.

    pyarrow reads ahead of the batch it returns, so the stream position after a batch counts
    bytes already consumed from the file but not yet parsed; the last batch gets what is left.
    One batch is held back so the failures found while parsing belong to the batch they were
    found in, and trailing bad rows reach the last batch."""
    consumed = 0
    pending: SourceBatch | None = None
    for table in tables:
        if pending is not None:
            yield pending
        position = min(max(tell(), consumed), size)
        pending = SourceBatch(table, position - consumed, failures[:])
        failures.clear()
        consumed = position
    if pending is None:
        pending = SourceBatch(empty, 0)
    pending.bytes_read += size - consumed
    pending.failures.extend(failures)
    failures.clear()
    yield pending


def _short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__

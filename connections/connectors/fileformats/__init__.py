"""File formats shared by file-based connectors (local files today, object stores later).

Readers turn a byte stream into `SourceBatch`es with exact byte accounting and per-record
failures; writers turn `pyarrow.Table`s into CSV, JSON Lines or Parquet files. Nothing here
knows where the bytes live.
"""

from __future__ import annotations

from .jsonl import encode_jsonl, json_text_values
from .readers import (
    BLANK_CELLS_KEY,
    BLANK_IS_EMPTY_TEXT,
    BLANK_IS_NULL,
    FileReader,
    align_to_schema,
    blank_cells_problem,
    open_reader,
    read_block_bytes,
)
from .types import FILE_TYPES, SUPPORTED_SUFFIXES, arrow_to_data_type, file_format
from .writers import TableFileWriter, is_out_of_space, open_writer, writing_to

__all__ = [
    "BLANK_CELLS_KEY",
    "BLANK_IS_EMPTY_TEXT",
    "BLANK_IS_NULL",
    "FILE_TYPES",
    "SUPPORTED_SUFFIXES",
    "FileReader",
    "TableFileWriter",
    "align_to_schema",
    "arrow_to_data_type",
    "blank_cells_problem",
    "encode_jsonl",
    "file_format",
    "is_out_of_space",
    "json_text_values",
    "open_reader",
    "open_writer",
    "read_block_bytes",
    "writing_to",
]

"""File suffixes, output file types and the mapping from Arrow types to Sluice data types."""

from __future__ import annotations

from pathlib import PurePath

import pyarrow as pa
import pyarrow.types as pat

# suffix -> reader format
SUPPORTED_SUFFIXES: dict[str, str] = {
    ".csv": "CSV",
    ".jsonl": "JSONL",
    ".ndjson": "JSONL",
    ".json": "JSONL",  # AppFlow's S3 "JSON" input is one object per line as well
    ".parquet": "PARQUET",
}

# destination fileType -> file suffix
FILE_TYPES: dict[str, str] = {"CSV": "csv", "JSONL": "jsonl", "PARQUET": "parquet"}


def file_format(path: str | PurePath) -> str | None:
    """The reader format for a file name, or None when Sluice does not read that kind of file."""
    return SUPPORTED_SUFFIXES.get(PurePath(path).suffix.lower())


def arrow_to_data_type(data_type: pa.DataType) -> str:
    """The Sluice data type (as shown to people and used by tasks) for an Arrow type."""
    if pat.is_dictionary(data_type):
        return arrow_to_data_type(data_type.value_type)
    if pat.is_boolean(data_type):
        return "boolean"
    if pat.is_integer(data_type):
        return "integer"
    if pat.is_floating(data_type) or pat.is_decimal(data_type):
        return "double"
    if pat.is_date(data_type):
        return "date"
    if pat.is_timestamp(data_type):
        return "datetime"
    if pat.is_time(data_type):
        return "time"
    if pat.is_list(data_type) or pat.is_large_list(data_type) or pat.is_fixed_size_list(data_type):
        return "array"
    if pat.is_struct(data_type) or pat.is_map(data_type):
        return "object"
    if pat.is_binary(data_type) or pat.is_large_binary(data_type) or pat.is_fixed_size_binary(data_type):
        return "binary"
    return "string"

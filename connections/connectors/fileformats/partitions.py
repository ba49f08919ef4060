"""Partitioning by record fields (AppFlow's Partition task): hive-style `field=value/` folders.

A destination that declares `partitions_output` receives `options["partitionKeys"]` and splits
each batch by the values of those fields, one folder level per key, in the order given:
`Country=NO/City=Oslo/part-00000.jsonl`. The partition fields stay in the files too, so a reader
that ignores folder names loses nothing.

Folder names are built so that no value can leave the run's folder or hide itself:

- null -> `__null__`, empty text -> `__empty__`;
- `%`, `/`, `\\`, `=`, control characters and `"#'*:<>?[]^{|}~` are percent-encoded as UTF-8
  (`a/b` -> `a%2Fb`), as Hive does; other characters, accents included, stay as they are;
- a leading `.` or `_` is encoded too (`..` -> `%2E.`, `_x` -> `%5Fx`), so a value never makes
  `.` / `..`, a hidden folder, or one that looks like `__null__` or a `_manifest.json`;
- a name longer than 120 UTF-8 bytes keeps its first 80 characters, then `~` and 16 hex digits
  of the SHA-256 of the whole value (distinct values keep distinct folders).
Field names are encoded the same way. Values are written as text: numbers as digits, booleans
`true` / `false`, timestamps as ISO 8601 (`2026-01-31T09:30:00Z`), dates `2026-01-31`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.types as pat

from ..base import ConnectorError
from .jsonl import json_text_values

NULL_VALUE = "__null__"
EMPTY_VALUE = "__empty__"
# Distinct partitions one run may write: each holds an open file until the run ends.
MAX_PARTITIONS = 1_000
_ESCAPED = frozenset('%/\\="#\'*:<>?[]^{|}~\x7f')
_MAX_NAME_BYTES = 120
_KEPT_CHARS = 80


def encode_part(value: str | None) -> str:
    """One folder-name part for a value (or a field name), safe in a path and an S3 key."""
    if value is None:
        return NULL_VALUE
    if value == "":
        return EMPTY_VALUE
    chars = [_escape(c) if c in _ESCAPED or ord(c) < 0x20 else c for c in value]
    if chars[0] in (".", "_"):
        chars[0] = _escape(chars[0])
    name = "".join(chars)
    if len(name.encode()) > _MAX_NAME_BYTES:
        digest = hashlib.sha256(value.encode()).hexdigest()[:16]
        name = "".join(chars[:_KEPT_CHARS]) + "~" + digest
    return name


def _escape(char: str) -> str:
    return "".join(f"%{b:02X}" for b in char.encode())


@dataclass(frozen=True)
class Partition:
    folder: str  # "Country=NO/City=Oslo/"
    values: Mapping[str, str | None]  # the values as text, null as None (for a manifest)


class Partitioner:
    """Splits tables by the values of `keys`; remembers the partitions seen in this run."""

    def __init__(self, keys: Sequence[str]):
        self.keys = list(keys)
        self.seen: dict[str, Partition] = {}

    def split(self, table: pa.Table) -> Iterator[tuple[Partition, pa.Table]]:
        """(partition, its rows) for every partition present in `table`, rows in their order."""
        missing = [k for k in self.keys if k not in table.column_names]
        if missing:
            raise ConnectorError(
                f"Partition task: the records written have no field {', '.join(missing)} "
                f"(they have {', '.join(table.column_names) or 'none'}). Partition by fields the "
                "flow writes (after any renaming by Map tasks)."
            )
        if table.num_rows == 0:
            return
        texts = [_texts(table.column(k)) for k in self.keys]
        levels = []  # per key: its "field=value/" for each row, each distinct value encoded once
        for key, values in zip(self.keys, texts, strict=True):
            field, names = encode_part(key), {}
            levels.append([names.get(v) or names.setdefault(v, f"{field}={encode_part(v)}/") for v in values])
        folders = ["".join(parts) for parts in zip(*levels, strict=True)]
        codes: dict[str, int] = {}
        index = np.fromiter((codes.setdefault(f, len(codes)) for f in folders), np.int64, len(folders))
        order = np.argsort(index, kind="stable")  # rows of one partition together, in their order
        bounds = np.flatnonzero(np.diff(index[order])) + 1
        for rows in np.split(order, bounds):
            at = int(rows[0])  # the partition's first row
            folder = folders[at]
            if folder not in self.seen:
                if len(self.seen) >= MAX_PARTITIONS:
                    raise ConnectorError(
                        f"Partition task: partitioning by {', '.join(self.keys)} makes more than "
                        f"{MAX_PARTITIONS:,} folders in one run. Partition by fields with fewer "
                        "distinct values (a date rather than a timestamp, a country rather than an id)."
                    )
                values = {k: t[at] for k, t in zip(self.keys, texts, strict=True)}
                self.seen[folder] = Partition(folder, values)
            yield self.seen[folder], table.take(pa.array(rows))


def _texts(column: pa.ChunkedArray) -> list[Any]:
    """The column's values as text (None for null), as they name folders."""
    kind = column.type
    if pat.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if pat.is_string(kind) or pat.is_large_string(kind):
        return column.to_pylist()
    if pat.is_timestamp(kind):
        zone = "Z" if kind.tz else ""
        if kind.tz:
            column = column.cast(pa.timestamp(kind.unit, "UTC"))
        return [None if v is None else v.replace(tzinfo=None).isoformat() + zone for v in column.to_pylist()]
    if pat.is_boolean(kind) or pat.is_integer(kind) or pat.is_floating(kind) or pat.is_date(kind) \
            or pat.is_decimal(kind):
        return column.cast(pa.string()).to_pylist()
    return json_text_values(column.combine_chunks()).to_pylist()

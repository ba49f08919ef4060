"""Streaming JSON Lines reader with per-line failures.

Blocks of whole lines go to pyarrow's JSON parser (fast). A block that pyarrow refuses is parsed
again line by line so that only the bad lines are lost, each reported with its line number.
The first block that holds a good record decides the columns and their types; a column that is
null throughout that block is read as text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.json as pajson

from ..base import RecordFailure

_TYPE_CHANGE = re.compile(r"Column\((?P<path>[^)]*)\) changed from (?P<was>\w+) to (?P<now>\w+)")


class JsonLinesReader:
    def __init__(self, stream: Any, *, name: str, block_size: int):
        self.stream = stream
        self.name = name
        self.block_size = block_size
        self.schema: pa.Schema | None = None
        self._warned_extra = False

    def first_schema(self) -> pa.Schema:
        """The columns decided by the first block with a good record (empty if there is none)."""
        for _ in self.tables():
            if self.schema is not None:
                break
        return self.schema if self.schema is not None else pa.schema([])

    def tables(self) -> Iterator[tuple[pa.Table, list[RecordFailure], list[str], int]]:
        """(table, failures, warnings, bytes consumed so far) per block of whole lines."""
        carry = b""
        position = 0
        next_line = 1
        while True:
            data = self.stream.read(self.block_size)
            if not data:
                break
            data = carry + bytes(data)
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data  # one line longer than a block: keep reading until it ends
                continue
            block, carry = data[: cut + 1], data[cut + 1 :]
            position += len(block)
            yield (*self._parse(block, next_line), position)
            next_line += block.count(b"\n")
        if carry:
            position += len(carry)
            yield (*self._parse(carry + b"\n", next_line), position)

    def _parse(self, block: bytes, first_line: int) -> tuple[pa.Table, list[RecordFailure], list[str]]:
        try:
            return self._arrow(block, unexpected="error"), [], []
        except pa.ArrowInvalid:
            return self._line_by_line(block, first_line)

    def _arrow(self, block: bytes, *, unexpected: str) -> pa.Table:
        options = pajson.ParseOptions(
            explicit_schema=self.schema,
            unexpected_field_behavior=unexpected if self.schema is not None else "infer",
        )
        table = pajson.read_json(
            pa.BufferReader(block),
            read_options=pajson.ReadOptions(use_threads=False, block_size=len(block) + 1),
            parse_options=options,
        )
        if self.schema is None and table.num_rows:
            self.schema = pa.schema(
                [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
            )
            table = table.cast(self.schema)
        return table

    def _line_by_line(self, block: bytes, first_line: int) -> tuple[pa.Table, list[RecordFailure], list[str]]:
        failures: list[RecordFailure] = []
        good: list[tuple[int, bytes, dict]] = []
        keys: set[str] = set()
        for offset, raw in enumerate(block.split(b"\n")):
            line = raw.strip()
            if not line:
                continue
            where = f"{self.name} line {first_line + offset}"
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                failures.append(RecordFailure(where, f"is not valid JSON ({exc})"))
                continue
            if not isinstance(value, dict):
                failures.append(RecordFailure(where, f"is a JSON {_json_kind(value)}, not an object"))
                continue
            keys.update(value)
            good.append((first_line + offset, line, value))
        warnings = self._extra_field_warning(keys)
        if not good:
            return (self.schema.empty_table() if self.schema else pa.table({})), failures, warnings
        try:
            joined = b"\n".join(line for _, line, _ in good) + b"\n"
            return self._arrow(joined, unexpected="ignore"), failures, warnings
        except pa.ArrowInvalid:
            if self.schema is None:
                self.schema = _decide_schema([line for _, line, _ in good])
        tables = []
        for number, line, value in good:
            try:
                tables.append(self._arrow(line + b"\n", unexpected="ignore"))
            except pa.ArrowInvalid as exc:
                failures.append(
                    RecordFailure(f"{self.name} line {number}", _mismatch(value, self.schema) or _reason(exc))
                )
        failures.sort(key=lambda f: int(f.where.rsplit(" ", 1)[1]))
        return pa.concat_tables(tables) if tables else self.schema.empty_table(), failures, warnings

    def _extra_field_warning(self, keys: set[str]) -> list[str]:
        if self.schema is None or self._warned_extra:
            return []
        extra = sorted(keys - set(self.schema.names))
        if not extra:
            return []
        self._warned_extra = True
        return [
            f"{self.name}: fields {', '.join(extra)} first appear after the lines that decided the "
            "columns of this file; they were not read."
        ]


def _decide_schema(lines: list[bytes]) -> pa.Schema:
    """Columns for lines that disagree on a type: numbers widen (integer -> double), otherwise
    the first line where a field is not null decides; null throughout means text."""
    types: dict[str, list[pa.DataType]] = {}
    for line in lines:
        for f in pajson.read_json(pa.BufferReader(line + b"\n")).schema:
            types.setdefault(f.name, []).append(f.type)
    fields = []
    for name, seen in types.items():
        decided: pa.DataType | None = None
        for kind in seen:
            if pa.types.is_null(kind):
                continue
            if decided is None:
                decided = kind
                continue
            # a line of another kind keeps the type decided so far, and fails on its own
            decided = _widen(decided, kind) or decided
        fields.append(pa.field(name, decided if decided is not None else pa.string()))
    return pa.schema(fields)


def _widen(a: pa.DataType, b: pa.DataType) -> pa.DataType | None:
    """The type holding values of both (integer and double -> double), or None."""
    try:
        both = pa.unify_schemas([pa.schema([("v", a)]), pa.schema([("v", b)])], promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    return both.field("v").type


def _mismatch(value: dict, schema: pa.Schema) -> str | None:
    """Which field of a parsed line does not fit the column types, in words."""
    for f in schema:
        item = value.get(f.name)
        if item is None:
            continue
        kind = f.type
        fits = (
            (pa.types.is_string(kind) and isinstance(item, str))
            or (pa.types.is_boolean(kind) and isinstance(item, bool))
            or (
                pa.types.is_integer(kind)
                and isinstance(item, int)
                and not isinstance(item, bool)
                and -(2**63) <= item < 2**63
            )
            or (pa.types.is_floating(kind) and isinstance(item, int | float) and not isinstance(item, bool))
            or (pa.types.is_timestamp(kind) and isinstance(item, str))
            or (pa.types.is_struct(kind) and isinstance(item, dict))
            or (pa.types.is_list(kind) and isinstance(item, list))
        )
        if not fits:
            shown = orjson.dumps(item).decode()
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            return (
                f'field "{f.name}" holds {shown}, which does not fit the type {kind} '
                "decided by the first lines of the file"
            )
    return None


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    found = _TYPE_CHANGE.search(text)
    if found:
        field = found["path"].lstrip("/").replace("/", ".")
        return (
            f'field "{field}" holds a {found["now"]} here but a {found["was"]} in the first lines of the file'
        )
    return text.removeprefix("JSON parse error: ")


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"

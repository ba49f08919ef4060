"""The events object: its documented fields (the Export API's response schema,
https://amplitude.com/docs/apis/analytics/export, "Response schema") and reading one hour's
archive into Arrow batches.

The archive is a zip of gzipped JSON-lines files (several per hour when there is much data); it is
read member by member, line by line, from the file it was streamed to, so memory holds one batch,
never the archive. Amplitude's times ("2026-12-01 05:12:33.123456", UTC without saying so) become
ISO 8601 text with a Z; the property maps (event_properties, user_properties, group_properties,
groups, data, ...) are kept as JSON text, not flattened: their keys differ from event to event,
and a flow's columns must not change with the data."""

from __future__ import annotations

import gzip
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from connections.connectors.base import ConnectorError
from connections.connectors.saas import TEXT_TIME_ARROW_TYPES

S, N, D, B, T, J = "string", "integer", "double", "boolean", "datetime", "json"
ENTITY = "events"
PRIMARY_KEY = "uuid"
INCREMENTAL_FIELD = "server_upload_time"  # the Export API's start / end select by upload hour
LINE_CHUNK_BYTES = 1 << 20
# A batch ends at this much JSON as well as at its row count: events vary from a few hundred bytes to
# many kilobytes of properties, and a batch's memory follows its bytes, not its rows.
BATCH_BYTES = 4 << 20

FIELDS: tuple[tuple[str, str], ...] = (
    ("uuid", S), ("$insert_id", S), ("event_id", N), ("event_type", S), ("amplitude_event_type", S),
    ("event_time", T), ("server_upload_time", T), ("server_received_time", T), ("client_event_time", T),
    ("client_upload_time", T), ("processed_time", T), ("user_creation_time", T),
    ("user_id", S), ("device_id", S), ("amplitude_id", N), ("session_id", N), ("app", N),
    ("event_properties", J), ("user_properties", J), ("group_properties", J), ("groups", J), ("data", J),
    ("amplitude_attribution_ids", J), ("platform", S), ("os_name", S), ("os_version", S),
    ("device_brand", S), ("device_manufacturer", S), ("device_model", S), ("device_family", S),
    ("device_type", S), ("device_carrier", S), ("country", S), ("region", S), ("city", S), ("dma", S),
    ("language", S), ("location_lat", D), ("location_lng", D), ("ip_address", S), ("library", S),
    ("version_name", S), ("start_version", S), ("paying", B), ("is_attribution_event", B), ("adid", S),
    ("idfa", S), ("sample_rate", D), ("$schema", N),
)
TYPES = {name: (S if kind == J else kind) for name, kind in FIELDS}


def schema(names: list[str]) -> pa.Schema:
    return pa.schema([(n, TEXT_TIME_ARROW_TYPES[TYPES[n]]) for n in names])


def _time(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace(" ", "T", 1)
    return text if text.endswith("Z") or "+" in text[10:] else text + "Z"


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _integer(value: Any) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return None


def _double(value: Any) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _boolean(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes")


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return _json(value) if isinstance(value, (dict, list)) else str(value)


Convert = Callable[[Any], Any]
CONVERT: dict[str, Convert] = {S: _text, N: _integer, D: _double, B: _boolean, T: _time, J: _json}
# Amplitude's "2026-12-01 05:12:33.123456" -> "2026-12-01T05:12:33.123456Z", a whole column at once
_AMPLITUDE_TIME = r"^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)$"


def column(values: tuple | list, kind: str) -> pa.Array:
    """One column of a batch from the events' raw values. The values the Export API documents take
    Arrow's fast path; anything else (a number sent as text, an object where text was expected) is
    converted value by value."""
    arrow = TEXT_TIME_ARROW_TYPES[S if kind == J else kind]
    if kind == J:
        return pa.array([None if v is None else _json(v) for v in values], arrow)
    try:
        array = pa.array(values, arrow)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([CONVERT[kind](v) for v in values], arrow)
    if kind == T:
        array = pc.replace_substring_regex(array, _AMPLITUDE_TIME, r"\1T\2Z")
        if pc.all(pc.ends_with(array, "Z")).as_py() is False:
            return pa.array([_time(v) for v in values], arrow)  # a time in another form
    return array


def table(rows: list[tuple], names: list[str]) -> pa.Table:
    kinds = dict(FIELDS)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pa.table([column(values, kinds[name]) for name, values in zip(names, columns, strict=True)],
                    schema=schema(names))


def read_archive(archive: IO[bytes], names: list[str], batch_rows: int, what: str,
                 batch_bytes: int | None = None) -> Iterator[tuple[pa.Table, int]]:
    """(events, bytes of JSON read) per batch of one export archive. A file that is not a zip, a
    member that is not gzip, or a line that is not a JSON object fails the run naming the hour, the
    file and the line: a half-read hour must not be published."""
    try:
        zipped = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise ConnectorError(f"Amplitude's export of {what} is not a zip archive: the answer was damaged or "
                             "is not from the Export API. Nothing was written; run the flow again.") from None
    batch_bytes = batch_bytes or BATCH_BYTES
    rows: list[tuple] = []
    size = 0
    with zipped:
        for member in sorted(m for m in zipped.namelist() if not m.endswith("/")):
            where = f"{what}, file {member}"
            try:
                with zipped.open(member) as packed, gzip.open(packed) as unpacked:
                    for number, line in enumerate(_lines(unpacked), 1):
                        if not line.strip():
                            continue
                        size += len(line)
                        event = _event(line, where, number)
                        rows.append(tuple(map(event.get, names)))
                        if len(rows) >= batch_rows or size >= batch_bytes:
                            yield table(rows, names), size
                            rows, size = [], 0
            except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as exc:
                raise ConnectorError(f"Amplitude's export of {where} could not be unpacked ({exc}). Nothing "
                                     "was written; run the flow again.") from None
    if rows:
        yield table(rows, names), size


def _lines(stream: IO[bytes]) -> Iterator[bytes]:
    """The lines of a stream read a megabyte at a time (faster than line by line from gzip)."""
    rest = b""
    for chunk in iter(lambda: stream.read(LINE_CHUNK_BYTES), b""):
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        yield from lines
    if rest:
        yield rest


def _event(line: bytes, where: str, number: int) -> dict[str, Any]:
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        event = None
    if not isinstance(event, dict):
        raise ConnectorError(f"Amplitude's export of {where}, line {number} is not a JSON event "
                             f"({line[:60].decode('utf-8', 'replace')!r}). Nothing was written.")
    return event

"""Values and their types: what a task's DATA_TYPE / SOURCE_DATA_TYPE / DESTINATION_DATA_TYPE
means, and turning a column (or one property value) into that type.

Six types: string, integer, double, boolean, date, datetime. The rules (docs/engine.md says them
to users, and the reference implementation in the tests repeats them row by row):

- integer: text `[+-]?digits` within 64 bits, or a whole double; double: decimal text with an
  optional exponent (no inf / nan, no spaces), or any integer; a result beyond the double range
  is refused.
- boolean: text "true" / "false" in any case.
- datetime: ISO 8601 text `YYYY-MM-DD`, `YYYY-MM-DD[T ]hh:mm[:ss[.f{1,6}]]` with an optional `Z`
  or `+hh:mm` zone (no zone means UTC), or epoch milliseconds (a whole number, as AppFlow writes
  them), inside years 0001-9999. Kept as microseconds since the epoch, UTC.
- date: anything a datetime accepts, floored to its UTC day.
- Empty text counts as null for every type but string (CSV has no other way to say "no value").

A value that does not convert is *bad*: `convert` reports it in a mask, never raises, so the
stage using it can make that record a failure that names the field and the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

TYPES = ("string", "integer", "double", "boolean", "date", "datetime")
# Names other systems (Salesforce, AppFlow's console) give the same types.
_ALIASES = {
    **{name: "string" for name in ("string", "text", "id", "phone", "url", "email", "textarea",
                                     "picklist", "multipicklist", "combobox", "reference", "varchar",
                                     "char", "guid", "encryptedstring")},
    **{name: "integer" for name in ("integer", "int", "long", "bigint", "smallint", "short", "byte")},
    **{name: "double" for name in ("double", "float", "number", "decimal", "currency", "percent",
                                     "numeric", "real")},
    **{name: "boolean" for name in ("boolean", "bool")},
    "date": "date",
    **{name: "datetime" for name in ("datetime", "timestamp", "date-time", "glide_date_time")},
}

TIMESTAMP = pa.timestamp("us", "UTC")
MIN_EPOCH_MS = -62_135_596_800_000  # 0001-01-01T00:00:00Z
MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

INTEGER_TEXT = r"[+-]?[0-9]+"
DOUBLE_TEXT = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
DATE_TEXT = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
DATETIME_TEXT = (
    DATE_TEXT + r"[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?"
)
_ZONE = r"(?:Z|[+-][0-9]{2}:[0-9]{2})$"


def normalize_type(name: Any) -> str | None:
    """"Double", "currency", "DateTime" -> one of TYPES; None when Sluice does not know it."""
    return _ALIASES.get(str(name).strip().lower()) if name is not None else None


def type_of(arrow_type: pa.DataType) -> str:
    """The Sluice type a column already has (text for anything without a better match)."""
    if pat.is_boolean(arrow_type):
        return "boolean"
    if pat.is_integer(arrow_type):
        return "integer"
    if pat.is_floating(arrow_type) or pat.is_decimal(arrow_type):
        return "double"
    if pat.is_timestamp(arrow_type):
        return "datetime"
    if pat.is_date(arrow_type):
        return "date"
    return "string"


@dataclass(frozen=True)
class Converted:
    """`values` in the wanted type (null where the input was null or bad); `bad` marks the values
    that did not convert (None: none did not)."""

    values: pa.Array
    bad: pa.Array | None


def convert(column: pa.Array | pa.ChunkedArray, kind: str) -> Converted:
    """`column` as `kind` (one of TYPES). Never raises on a value: bad ones are masked."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pat.is_dictionary(array.type):
        array = array.dictionary_decode()
    have = type_of(array.type)
    if kind == "string":
        return Converted(to_text(array), None)
    if pat.is_null(array.type):
        return Converted(pa.nulls(len(array), _ARROW[kind]), None)
    if have == "string":
        return _from_text(array.cast(pa.string()), kind)
    return _from_typed(array, have, kind)


def to_text(array: pa.Array) -> pa.Array:
    """Every value as text: numbers as Arrow writes them, booleans true/false, datetimes ISO UTC."""
    if pat.is_string(array.type):
        return array
    if pat.is_large_string(array.type) or pat.is_null(array.type):
        return array.cast(pa.string())
    if pat.is_timestamp(array.type):
        utc = array.cast(pa.timestamp(array.type.unit, "UTC")) if array.type.tz != "UTC" else array
        return pc.binary_join_element_wise(pc.strftime(utc, format="%Y-%m-%dT%H:%M:%S"), "Z", "")
    try:
        return array.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # nested values and the like: their JSON text
        return pa.array([None if v is None else orjson.dumps(v, default=str).decode()
                         for v in array.to_pylist()], pa.string())


def parse_value(text: str, kind: str) -> Any:
    """One property value (a filter's VALUE, a bound) as a Python value of `kind`, or ValueError
    with the reason in words. Datetimes come back as epoch microseconds."""
    converted = convert(pa.array([text], pa.string()), kind)
    if converted.bad is not None and converted.bad[0].as_py():
        raise ValueError(f'"{text}" is not {describe_type(kind)}')
    value = converted.values[0]
    if not value.is_valid:
        raise ValueError(f'"{text}" is not {describe_type(kind)}')
    if kind == "datetime":
        return value.cast(pa.int64()).as_py()
    return value.as_py()


def describe_type(kind: str) -> str:
    return {
        "string": "text",
        "integer": "an integer",
        "double": "a number",
        "boolean": "true or false",
        "date": "a date (YYYY-MM-DD or epoch milliseconds)",
        "datetime": "a datetime (ISO 8601 or epoch milliseconds)",
    }[kind]


def show(value: Any, limit: int = 80) -> str:
    """A value as it appears in a record failure: JSON, shortened."""
    if isinstance(value, pa.Scalar):
        value = value.as_py()
    text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= limit else text[: limit - 3] + "..."


_ARROW = {
    "integer": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": TIMESTAMP,
    "string": pa.string(),
}


def _or(a: pa.Array | None, b: pa.Array | None) -> pa.Array | None:
    if a is None:
        return b
    if b is None:
        return a
    return pc.or_(a, b)


def _any(mask: pa.Array | None) -> bool:
    return mask is not None and bool(pc.any(mask).as_py())


def _from_text(text: pa.Array, kind: str) -> Converted:
    if pc.any(pc.equal(text, "")).as_py():
        text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    if kind == "double":
        try:  # the fast path: clean numbers (Arrow also takes inf / nan, refused below)
            values = text.cast(pa.float64())
            if not _any(pc.invert(pc.is_finite(values))):
                return Converted(values, None)
        except pa.ArrowInvalid:
            pass
        return _checked(text, DOUBLE_TEXT, kind, prepare=lambda t: t)
    if kind == "integer":
        try:
            return Converted(text.cast(pa.int64()), None)
        except pa.ArrowInvalid:
            return _checked(
                text, INTEGER_TEXT, kind, prepare=lambda t: pc.replace_substring_regex(t, r"^\+", "")
            )
    if kind == "boolean":
        lower = pc.utf8_lower(text)
        good = pc.or_(pc.equal(lower, "true"), pc.equal(lower, "false"))
        bad = pc.fill_null(pc.invert(good), False)  # a null input stays null, not bad
        return Converted(pc.if_else(good, pc.equal(lower, "true"), pa.scalar(None, pa.bool_())),
                         bad if _any(bad) else None)
    # datetime and date: epoch milliseconds or ISO text
    epoch = pc.match_substring_regex(text, r"^-?[0-9]+$")
    iso = pc.or_(pc.match_substring_regex(text, "^" + DATE_TEXT + "$"),
                 pc.match_substring_regex(text, "^" + DATETIME_TEXT + "$"))
    micros = _epoch_ms_micros(pc.if_else(epoch, text, pa.scalar(None, pa.string())))
    bad = _or(pc.fill_null(pc.invert(pc.or_(epoch, iso)), False), micros.bad)
    # Arrow wants a zone for a UTC timestamp; text without one is UTC
    iso_text = pc.if_else(iso, text, pa.scalar(None, pa.string()))
    dated = pc.match_substring_regex(iso_text, "^" + DATE_TEXT + "$")
    iso_text = pc.if_else(dated, pc.binary_join_element_wise(iso_text, "T00:00:00", ""), iso_text)
    zoned = pc.match_substring_regex(iso_text, _ZONE)
    iso_text = pc.if_else(zoned, iso_text, pc.binary_join_element_wise(iso_text, "Z", ""))
    parsed = _cast_each(iso_text, TIMESTAMP)
    bad = _or(bad, parsed.bad)
    values = pc.if_else(epoch, micros.values, parsed.values)
    values, range_bad = _in_range(values)
    bad = _or(bad, range_bad)
    if kind == "date":
        values = values.cast(pa.date32())
    return Converted(values, bad if _any(bad) else None)


def _checked(text: pa.Array, pattern: str, kind: str, prepare) -> Converted:
    """Cast only the values that match `pattern`; the rest, and those Arrow refuses, are bad."""
    good = pc.match_substring_regex(text, f"^{pattern}$")
    bad = pc.fill_null(pc.invert(good), False)
    candidates = prepare(pc.if_else(good, text, pa.scalar(None, pa.string())))
    cast = _cast_each(candidates, _ARROW[kind])
    bad = _or(bad, cast.bad)
    values = cast.values
    if kind == "double":
        infinite = pc.fill_null(pc.invert(pc.is_finite(values)), False)
        if _any(infinite):
            bad = _or(bad, infinite)
            values = pc.if_else(infinite, pa.scalar(None, pa.float64()), values)
    return Converted(values, bad if _any(bad) else None)


def _cast_each(text: pa.Array, target: pa.DataType) -> Converted:
    """Cast in one go; when Arrow refuses some value (a 30th of February, an integer beyond 64
    bits), cast value by value so only those are bad. The slow path runs only on such data."""
    try:
        return Converted(text.cast(target), None)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    values: list[Any] = []
    bad: list[bool] = []
    for item in text:
        if not item.is_valid:
            values.append(None)
            bad.append(False)
            continue
        try:
            values.append(pa.array([item.as_py()], pa.string()).cast(target)[0].as_py())
            bad.append(False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values.append(None)
            bad.append(True)
    return Converted(pa.array(values, target), pa.array(bad, pa.bool_()))


def _epoch_ms_micros(text: pa.Array) -> Converted:
    cast = _cast_each(text, pa.int64())
    return _epoch_from_ms(cast.values, cast.bad)


def _epoch_from_ms(ms: pa.Array, bad: pa.Array | None) -> Converted:
    outside = pc.fill_null(pc.or_(pc.less(ms, MIN_EPOCH_MS), pc.greater(ms, MAX_EPOCH_MS)), False)
    if _any(outside):
        ms = pc.if_else(outside, pa.scalar(None, pa.int64()), ms)
        bad = _or(bad, outside)
    return Converted(pc.multiply(ms, 1000).cast(pa.int64()).cast(TIMESTAMP), bad)


def _in_range(values: pa.Array) -> tuple[pa.Array, pa.Array | None]:
    """Datetimes outside years 0001-9999 (a zone can push 0001-01-01T00:00+01:00 out) are bad."""
    micros = values.cast(pa.int64())
    outside = pc.fill_null(pc.or_(pc.less(micros, MIN_EPOCH_MS * 1000),
                                  pc.greater(micros, MAX_EPOCH_MS * 1000 + 999)), False)
    if not _any(outside):
        return values, None
    return pc.if_else(outside, pa.scalar(None, TIMESTAMP), values), outside


def _from_typed(array: pa.Array, have: str, kind: str) -> Converted:
    n = len(array)
    if have == kind and kind != "datetime":
        return Converted(array.cast(_ARROW[kind]), None)
    if kind == "double" and have in ("integer", "double"):
        # integers beyond 2**53 round to the nearest double (Arrow's safe cast would refuse them)
        return Converted(array.cast(pa.float64(), safe=False), None)
    if kind == "integer" and have == "double":
        whole = pc.and_(pc.is_finite(array), pc.equal(pc.floor(array), array))
        fits = pc.and_(pc.greater_equal(array, float(INT64_MIN)), pc.less(array, float(2**63)))
        good = pc.and_(whole, fits)
        bad = pc.fill_null(pc.invert(good), False)
        values = pc.if_else(good, array, pa.scalar(None, pa.float64())).cast(pa.int64())
        return Converted(values, bad if _any(bad) else None)
    if kind in ("datetime", "date"):
        if have == "datetime":
            unit_utc = array if array.type.tz else pc.assume_timezone(array, "UTC")
            # nanoseconds round down to microseconds (a safe cast would refuse them)
            values, bad = _in_range(unit_utc.cast(TIMESTAMP, safe=False))
        elif have == "date":
            values, bad = array.cast(TIMESTAMP), None
        elif have == "integer":
            converted = _epoch_from_ms(array.cast(pa.int64()), None)
            values, bad = converted.values, converted.bad
        else:
            return _all_bad(array, kind)
        return Converted(values.cast(pa.date32()) if kind == "date" else values, bad if _any(bad) else None)
    if n == 0:
        return Converted(pa.array([], _ARROW[kind]), None)
    return _all_bad(array, kind)


def _all_bad(array: pa.Array, kind: str) -> Converted:
    """A type that never converts (a boolean as a date): every present value is bad."""
    return Converted(pa.nulls(len(array), _ARROW[kind]), pc.is_valid(array))

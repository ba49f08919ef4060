"""SAP OData values as Sluice types, exactly.

V2 JSON writes Edm.DateTime as `/Date(<ms since 1970 UTC>)/` and Edm.DateTimeOffset as
`/Date(<ms>+<offset minutes>)/` (the milliseconds are UTC; the offset only says where the writer
was), Edm.Decimal and Edm.Int64 as text so no digit is lost; V4 writes ISO 8601. Dates and times
are kept as ISO text in UTC (as the other text-time SaaS sources do); decimals become Arrow
decimals with the $metadata precision and scale."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from .edmx import Property

_DATE = re.compile(r"^/Date\((-?\d+)(?:([+-])(\d{1,4}))?\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

SLUICE_TYPES = {
    "Edm.Int16": "integer", "Edm.Int32": "integer", "Edm.Int64": "integer", "Edm.Byte": "integer",
    "Edm.SByte": "integer", "Edm.Double": "double", "Edm.Single": "double", "Edm.Decimal": "double",
    "Edm.Boolean": "boolean", "Edm.DateTime": "datetime", "Edm.DateTimeOffset": "datetime",
    "Edm.Date": "date",
}
DECIMAL_DEFAULT = (38, 10)  # where $metadata gives no Precision/Scale


def sluice_type(prop: Property) -> str:
    return SLUICE_TYPES.get(prop.edm_type, "string")


def arrow_type(prop: Property) -> pa.DataType:
    if prop.edm_type == "Edm.Decimal":
        precision = min(prop.precision or DECIMAL_DEFAULT[0], 38)
        scale = prop.scale if prop.scale is not None else DECIMAL_DEFAULT[1]
        return pa.decimal128(max(precision, scale), min(scale, precision))
    plain = {"integer": pa.int64(), "double": pa.float64(), "boolean": pa.bool_()}
    return plain.get(sluice_type(prop), pa.string())


def iso(when: datetime) -> str:
    """UTC ISO 8601, milliseconds only when there are some."""
    text = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if when.microsecond:
        text += f".{when.microsecond:06d}".rstrip("0")
    return text + "Z"


def sap_date(text: str) -> str | None:
    """`/Date(1700000000000)/` or `/Date(1700000000000+0060)/` as UTC ISO text, None if not one."""
    match = _DATE.match(text)
    if not match:
        return None
    return iso(_EPOCH + timedelta(milliseconds=int(match.group(1))))


def cell(value: Any, prop: Property) -> Any:
    """One JSON value of `prop` as its column's Python value (None for null or unreadable)."""
    if value is None:
        return None
    kind = sluice_type(prop)
    if prop.edm_type == "Edm.Decimal":
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    if kind == "string":
        return value if isinstance(value, str) else str(value)
    if kind == "integer":
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
    if kind == "double":
        try:
            return float(value)  # V4 sends INF/NaN as text
        except (TypeError, ValueError):
            return None
    if kind == "boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    text = str(value)
    if kind == "datetime":
        converted = sap_date(text)
        if converted is not None:
            return converted
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return iso(when if when.tzinfo else when.replace(tzinfo=UTC))  # V2 DateTime in JSON-light: UTC
    return text  # Edm.Date: YYYY-MM-DD as sent

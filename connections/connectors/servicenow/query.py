"""ServiceNow encoded queries (sysparm_query) from pushed-down filters and the incremental window.

Syntax (ServiceNow's "Encoded query strings"): conditions `<field><operator><value>` joined by
`^` (AND); `^OR` joins alternatives and binds tighter than `^`; `ORDERBY<field>` sorts. Values are
sent as plain text: date-times as `YYYY-MM-DD HH:MM:SS` in UTC, which is how the instance reads
plain-text values over web services (javascript:gs.dateGenerate() would read them in the user's
time zone instead).

A filter is pushed down only where the instance keeps at least every record the engine keeps (the
engine applies every filter again): text compares case-insensitively there, so on text fields
only EQUAL_TO and CONTAINS (LIKE) go down, ranges only on numbers and dates; NOT_EQUAL_TO stays in
the engine (the instance leaves out empty values and compares without case). A value that cannot
be written into an encoded query — one holding `^` (the separator; the syntax has no escape for
it), a line break, or starting with `javascript:` (the instance would run it as a script) — is not
pushed down either: the engine filters it, so the result is the same."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from connections.connectors.base import ConnectorError, Window
from flows.engine.values import parse_value

from .catalog import Column

RANGE = {"LESS_THAN": "<", "LESS_THAN_OR_EQUAL_TO": "<=", "GREATER_THAN": ">",
         "GREATER_THAN_OR_EQUAL_TO": ">="}
PUSHDOWN_OPERATORS = ("EQUAL_TO", "CONTAINS", *RANGE, "BETWEEN")
_ORDERED_TYPES = ("integer", "double", "date", "datetime")
_FIELD = re.compile(r"^[A-Za-z0-9_]+$")


def servicenow_time(when: datetime) -> str:
    """A moment as ServiceNow writes a date-time: UTC, whole seconds."""
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def encodable(text: str) -> bool:
    return bool(text.strip()) and "^" not in text and "\n" not in text and "\r" not in text and \
        not text.strip().lower().startswith("javascript:")


def _typed_value(text: str, data_type: str) -> tuple[str, bool] | None:
    """(the value as the instance compares it, whether it had a fraction of a second), or None."""
    try:
        value = parse_value(text, data_type)
    except ValueError:
        return None
    if data_type == "datetime":
        when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value)
        return servicenow_time(when), when.microsecond != 0
    if data_type == "boolean":
        return ("true" if value else "false"), False
    if data_type == "double":
        # positional, never 1e-05: the instance reads plain decimals
        return format(Decimal(repr(float(value))).normalize(), "f"), False
    return str(value), False


def condition(flt: Mapping[str, Any], columns: Mapping[str, Column]) -> str | None:
    """One pushed-down filter as an encoded query condition, or None to leave it to the engine."""
    name, operator = str(flt.get("field") or ""), flt.get("operator")
    values = [str(v) for v in flt.get("values") or []]
    column = columns.get(name)
    if column is None or not _FIELD.match(name) or not values or not all(encodable(v) for v in values):
        return None
    data_type = column.data_type
    if flt.get("dataType") not in (None, data_type):
        return None  # compared as another type in the engine: its order may differ
    if operator == "CONTAINS":
        return "^OR".join(f"{name}LIKE{v}" for v in values) if data_type == "string" else None
    if operator == "EQUAL_TO":
        if data_type == "string":
            return "^OR".join(f"{name}={v}" for v in values)
        typed = [_typed_value(v, data_type) for v in values]
        if any(t is None for t in typed):
            return None
        return "^OR".join(f"{name}={t[0]}" for t in typed)
    if data_type not in _ORDERED_TYPES:
        return None
    if operator == "BETWEEN" and len(values) == 2:
        low, high = _typed_value(values[0], data_type), _typed_value(values[1], data_type)
        if low is None or high is None or "@" in low[0] + high[0]:
            return None
        return f"{name}BETWEEN{low[0]}@{high[0]}"
    if operator in RANGE:
        parts = []
        for v in values:
            typed = _typed_value(v, data_type)
            if typed is None:
                return None
            symbol = RANGE[operator]
            if symbol == "<" and typed[1]:
                symbol = "<="  # records have whole seconds: < 10:00:00.5 keeps 10:00:00
            parts.append(f"{name}{symbol}{typed[0]}")
        return "^OR".join(parts)
    return None


def window_conditions(window: Window, columns: Mapping[str, Column]) -> list[str]:
    """The incremental window on its field (default sys_updated_on): start inclusive, end exclusive."""
    if window.is_open:
        return []
    name = window.field or "sys_updated_on"
    column = columns.get(name)
    if column is None:
        raise ConnectorError(f'The incremental timestamp field "{name}" (incrementalPullConfig.'
                             "datetimeTypeFieldName) is not a field of this table.")
    if column.data_type not in ("datetime", "date"):
        raise ConnectorError(f'The incremental timestamp field "{name}" is a {column.internal_type} field, '
                             "not a date-time: choose sys_updated_on or sys_created_on.")
    found = []
    if window.start is not None:
        found.append(f"{name}>={servicenow_time(window.start)}")
    if window.end is not None:
        fraction = window.end.microsecond != 0
        found.append(f"{name}{'<=' if fraction else '<'}{servicenow_time(window.end)}")
    return found


def encoded_query(filters: Sequence[Mapping[str, Any]], window: Window,
                  columns: Mapping[str, Column]) -> tuple[str, list[Mapping[str, Any]]]:
    """(sysparm_query, the filters pushed down). Always ends with ORDERBYsys_id, the stable order
    offset paging needs."""
    parts = window_conditions(window, columns)
    pushed = []
    for flt in filters:
        found = condition(flt, columns)
        if found is not None:
            parts.append(found)
            pushed.append(flt)
    parts.append("ORDERBYsys_id")
    return "^".join(parts), pushed

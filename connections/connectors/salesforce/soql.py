"""SOQL text built from a projection, pushed-down filters and an incremental window.

Nothing from a flow document is glued into the query as it is: object and field names must be ones
the org's describe listed (and look like Salesforce API names), and every value is a SOQL literal —
text quoted with Salesforce's escapes (backslash, quotes, control characters; also % and _ inside
LIKE), numbers and booleans from their parsed value, dates and datetimes unquoted ISO 8601 in UTC."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from connections.connectors.base import ConnectorError, Window
from connections.connectors.sqlfilters import Pushdown, pushable

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
_LIKE_ESCAPES = {**_ESCAPES, "%": "\\%", "_": "\\_"}


def name(value: str, what: str = "field") -> str:
    if not NAME.match(value or ""):
        raise ConnectorError(f'"{str(value)[:80]}" is not a Salesforce {what} API name.')
    return value


def quote(text: str, *, like: bool = False) -> str:
    table = _LIKE_ESCAPES if like else _ESCAPES
    return "'" + "".join(table.get(ch, ch) for ch in str(text)) + "'"


def datetime_literal(moment: datetime, *, round_up: bool = False) -> str:
    """UTC, whole seconds (a fraction is rounded the way that keeps more records, never fewer)."""
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + (timedelta(seconds=1) if round_up else timedelta())
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def literal(value: Any, kind: str, *, round_up: bool = False) -> str:
    if value is None:
        return "null"
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "integer":
        return str(int(value))
    if kind == "double":
        number = float(value)
        if not math.isfinite(number):
            raise ValueError("not a finite number")
        return format(Decimal(repr(number)), "f")  # SOQL has no exponent notation
    if kind == "datetime":
        return datetime_literal(value, round_up=round_up)
    if kind == "date":
        if isinstance(value, datetime):
            value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).date()
        return (value if isinstance(value, date) else date.fromisoformat(str(value))).isoformat()
    return quote(str(value))


def condition(pushed: Pushdown, kind: str) -> str | None:
    """One WHERE condition, or None when SOQL cannot say it exactly or more loosely (the engine
    applies the filter anyway). Datetime bounds with a fraction of a second widen to whole seconds."""
    field = name(pushed.column)
    values = pushed.values
    if pushed.kind == "CONTAINS":
        return f"{field} LIKE '%{quote(values[0], like=True)[1:-1]}%'"
    if kind == "datetime" and pushed.kind in ("=", "<>", "IN") and any(v.microsecond for v in values):
        return None  # SOQL literals are whole seconds: an exact match would miss the record
    if pushed.kind == "IN":
        return f"{field} IN ({', '.join(literal(v, kind) for v in values)})"
    if pushed.kind == "BETWEEN":
        return (
            f"({field} >= {literal(values[0], kind)} AND "
            f"{field} <= {literal(values[1], kind, round_up=True)})"
        )
    round_up = pushed.kind in ("<", "<=")
    operator = "!=" if pushed.kind == "<>" else pushed.kind
    return f"{field} {operator} {literal(values[0], kind, round_up=round_up)}"


def where_clauses(
    filters: Iterable[Mapping[str, Any]], types: Mapping[str, str], filterable: frozenset[str]
) -> list[str]:
    """The engine's pushed-down filters that SOQL can apply, as conditions (ANDed: the engine's
    filters all apply)."""
    clauses = []
    scalar = {k: v for k, v in types.items() if k in filterable}
    for flt in filters:
        pushed = pushable(flt, scalar)
        if pushed is None:
            continue
        try:
            text = condition(pushed, scalar[pushed.column])
        except (TypeError, ValueError, OverflowError):
            text = None
        if text:
            clauses.append(text)
    return clauses


def window_clauses(window: Window, field: str, kind: str) -> list[str]:
    """Start inclusive, end exclusive; for a date field, the days the window touches."""
    clauses = []
    if window.start is not None:
        clauses.append(f"{name(field)} >= {literal(window.start, kind)}")
    if window.end is not None:
        operator = "<=" if kind == "date" else "<"
        clauses.append(f"{name(field)} {operator} {literal(window.end, kind, round_up=True)}")
    return clauses


def select(entity: str, fields: Iterable[str], clauses: Iterable[str] = ()) -> str:
    text = f"SELECT {', '.join(name(f) for f in fields)} FROM {name(entity, 'object')}"
    clauses = list(clauses)
    return text + (f" WHERE {' AND '.join(clauses)}" if clauses else "")


def count(entity: str, clauses: Iterable[str] = ()) -> str:
    clauses = list(clauses)
    return f"SELECT COUNT() FROM {name(entity, 'object')}" + (
        f" WHERE {' AND '.join(clauses)}" if clauses else ""
    )

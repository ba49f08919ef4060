"""`$filter` from pushed-down filters and the incremental window, per OData's literal rules.

Strings are quoted with ' and a ' inside is doubled (OData URL conventions, V2 section 5.1.1.7 /
V4 ABNF `SQUOTE-in-string`); the whole expression is then percent-encoded by urlencode. V2 types
its literals (datetime'2024-01-01T00:00:00', datetimeoffset'...Z', 12.5M, 7L); V4 writes them bare.

Pushed down only where the service keeps at least every record the engine keeps (the engine
applies every filter again): EQUAL_TO on any type, ranges and BETWEEN on numbers and dates.
CONTAINS (case-sensitive substringof/contains in SAP, case-insensitive in the engine) and
NOT_EQUAL_TO (null handling differs) stay in the engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from connections.connectors.base import ConnectorError, Window
from flows.engine.values import parse_value

from .edmx import EntitySet, Property
from .values import sluice_type

RANGE = {"LESS_THAN": "lt", "LESS_THAN_OR_EQUAL_TO": "le", "GREATER_THAN": "gt",
         "GREATER_THAN_OR_EQUAL_TO": "ge"}
PUSHDOWN_OPERATORS = ("EQUAL_TO", *RANGE, "BETWEEN")
_ORDERED = ("integer", "double", "date", "datetime")


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def time_literal(when: datetime, prop: Property, version: str) -> str:
    when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
    text = when.strftime("%Y-%m-%dT%H:%M:%S") + (f".{when.microsecond:06d}" if when.microsecond else "")
    if version == "4":
        return text + "Z"
    if prop.edm_type == "Edm.DateTimeOffset":
        return f"datetimeoffset'{text}Z'"
    return f"datetime'{text}'"  # Edm.DateTime carries no zone; SAP stores it as UTC


def literal(text: str, prop: Property, version: str) -> str | None:
    """A filter value as an OData literal of the property's type, or None (not pushed down)."""
    kind = sluice_type(prop)
    if kind == "string":
        return quote(text)
    try:
        value = parse_value(text, kind)
    except ValueError:
        return None
    if kind == "datetime":
        return time_literal(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value), prop, version)
    if kind == "date":
        return str(value) if version == "4" else None  # V2 has no Edm.Date
    if kind == "boolean":
        return "true" if value else "false"
    if prop.edm_type == "Edm.Decimal":
        number = format(Decimal(text.strip()), "f")
        return number if version == "4" else number + "M"
    if kind == "double":
        number = format(Decimal(repr(float(value))), "f")
        return number if version == "4" else number + "d"
    if prop.edm_type == "Edm.Int64" and version == "2":
        return f"{value}L"
    return str(value)


def condition(flt: Mapping[str, Any], entity_set: EntitySet, version: str) -> str | None:
    name, operator = str(flt.get("field") or ""), flt.get("operator")
    prop = entity_set.property(name)
    values = [str(v) for v in flt.get("values") or []]
    if prop is None or not values or flt.get("dataType") not in (None, sluice_type(prop)):
        return None
    literals = [literal(v, prop, version) for v in values]
    if any(lit is None for lit in literals):
        return None
    if operator == "EQUAL_TO":
        return "(" + " or ".join(f"{name} eq {lit}" for lit in literals) + ")"
    if sluice_type(prop) not in _ORDERED:
        return None
    if operator == "BETWEEN" and len(literals) == 2:
        return f"({name} ge {literals[0]} and {name} le {literals[1]})"
    if operator in RANGE:
        return "(" + " or ".join(f"{name} {RANGE[operator]} {lit}" for lit in literals) + ")"
    return None


def default_timestamp(entity_set: EntitySet) -> str | None:
    """The entity's change timestamp where it has one named so (LastChangeDateTime, ChangedAt ...)."""
    stamps = [p.name for p in entity_set.properties if sluice_type(p) == "datetime"]
    return next((n for n in stamps if "chang" in n.lower()), None)


def window_conditions(window: Window, entity_set: EntitySet, version: str) -> list[str]:
    """The incremental window on its timestamp property: start inclusive, end exclusive."""
    if window.is_open:
        return []
    name = window.field or default_timestamp(entity_set) or ""
    prop = entity_set.property(name) if name else None
    if prop is None:
        raise ConnectorError(f'The incremental timestamp field "{name}" (incrementalPullConfig.'
                             f"datetimeTypeFieldName) is not a property of {entity_set.name}.")
    if sluice_type(prop) != "datetime":
        raise ConnectorError(f'The incremental timestamp field "{name}" is {prop.edm_type}, not '
                             "Edm.DateTime or Edm.DateTimeOffset.")
    found = []
    if window.start is not None:
        found.append(f"{name} ge {time_literal(window.start, prop, version)}")
    if window.end is not None:
        found.append(f"{name} lt {time_literal(window.end, prop, version)}")
    return found


def filter_expression(filters: Sequence[Mapping[str, Any]], window: Window, entity_set: EntitySet,
                      version: str) -> str:
    parts = window_conditions(window, entity_set, version)
    parts += [c for c in (condition(f, entity_set, version) for f in filters) if c is not None]
    return " and ".join(parts)

"""The VQL query a read sends: `SELECT <fields> FROM [ALLVERSIONS] <entity> [WHERE ...] ORDER BY id`.

The incremental window goes into the WHERE on modified_date__v (or the chosen timestamp field):
start inclusive, end exclusive, as Vault writes date-times (`2024-03-01T08:00:00.000Z`, UTC). A
document type chosen in the source block is `type__v = '<type>'`. String values are quoted with
single quotes; VQL escapes a quote or a backslash inside one with a backslash (Vault's "VQL
Standards": special characters in values are escaped with `\\`), so a value can never end the
string early and add a condition of its own."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from connections.connectors.base import ConnectorError, Window

from .catalog import DOCUMENTS, INCREMENTAL_FIELD, Column


def quote(text: str) -> str:
    """A VQL string literal."""
    if "\n" in text or "\r" in text:
        raise ConnectorError("A Veeva Vault filter value may not hold a line break.")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def vault_time(when: datetime) -> str:
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def window_conditions(window: Window, columns: Mapping[str, Column]) -> list[str]:
    if window.is_open:
        return []
    name = window.field or INCREMENTAL_FIELD
    column = columns.get(name)
    if column is None:
        raise ConnectorError(f'The incremental timestamp field "{name}" (incrementalPullConfig.'
                             "datetimeTypeFieldName) is not a field of this Vault entity.")
    if column.data_type != "datetime":
        raise ConnectorError(f'The incremental timestamp field "{name}" is a {column.vault_type} field, '
                             "not a date-time: choose modified_date__v.")
    found = []
    if window.start is not None:
        found.append(f"{name} >= {quote(vault_time(window.start))}")
    if window.end is not None:
        # Vault keeps milliseconds: an end with a finer fraction keeps the millisecond it falls in
        op = "<=" if window.end.microsecond % 1000 else "<"
        found.append(f"{name} {op} {quote(vault_time(window.end))}")
    return found


def query(entity: str, names: list[str], window: Window, columns: Mapping[str, Column],
          document_type: str = "", all_versions: bool = False) -> str:
    conditions = window_conditions(window, columns)
    if document_type:
        conditions.insert(0, f"type__v = {quote(document_type)}")
    source = f"ALLVERSIONS {entity}" if all_versions and entity == DOCUMENTS else entity
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"SELECT {', '.join(names)} FROM {source}{where} ORDER BY id ASC"

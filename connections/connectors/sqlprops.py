"""The source and destination property blocks of SQL database connectors (PostgreSQL, MySQL,
Redshift): AppFlow's CustomConnector source/destination properties."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import errorhandling
from .base import ConnectorError

_SOURCE_KEYS = {"entityName", "customProperties", "dataTransferApi"}
_DESTINATION_KEYS = {
    "entityName",
    "customProperties",
    "writeOperationType",
    "idFieldNames",
    "errorHandlingConfig",
}
_DESTINATION_CUSTOM = {"createTableIfMissing"}


def check_source(props: Any) -> list[tuple[str, str]]:
    return _check_block(props, _SOURCE_KEYS, set())


def check_destination(props: Any, write_operations: tuple[str, ...]) -> list[tuple[str, str]]:
    problems = _check_block(props, _DESTINATION_KEYS, _DESTINATION_CUSTOM)
    if not isinstance(props, Mapping):
        return problems
    operation = props.get("writeOperationType", "INSERT")
    if operation not in write_operations:
        problems.append(
            ("writeOperationType", f"must be one of {', '.join(write_operations)}, not {operation!r}")
        )
    ids = props.get("idFieldNames")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) and i for i in ids)):
        problems.append(("idFieldNames", "must be a list of field names"))
    elif operation in ("UPSERT", "UPDATE") and not ids:
        problems.append(("idFieldNames", f"{operation} needs the fields that identify a record"))
    problems += errorhandling.check(props.get("errorHandlingConfig"))
    custom = props.get("customProperties")
    if isinstance(custom, Mapping) and custom.get("createTableIfMissing") not in (None, "true", "false"):
        problems.append(("customProperties.createTableIfMissing", 'must be "true" or "false"'))
    return problems


def _check_block(props: Any, allowed: set[str], custom_allowed: set[str]) -> list[tuple[str, str]]:
    if not isinstance(props, Mapping):
        return [("", "must be an object")]
    problems: list[tuple[str, str]] = []
    entity = props.get("entityName")
    if not isinstance(entity, str) or not entity.strip():
        problems.append(("entityName", "is required: a table or view, as schema.table"))
    elif entity.count(".") > 1 or entity.startswith(".") or entity.endswith("."):
        problems.append(("entityName", f'"{entity}" is not of the form schema.table'))
    problems += [(key, "is not a property of this connector") for key in props if key not in allowed]
    custom = props.get("customProperties")
    if custom is not None and not isinstance(custom, Mapping):
        problems.append(("customProperties", "must be an object"))
    elif isinstance(custom, Mapping):
        problems += [
            (f"customProperties.{k}", "is not a property of this connector")
            for k in custom
            if k not in custom_allowed
        ]
    return problems


def column_for(field: str, existing: list[str], table: str) -> str:
    """The column of `table` a record field writes to: the same name, or else the one column
    whose name differs only in case (AppFlow's "Id" -> a database's "id")."""
    if field in existing:
        return field
    folded = [c for c in existing if c.lower() == field.lower()]
    if len(folded) == 1:
        return folded[0]
    shown = ", ".join(existing[:30]) + (" ..." if len(existing) > 30 else "")
    raise ConnectorError(f"The table {table} has no column {field} (its columns: {shown}).")


def id_column(field: str, fields: list[str], columns: list[str]) -> str:
    """The column of id field `field`, given the batch's fields and their columns."""
    if field not in fields:
        raise ConnectorError(
            f"idFieldNames: the records have no field {field} (their fields: {', '.join(fields)})."
        )
    return columns[fields.index(field)]

"""Warnings: things in a valid document that Sluice ignores or cannot vouch for. They never block a
save; the import page and the CLI show them next to the errors."""

from __future__ import annotations

from typing import Any

from .errors import DocumentError, Problems
from .validate import DESCRIBE_FLOW_KEYS

# AppFlow documents use their connectors' own type names (Salesforce: id, textarea, picklist...);
# an unfamiliar one is more likely a connector's name than a mistake, so it is only a warning.
KNOWN_DATA_TYPES = frozenset({
    "string", "text", "integer", "int", "long", "short", "byte", "bigint", "double", "float", "decimal",
    "number", "boolean", "bool", "date", "datetime", "date-time", "timestamp", "time", "id", "textarea",
    "picklist", "multipicklist", "combobox", "reference", "phone", "url", "email", "currency", "percent",
    "address", "location", "base64", "encryptedstring", "anytype", "object", "struct", "map", "array",
    "list", "json", "binary", "guid", "glide_date_time",
})
DATA_TYPE_PROPERTIES = ("DATA_TYPE", "SOURCE_DATA_TYPE", "DESTINATION_DATA_TYPE")
_IGNORED = {
    "kmsArn": "Sluice ignores kmsArn: secrets are encrypted with Sluice's own key",
    "metadataCatalogConfig": "Sluice ignores metadataCatalogConfig: it does not register tables in AWS Glue",
}


def flow_document_warnings(doc: Any) -> list[DocumentError]:
    """Warnings for `doc`, in document order (empty for anything that is not an object)."""
    problems = Problems()
    if not isinstance(doc, dict):
        return []
    for key in doc:
        if key in _IGNORED:
            problems.add((key,), _IGNORED[key])
        elif key in DESCRIBE_FLOW_KEYS:
            problems.add((key,), "is describe-flow output, not part of a definition; Sluice ignores it")
    tasks = doc.get("tasks")
    for index, task in enumerate(tasks if isinstance(tasks, list) else []):
        properties = task.get("taskProperties") if isinstance(task, dict) else None
        for key in DATA_TYPE_PROPERTIES:
            if key == "DATA_TYPE" and isinstance(task, dict) and task.get("taskType") == "Filter":
                continue  # a filter must know how to compare: the validator makes this an error
            value = properties.get(key) if isinstance(properties, dict) else None
            if isinstance(value, str) and value and value.lower() not in KNOWN_DATA_TYPES:
                problems.add(("tasks", index, "taskProperties", key),
                             f'"{value}" is not a data type Sluice knows (string, integer, double, boolean, '
                             "date, datetime...); check the spelling")
    return problems.sorted_errors(doc)

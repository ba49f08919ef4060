"""Step 3, Map data fields. Placeholder of the frame (helper 5b replaces it): "Map all fields
directly" only, which writes a projection and one Map task per source field."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from connections.connectors.base import ConnectorError, EntityField
from flows.document import properties_key
from flows.document.endpoints import canonical_connector_type
from flows.models import FlowDraft
from flows.wizard import frame, shape

SLUG = "map"


def operator_key(document: dict) -> str:
    """connectorOperator is keyed by the source connector's properties key ("CustomConnector")."""
    connector_type = canonical_connector_type(shape.config(document, "source").get("connectorType"))
    return properties_key(connector_type) if connector_type else "CustomConnector"


def map_all(document: dict, fields: list[EntityField]) -> list[dict]:
    key = operator_key(document)
    names = [f.name for f in fields]
    tasks = [{"sourceFields": names, "connectorOperator": {key: "PROJECTION"}, "taskType": "Filter"}]
    for f in fields:
        tasks.append({
            "sourceFields": [f.name], "connectorOperator": {key: "NO_OP"}, "taskType": "Map",
            "destinationField": f.name,
            "taskProperties": {"SOURCE_DATA_TYPE": f.data_type, "DESTINATION_DATA_TYPE": f.data_type},
        })
    return tasks


def view(request: HttpRequest, draft: FlowDraft) -> HttpResponse:
    document = draft.data
    error, fields = "", []
    try:
        fields = frame.source_fields(document)
    except ConnectorError as exc:
        error = exc.message
    if request.method == "POST" and not error:
        if not fields:
            error = "The source object has no fields to map."
        else:
            return frame.advance(request, draft, SLUG, {**document, "tasks": map_all(document, fields)})
    mapped = [t for t in document.get("tasks") or [] if isinstance(t, dict) and t.get("taskType") == "Map"]
    return frame.render_step(request, draft, SLUG, "flows/wizard/map.html",
                             {"fields": fields, "error": error, "mapped": mapped},
                             status=400 if request.method == "POST" else 200)

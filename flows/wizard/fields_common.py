"""What steps 3 (Map data fields) and 4 (Add filters) share: the source's fields, the draft's
choices read from its tasks, saving them back, and the Preview panel."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from connections import metadata
from connections.connectors.base import ConnectorError, EntityField
from connections.connectors.registry import get_connector_class
from connections.models import Connection
from flows.document import properties_key
from flows.document.appflow_model import CONNECTOR_OPERATORS
from flows.document.endpoints import canonical_connector_type
from flows.models import FlowDraft
from flows.wizard import drafts, frame, shape
from flows.wizard.mapping import FieldChoices, build_tasks
from flows.wizard.mapping_read import read_tasks


@dataclass
class Source:
    """The source object's fields as the steps need them; `error` when the connection could not
    answer (the page says so and offers nothing to map)."""

    fields: list[EntityField] = field(default_factory=list)
    error: str = ""

    @property
    def types(self) -> dict[str, str]:
        return {f.name: f.data_type for f in self.fields}


def source(document: dict) -> Source:
    try:
        return Source(frame.source_fields(document))
    except ConnectorError as exc:
        return Source(error=exc.message)


def operator_key(document: dict) -> str:
    """connectorOperator is keyed by the source connector's properties key ("CustomConnector")."""
    connector_type = canonical_connector_type(shape.config(document, "source").get("connectorType"))
    return properties_key(connector_type) if connector_type else "CustomConnector"


def choices(document: dict, src: Source) -> FieldChoices:
    return read_tasks(document.get("tasks") or [], src.types)


def with_choices(document: dict, chosen: FieldChoices) -> dict:
    return {**document, "tasks": build_tasks(chosen, operator_key(document))}


def keep(draft: FlowDraft, document: dict) -> None:
    """Save the document without completing the step (an action inside a step)."""
    draft.document = json.dumps(document, ensure_ascii=False)
    draft.save(update_fields=["document", "updated_at"])


def source_operators(document: dict, src: Source) -> dict[str, tuple[str, ...]]:
    """Per field, the filter operators the source supports: the field's own list, else the
    connector's, else what AppFlow allows for the connector (None entries: anything)."""
    cfg = shape.config(document, "source")
    cls = shape.connector_class(shape.connector_key(cfg))
    model = CONNECTOR_OPERATORS.get(operator_key(document))
    found = {}
    for f in src.fields:
        ops = f.filter_operators or (cls.filter_operators if cls else ()) or model or ()
        if ops:
            found[f.name] = tuple(ops)
    return found


def destination_fields(document: dict) -> list[str]:
    """The destination object's fields when it has a schema (a table...); [] when it does not
    (a folder of files that the run creates) or cannot say."""
    cfg = shape.config(document, "destination")
    name = cfg.get("connectorProfileName")
    connection = Connection.objects.filter(name=name).first() if name else None
    if connection is None:
        return []
    try:
        get_connector_class(connection.connector_key)
        return [f.name for f in metadata.fields(connection, shape.entity(cfg, "destination"))]
    except (ConnectorError, ImportError, OSError, ValueError):
        return []


# -- the Preview panel ---------------------------------------------------------------------------


def latest_preview(draft: FlowDraft) -> dict | None:
    """The draft's latest preview, as the panel shows it (None: never previewed)."""
    from flows.wizard.preview import expire_stale, panel

    row = draft.previews.order_by("-created_at").first()
    return panel(expire_stale(row) if row else None)


def preview_poll(request: HttpRequest, draft: FlowDraft, slug: str) -> HttpResponse | None:
    """GET ?preview=<id>: the panel alone (htmx polls it until the preview is done)."""
    wanted = request.GET.get("preview")
    if not wanted:
        return None
    return render(request, "flows/wizard/_preview.html",
                  {"preview": latest_preview(draft), "draft": draft, "step_slug": slug})


def start_preview(request: HttpRequest, draft: FlowDraft, slug: str) -> HttpResponse:
    from flows.wizard.preview import panel
    from flows.wizard.preview import start_preview as start

    limit = request.POST.get("preview_limit") or "20"
    row = start(draft, slug, int(limit) if limit.isdigit() else 20)
    if request.htmx:
        return render(request, "flows/wizard/_preview.html",
                      {"preview": panel(row), "draft": draft, "step_slug": slug})
    return redirect(drafts.step_url(draft, slug) + "#preview")


def preview_blocked(request: HttpRequest, draft: FlowDraft, slug: str, problems: list[str]) -> HttpResponse:
    """Preview asked (through htmx) while the page has problems: the panel says what to correct.
    200, so that htmx swaps it in; the page itself was not saved."""
    shown = {"status": "error", "running": False, "limit": 20,
             "message": "Correct this first, then preview: " + " ".join(problems)}
    return render(request, "flows/wizard/_preview.html",
                  {"preview": shown, "draft": draft, "step_slug": slug})

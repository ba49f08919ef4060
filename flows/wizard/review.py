"""Step 5, Review and create: every step summarised with an Edit link back to it, the whole
document checked again by the project's validator, then Create flow (optionally activated). On
edit it is "Review changes": the same summary and the diff against the current version, then
Save as new version (flows.services.update_flow refuses name/source/destination changes)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from console.errors import UserError
from flows import services
from flows.document import flow_document_warnings
from flows.field_settings import field_settings
from flows.models import FlowDraft
from flows.versions import diff_documents
from flows.views import describe_flow
from flows.wizard import drafts, frame, shape, words
from flows.wizard.mapping_read import read_tasks

SLUG = "review"


def activate(request: HttpRequest, flow) -> None:
    """The flow exists by now: a refused activation is reported on its page, where Activate is."""
    try:
        services.activate_flow(flow, user=request.user)
    except UserError as exc:
        messages.error(request, f'Created the flow "{flow.name}", but it was not activated: '
                                f'{" ".join(exc.errors)}')
    else:
        messages.success(request, f'Created and activated the flow "{flow.name}".')


def stale_draft(draft: FlowDraft) -> None:
    """Refuse to save over a version someone saved after this edit began: it would silently undo
    their change. (The draft was made from the version current when it was created.)"""
    current = draft.flow.current_version
    if current is not None and current.created_at > draft.created_at:
        raise UserError(
            f'"{draft.flow.name}" has a newer version (version {current.number}) than the one this edit '
            "started from. Discard this draft (Flows, Drafts) and edit the flow again."
        )


def check(document: dict) -> list[str]:
    try:
        services.validate_document(services.without_describe_keys(json.loads(json.dumps(document))))
    except UserError as exc:
        return list(exc.errors)
    return []


def view(request: HttpRequest, draft: FlowDraft) -> HttpResponse:
    document = draft.data
    errors: list[str] = []
    if request.method == "POST":
        action = request.POST.get("action", "create")
        try:
            if draft.flow_id:
                stale_draft(draft)
                version = services.update_flow(draft.flow, document, user=request.user)
                flow = draft.flow
                messages.success(request, f'Saved version {version.number} of "{flow.name}".')
            else:
                flow = services.create_flow(document, user=request.user)
                if action == "activate" and flow.trigger_type != "OnDemand":
                    activate(request, flow)
                else:
                    extra = (" It is a Draft: activate it when you are ready."
                             if flow.trigger_type != "OnDemand" else "")
                    messages.success(request, f'Created the flow "{flow.name}".{extra}')
        except UserError as exc:
            errors = list(exc.errors)
        else:
            draft.delete()
            return redirect("flows:detail", flow.name)
    else:
        errors = check(document)
    tasks = document.get("tasks") or []
    choices = read_tasks(tasks)
    settings = field_settings(tasks)  # a formula's own Map is left out: the Formulas list says it
    context = {
        **changes_context(draft, document),
        "errors": errors,
        # Things the document says that Sluice treats differently (e.g. kmsArn), from the validator.
        "warnings": [str(w) for w in flow_document_warnings(document)],
        "summary": describe_flow(document),
        "settings": settings,
        "choices": words.describe(choices),
        "trigger": document.get("triggerConfig") or {},
        "incremental": shape.config(document, "source").get("incrementalPullConfig") or {},
        "tags": document.get("tags") or {},
        "edit_urls": {slug: drafts.step_url(draft, slug)
                      for slug in ("details", "configure", "map", "filters")},
        "document_json": json.dumps(document, indent=2, ensure_ascii=False),
    }
    return frame.render_step(request, draft, SLUG, "flows/wizard/review.html", context,
                             status=400 if request.method == "POST" else 200)


def changes_context(draft: FlowDraft, document: dict) -> dict[str, Any]:
    """Editing: what saving would change, against the flow's current version (the same diff as
    the flow page's version comparison)."""
    current = draft.flow.current_version if draft.flow_id else None
    if current is None:
        return {}
    return {"current_version": current,
            "changes": diff_documents(current.definition, document, old_text=current.document,
                                      old_label=f"version {current.number}", new_label="your changes")}

"""What every step view uses: render inside the wizard's frame, move on after a valid step, and
read the source's fields. A step module needs nothing else from the wizard."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from connections import metadata
from connections.connectors.base import EntityField
from connections.models import Connection
from flows.models import FlowDraft
from flows.wizard import drafts, shape, steps


def step_links(draft: FlowDraft, current: str) -> list[dict]:
    """The step list at the top: each step with its URL when it may be opened."""
    editing = draft.flow_id is not None
    return [
        {
            "step": steps.titled(step, editing),
            "url": drafts.step_url(draft, step.slug) if steps.may_visit(draft.step, step.slug) else "",
            "current": step.slug == current,
            "done": steps.index(step.slug) < steps.index(draft.step),
        }
        for step in steps.STEPS
    ]


def render_step(request: HttpRequest, draft: FlowDraft, slug: str, template: str,
                context: dict | None = None, *, status: int = 200) -> HttpResponse:
    """Render `template` (which extends flows/wizard/base.html) with the frame's context:
    draft, document, step, steps, back_url, editing. The step's own context comes on top."""
    previous = steps.before(slug)
    editing = draft.flow_id is not None
    frame = {
        "draft": draft,
        "document": draft.data,
        "step": steps.titled(steps.get(slug), editing),
        "steps": step_links(draft, slug),
        "back_url": drafts.step_url(draft, previous.slug) if previous else "",
        "next_step": steps.titled(steps.after(slug), editing),
        "editing": editing,
        "flow": draft.flow,
    }
    return render(request, template, {**frame, **(context or {})}, status=status)


def advance(request: HttpRequest, draft: FlowDraft, slug: str, document: dict) -> HttpResponse:
    """Save the document of a valid step and go to the next step (POST/redirect/GET, so the
    browser's back button shows the step again instead of re-posting it)."""
    drafts.save(draft, document, slug)
    following = steps.after(slug)
    if request.POST.get("go") in steps.SLUGS and steps.may_visit(draft.step, request.POST["go"]):
        following = steps.get(request.POST["go"])  # "Save and return to review"
    return redirect(drafts.step_url(draft, (following or steps.get(slug)).slug))


def source_connection(document: dict) -> Connection | None:
    name = shape.config(document, "source").get("connectorProfileName")
    return Connection.objects.filter(name=name).first() if name else None


def source_fields(document: dict, *, refresh: bool = False) -> list[EntityField]:
    """The fields of the source object chosen in step 2. Raises ConnectorError (with a message
    to show) when the connection cannot answer or nothing is chosen yet."""
    from connections.connectors.base import ConnectorError

    connection = source_connection(document)
    if connection is None:
        raise ConnectorError("Choose a source connection in step 2 (Configure flow) first.")
    return metadata.fields(connection, shape.entity(shape.config(document, "source"), "source"),
                           refresh=refresh)


def refuse(request: HttpRequest, draft: FlowDraft, message: str) -> HttpResponse:
    """Send the user to the furthest step they may open, saying why."""
    messages.info(request, message)
    return redirect(drafts.step_url(draft, draft.step))

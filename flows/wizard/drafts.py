"""Drafts: load the one a request may use, save a step's document, start one for a new or an
existing flow. The document is JSON text, as FlowVersion keeps it; it names connections and never
holds a secret."""

from __future__ import annotations

import json

from django.shortcuts import get_object_or_404
from django.urls import reverse

from flows.models import Flow, FlowDraft
from flows.wizard import steps


def get_draft(request, draft_id) -> FlowDraft:
    """The draft, if it belongs to the signed-in user; 404 otherwise (no hint that it exists)."""
    # FlowDraft.flow cascades: a deleted flow takes its drafts with it, so no dangling edit.
    return get_object_or_404(FlowDraft.objects.select_related("flow"), pk=draft_id, owner=request.user)


def new_draft(user) -> FlowDraft:
    """A draft for a new flow. An untouched one the user already has is reused, so following
    "Create flow" twice does not leave empty drafts behind."""
    empty = FlowDraft.objects.filter(owner=user, flow=None, document="{}").first()
    return empty or FlowDraft.objects.create(owner=user)


def draft_for_flow(flow: Flow, user) -> tuple[FlowDraft, bool]:
    """(draft, resumed): the user's draft editing `flow`, or a new one from its current version.
    Every step is open at once: the flow is already complete."""
    existing = FlowDraft.objects.filter(owner=user, flow=flow).first()
    if existing:
        return existing, True
    draft = FlowDraft.objects.create(
        owner=user, flow=flow, document=flow.current_version.document if flow.current_version else "{}",
        step=steps.STEPS[-1].slug,
    )
    return draft, False


def save(draft: FlowDraft, document: dict, completed: str) -> FlowDraft:
    """Store the document after step `completed` was valid; the next step becomes reachable."""
    following = steps.after(completed)
    draft.document = json.dumps(document, ensure_ascii=False)
    draft.step = steps.later(draft.step, following.slug if following else completed)
    draft.save(update_fields=["document", "step", "updated_at"])
    return draft


def user_drafts(user):
    return FlowDraft.objects.filter(owner=user).select_related("flow")


def step_url(draft: FlowDraft, slug: str) -> str:
    return reverse("flows:wizard-step", args=[draft.pk, slug])

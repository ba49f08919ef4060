"""The wizard's pages: start (new or edit), one step (dispatched to its module), discard. Thin:
each step module owns its form; frame.py is what they share."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_http_methods, require_POST

from flows.models import Flow
from flows.wizard import configure, details, drafts, filters_step, frame, map_step, review, steps

STEP_VIEWS = {
    "details": details.view,
    "configure": configure.view,
    "map": map_step.view,
    "filters": filters_step.view,
    "review": review.view,
}


@require_http_methods(["GET", "POST"])
def wizard_new(request: HttpRequest) -> HttpResponse:
    draft = drafts.new_draft(request.user)
    return redirect(drafts.step_url(draft, steps.FIRST))


@require_http_methods(["GET", "POST"])
def wizard_step(request: HttpRequest, draft_id, step: str) -> HttpResponse:
    draft = drafts.get_draft(request, draft_id)
    if step not in STEP_VIEWS:
        raise Http404("No such step.")
    if not steps.may_visit(draft.step, step):
        first_open = steps.get(draft.step)
        return frame.refuse(request, draft, f"Finish step {first_open.number}, {first_open.title}, first.")
    return STEP_VIEWS[step](request, draft)


@require_http_methods(["GET", "POST"])
def wizard_edit(request: HttpRequest, name: str) -> HttpResponse:
    flow = get_object_or_404(Flow.objects.select_related("current_version"), name=name)
    if flow.current_version is None:
        raise Http404("This flow has no saved definition to edit.")
    draft, resumed = drafts.draft_for_flow(flow, request.user)
    if resumed:
        messages.info(request, "You were already editing this flow: your changes so far are kept. "
                               "Discard them from the flows list to start again.")
    return redirect(drafts.step_url(draft, "configure"))


@require_POST
def wizard_discard(request: HttpRequest, draft_id) -> HttpResponse:
    draft = drafts.get_draft(request, draft_id)
    title = draft.title
    draft.delete()
    messages.success(request, f'Discarded the draft "{title}".')
    return redirect("flows:list")

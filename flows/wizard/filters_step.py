"""Step 4, Add filters. Placeholder of the frame (helper 5b replaces it): no filters, Back/Next."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from flows.models import FlowDraft
from flows.wizard import frame

SLUG = "filters"


def view(request: HttpRequest, draft: FlowDraft) -> HttpResponse:
    if request.method == "POST":
        return frame.advance(request, draft, SLUG, draft.data)
    return frame.render_step(request, draft, SLUG, "flows/wizard/filters.html")

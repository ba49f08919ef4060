"""The flow page's versions: the list (number, when, who, what changed) and the diff between two
versions, as an htmx panel on the flow page or a page of its own without JavaScript."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from flows.models import Flow, FlowVersion
from flows.versions import diff_documents, summaries

VERSIONS_SHOWN = 50


def versions_context(flow: Flow) -> dict[str, Any]:
    """The newest versions with what each changed from the one before it (one query)."""
    rows = list(flow.versions.select_related("created_by").order_by("-number")[: VERSIONS_SHOWN + 1])
    # One more than shown: the oldest shown is compared with the one before it.
    changes = summaries((version.number, version.definition) for version in reversed(rows))
    shown = rows[:VERSIONS_SHOWN]
    return {
        "versions": [(version, changes[version.number]) for version in shown],
        "more_versions": len(rows) > VERSIONS_SHOWN,
    }


def _version(flow: Flow, value: Any, default: FlowVersion | None) -> tuple[FlowVersion | None, str]:
    """A version from a query parameter, or the default; an unknown number is said, not a 404."""
    if value in (None, ""):
        return default, ""
    try:
        return flow.versions.select_related("created_by").get(number=int(value)), ""
    except (ValueError, FlowVersion.DoesNotExist):
        return None, f'There is no version "{value}" of this flow.'


def diff_context(flow: Flow, old_value: Any, new_value: Any) -> dict[str, Any]:
    latest = flow.current_version
    new, new_error = _version(flow, new_value, latest)
    previous = flow.versions.filter(number__lt=new.number).order_by("-number").first() if new else None
    old, old_error = _version(flow, old_value, previous)
    context: dict[str, Any] = {"flow": flow, "old": old, "new": new,
                               "diff_errors": [e for e in (old_error, new_error) if e]}
    if old is not None and new is not None and not context["diff_errors"]:
        context["diff"] = diff_documents(
            old.definition, new.definition, old_text=old.document, new_text=new.document,
            old_label=f"version {old.number}", new_label=f"version {new.number}")
    elif new is not None and old is None and not context["diff_errors"]:
        context["diff_errors"] = ["This flow has only one version: there is nothing to compare yet."]
    return context


def version_diff(request: HttpRequest, name: str) -> HttpResponse:
    """?from=N&to=M (default: the current version against the one before it)."""
    flow = get_object_or_404(Flow.objects.select_related("current_version"), name=name)
    context = {**diff_context(flow, request.GET.get("from"), request.GET.get("to")),
               **versions_context(flow)}
    if request.htmx:
        return render(request, "flows/_version_diff.html", context)
    return render(request, "flows/versions.html", context)

"""Step 4, Add filters: up to 10 filters, each one field, one condition and up to 10 criteria.
Criteria within a filter are ORed, filters are ANDed in order (AppFlow's rule; flows.wizard.mapping
writes one Filter task per filter). Adding and removing filters or criteria re-renders the form
with what was typed (htmx swaps the list; without JavaScript the page posts); Save, Preview and
Next check the filters and save them to the draft."""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from flows.document import validate_flow_document
from flows.engine.values import TYPES, normalize_type
from flows.models import FlowDraft
from flows.wizard import drafts, frame
from flows.wizard import fields_common as common
from flows.wizard.mapping import (
    CONDITIONS,
    MAX_CRITERIA,
    MAX_FILTERS,
    FilterRule,
    conditions_for,
    filter_problems,
)

SLUG = "filters"
_ISO_UTC = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2})?)(?:\.0+)?Z?$")


def view(request: HttpRequest, draft: FlowDraft) -> HttpResponse:
    polled = common.preview_poll(request, draft, SLUG)
    if polled is not None:
        return polled
    document = draft.data
    src = common.source(document)
    chosen = common.choices(document, src)
    operators = common.source_operators(document, src)
    if request.method == "GET":
        return _page(request, draft, src, chosen.filters, operators)
    # a plain post without an action (e.g. a script, or Enter in an old browser) means Next
    action, _, index = (request.POST.get("action") or "next").partition(":")
    if action == "preview" and "filter_count" not in request.POST:
        # the panel's own form without the page's (no JavaScript): the filters as saved
        return common.start_preview(request, draft, SLUG)
    filters = _posted_filters(request, src, operators, adjust=action == "refresh")
    if action in ("add_filter", "remove_filter", "add_criterion", "remove_criterion", "refresh"):
        notice = _restructure(action, index, filters, src, operators)
        return _page(request, draft, src, filters, operators, {"filters": [notice]} if notice else {})
    problems = filter_problems(filters, src.types, operators)
    if problems and action == "preview" and request.htmx:
        return common.preview_blocked(request, draft, SLUG, [f"Filter {int(w.split('.')[1]) + 1}: {m}"
                                                             if "." in w else m for w, m in problems])
    if problems:
        return _page(request, draft, src, filters, operators, _by_filter(problems), status=400)
    chosen.filters = filters
    document = common.with_choices(document, chosen)
    refused = [str(e) for e in validate_flow_document(document) if e.path.startswith("tasks")]
    if refused:  # e.g. an operator the source's connector does not offer
        return _page(request, draft, src, filters, operators, {"filters": refused}, status=400)
    if action in ("next", "review"):
        if action == "review":  # "Save and go to review" (frame.advance reads "go")
            request.POST = request.POST.copy()
            request.POST["go"] = "review"
        return frame.advance(request, draft, SLUG, document)
    common.keep(draft, document)
    if action == "preview":
        return common.start_preview(request, draft, SLUG)
    return redirect(drafts.step_url(draft, SLUG))


def _posted_filters(request: HttpRequest, src, operators, *, adjust: bool) -> list[FilterRule]:
    """The filters as the form shows them. With `adjust` (a field, type or condition just changed)
    a condition the new choice does not offer becomes the first one that is offered; otherwise
    it stays, and the check says so."""
    post = request.POST
    count = post.get("filter_count", "0")
    filters = []
    for i in range(min(int(count) if count.isdigit() else 0, MAX_FILTERS + 1)):
        name = post.get(f"f{i}-field", "")
        kind = normalize_type(post.get(f"f{i}-type")) or normalize_type(src.types.get(name)) or "string"
        if name != post.get(f"f{i}-prev-field", name):
            kind = normalize_type(src.types.get(name)) or "string"  # a new field: compare as its type
        condition = post.get(f"f{i}-condition", "")
        offered = conditions_for(kind, operators.get(name))
        values = [v.strip() for v in post.getlist(f"f{i}-value")][:MAX_CRITERIA + 1] or [""]
        if adjust or name != post.get(f"f{i}-prev-field", name):
            if condition not in offered and offered:
                condition = offered[0]
            values = _fit(values, condition)
        filters.append(FilterRule(name, condition, values, kind))
    return filters


def _fit(values: list[str], condition: str) -> list[str]:
    """Between takes exactly two bounds; a single-value condition one value."""
    if condition == "between":
        return (values + ["", ""])[:2]
    if condition not in ("equals", "not_equals", "contains", "one_of"):
        return values[:1]
    return values


def _restructure(action: str, index: str, filters: list[FilterRule], src, operators) -> str:
    parts = [int(p) for p in index.split(":") if p.isdigit()]
    if action == "add_filter":
        if len(filters) >= MAX_FILTERS:
            return f"A flow takes at most {MAX_FILTERS} filters."
        if not src.fields:
            return src.error or "The source object has no fields to filter on."
        first = src.fields[0]
        kind = normalize_type(first.data_type) or "string"
        offered = conditions_for(kind, operators.get(first.name))
        filters.append(FilterRule(first.name, offered[0] if offered else "equals", [""], kind))
    elif action == "remove_filter" and parts and parts[0] < len(filters):
        del filters[parts[0]]
    elif action == "add_criterion" and parts and parts[0] < len(filters):
        rule = filters[parts[0]]
        if len(rule.values) >= MAX_CRITERIA:
            return f"A filter takes at most {MAX_CRITERIA} criteria."
        if rule.condition not in CONDITIONS:  # only a tampered post names no offered condition
            return f"Filter {parts[0] + 1}: choose a condition from the list before adding criteria."
        if rule.condition not in ("equals", "not_equals", "contains", "one_of"):
            return f'"{CONDITIONS[rule.condition][1]}" takes one value; add another filter instead.'
        rule.values.append("")
    elif action == "remove_criterion" and len(parts) == 2 and parts[0] < len(filters):
        rule = filters[parts[0]]
        if len(rule.values) > 1 and parts[1] < len(rule.values):
            del rule.values[parts[1]]
    return ""


def _by_filter(problems: list[tuple[str, str]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for where, message in problems:
        bits = where.split(".")
        key = bits[1] if len(bits) > 1 else "filters"
        found.setdefault(key, []).append(message)
    return found


def input_kind(data_type: str) -> str:
    return {"date": "date", "datetime": "datetime-local", "integer": "number", "double": "number",
            "boolean": "boolean"}.get(data_type, "text")


def _shown_value(value: str, kind: str) -> tuple[str, str]:
    """(input type, value) for one criterion: a datetime the picker cannot show stays text."""
    if kind == "datetime-local":
        match = _ISO_UTC.match(value)
        if value and not match:
            return "text", value
        return kind, match.group(1) if match else value
    if kind == "date" and value and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return "text", value
    return kind, value


def _page(request: HttpRequest, draft: FlowDraft, src, filters: list[FilterRule], operators,
          problems: dict[str, list[str]] | None = None, *, status: int = 200) -> HttpResponse:
    problems = problems or {}
    rows = []
    for i, f in enumerate(filters):
        kind = input_kind(f.data_type)
        offered = conditions_for(f.data_type, operators.get(f.field))
        rows.append({
            "index": i, "rule": f, "kind": kind,
            "conditions": [(c, CONDITIONS[c][1]) for c in offered],
            "values": [(j, *_shown_value(v, kind)) for j, v in enumerate(f.values)],
            "many": f.condition in ("equals", "not_equals", "contains", "one_of"),
            "can_add": f.condition in ("equals", "not_equals", "contains", "one_of")
            and len(f.values) < MAX_CRITERIA,
            "problems": problems.get(str(i), []),
            "join": "or" if f.condition != "not_equals" else "and not",
        })
    context = {
        "source_error": src.error, "fields": src.fields, "rows": rows, "types": TYPES,
        "problems": problems.get("filters", []), "max_filters": MAX_FILTERS, "max_criteria": MAX_CRITERIA,
        "can_add_filter": len(filters) < MAX_FILTERS and bool(src.fields),
        "preview": common.latest_preview(draft), "step_slug": SLUG,
    }
    if request.htmx and request.POST.get("action", "").split(":")[0] in (
            "add_filter", "remove_filter", "add_criterion", "remove_criterion", "refresh"):
        return render(request, "flows/wizard/_filter_list.html", {**context, "draft": draft}, status=status)
    return frame.render_step(request, draft, SLUG, "flows/wizard/filters.html", context, status=status)

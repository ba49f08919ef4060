"""Step 3, Map data fields: map source fields manually or from a CSV file, download the mapping,
add formulas, modify values, add validations; Preview. Each action posts the page's one form and
is saved to the draft at once (POST/redirect/GET), so leaving and coming back keeps it; Next
checks everything and moves on. The choices live in the draft's tasks (flows.wizard.mapping)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from flows.document import validate_flow_document
from flows.engine import PlanError, compile_plan
from flows.engine import words as engine_words
from flows.models import FlowDraft
from flows.wizard import drafts, frame, shape, words
from flows.wizard import fields_common as common
from flows.wizard.mapping import (
    ACTIONS,
    ARITHMETIC,
    CHECK_WORDS,
    FieldChoices,
    FieldMapping,
    Formula,
    Modification,
    ValidationRule,
    choice_problems,
)
from flows.wizard.mapping_csv import mapping_csv, parse_mapping_csv

SLUG = "map"
MAX_UPLOAD = 1024 * 1024  # read one byte more than a mapping file may have, to say it is too big
FORMULA_SLOTS = (1, 2, 3, 4)  # fields a formula form offers, in order (tasks may name more)
TYPES = ("string", "integer", "double", "boolean", "date", "datetime")
MODIFY_WORDS = {"mask_all": "Mask all characters", "mask_first": "Mask the first N characters",
                "mask_last": "Mask the last N characters", "truncate": "Truncate to N characters"}


def view(request: HttpRequest, draft: FlowDraft) -> HttpResponse:
    polled = common.preview_poll(request, draft, SLUG)
    if polled is not None:
        return polled
    document = draft.data
    src = common.source(document)
    chosen = common.choices(document, src)
    if request.method == "GET" and request.GET.get("download") == "csv":
        return _download(draft, chosen)
    if request.method == "GET":
        return _page(request, draft, src, chosen)
    action, _, index = (request.POST.get("action") or "save").partition(":")
    if action == "preview" and src.error:
        return common.start_preview(request, draft, SLUG)  # it will say what the source answers
    if src.error:
        return _page(request, draft, src, chosen, {"fields": [src.error]}, status=400)
    _apply_destination_edits(request, chosen)
    problems = _act(request, action, index, chosen, src)
    if problems and action == "preview" and request.htmx:
        return common.preview_blocked(request, draft, SLUG, [p for ps in problems.values() for p in ps])
    if problems:
        return _page(request, draft, src, chosen, problems, status=400)
    document = common.with_choices(document, chosen)
    if action in ("next", "review"):
        if action == "review":  # "Save and go to review" (frame.advance reads "go")
            request.POST = request.POST.copy()
            request.POST["go"] = "review"
        problems = _complete(chosen, src, document)
        if problems:
            return _page(request, draft, src, chosen, problems, status=400)
        return frame.advance(request, draft, SLUG, document)
    common.keep(draft, document)
    if action == "preview":
        return common.start_preview(request, draft, SLUG)
    return redirect(drafts.step_url(draft, SLUG) + _ANCHORS.get(action, ""))


_ANCHORS = {"add_formula": "#formulas", "remove_formula": "#formulas", "add_modification": "#modify",
            "remove_modification": "#modify", "add_validation": "#validations",
            "remove_validation": "#validations", "upload_csv": "#mapped", "remove_map": "#mapped",
            "map_selected": "#mapped", "map_all": "#mapped", "save": "#mapped"}


def _act(request: HttpRequest, action: str, index: str, chosen: FieldChoices, src) -> dict[str, list[str]]:
    """Apply one action to `chosen`; returns problems by section ({} when it can be saved)."""
    post = request.POST
    types = src.types
    if action in ("map_selected", "map_all"):
        names = [f.name for f in src.fields] if action == "map_all" else post.getlist("selected")
        if not names:
            return {"fields": ["Select the source fields to map first (tick them in the list)."]}
        taken = set(chosen.destinations())
        skipped = []
        for name in names:
            if name not in types:
                return {"fields": [f'The source object has no field "{name}".']}
            if name in taken:
                skipped.append(name)
                continue
            chosen.maps.append(FieldMapping(name, name, types[name]))
            taken.add(name)
        if skipped and action == "map_selected":
            return {"fields": [f"Already a destination field: {', '.join(skipped)}. Rename the existing "
                               "mapping first, or map the field under another name below."]}
    elif action == "upload_csv":
        upload = request.FILES.get("mapping_file")
        if upload is None:
            return {"csv": ["Choose a CSV file to upload."]}
        result = parse_mapping_csv(upload.read(MAX_UPLOAD + 1), types)
        if not result.ok:
            return {"csv": [str(p) for p in result.problems]}
        chosen.maps = [FieldMapping(s, d, types[s]) for s, d in result.pairs]
    elif action == "remove_map" and _valid_index(index, chosen.maps):
        del chosen.maps[int(index)]
    elif action == "add_formula":
        problems = _add_formula(post, chosen)
        if problems:
            return {"formulas": problems}
    elif action == "remove_formula" and _valid_index(index, chosen.formulas):
        del chosen.formulas[int(index)]
    elif action == "add_modification":
        length = post.get("mod_length", "").strip()
        chosen.modifications.append(Modification(
            post.get("mod_field", ""), post.get("mod_action", ""),
            int(length) if length.isdigit() else (0 if not length else -1), post.get("mod_mask") or "*"))
    elif action == "remove_modification" and _valid_index(index, chosen.modifications):
        del chosen.modifications[int(index)]
    elif action == "add_validation":
        chosen.validations.append(ValidationRule(post.get("val_field", ""), post.get("val_condition", ""),
                                                 post.get("val_action", "drop")))
    elif action == "remove_validation" and _valid_index(index, chosen.validations):
        del chosen.validations[int(index)]
    return _by_section(choice_problems(chosen, types))




def _add_formula(post, chosen: FieldChoices) -> list[str]:
    kind = post.get("formula_kind", "concat")
    names = [post.get(f"formula_field_{k}", "") for k in FORMULA_SLOTS]
    names = [n for n in names if n]
    destination = post.get("formula_destination", "").strip()
    if len(names) < 2:
        return ["Select two or more mapped fields for the formula."]
    if not destination:
        return ["Name the destination field the formula writes."]
    operator = post.get("formula_operator", "+")
    if kind == "arithmetic" and operator not in ARITHMETIC:
        return ["Choose +, -, * or /."]
    chosen.formulas.append(Formula(kind, names, destination, separator=post.get("formula_separator", ""),
                                   operator=operator))
    return []


def _apply_destination_edits(request: HttpRequest, chosen: FieldChoices) -> None:
    """The mapped fields' destination names and types as the form shows them (every action posts
    them, so nothing typed is lost)."""
    for i, m in enumerate(chosen.maps):
        name = request.POST.get(f"dest-{i}")
        if name is not None:
            m.destination = name.strip()
        kind = request.POST.get(f"dtype-{i}")
        if kind is not None:
            m.destination_type = "" if kind == m.source_type else kind


def _complete(chosen: FieldChoices, src, document: dict) -> dict[str, list[str]]:
    if not chosen.maps and not chosen.formulas and not any(
            t.get("taskType") in ("Map_all", "Passthrough") for t in chosen.other_tasks):
        return {"fields": ["Map at least one field: select fields and choose Map fields directly, "
                           "Map all fields directly, or upload a CSV file."]}
    try:
        compile_plan(document.get("tasks"))
    except PlanError as exc:
        return {"fields": str(exc).splitlines()}
    # what the validator says about the tasks (e.g. an operator this source's connector lacks);
    # the other parts of the document belong to other steps
    problems = [str(e) for e in validate_flow_document(document) if e.path.startswith("tasks")]
    return {"fields": problems} if problems else {}


def _by_section(problems: list[tuple[str, str]]) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    for where, message in problems:
        section = where.split(".")[0]
        if section == "maps":
            section = "mapped"
            number = int(where.split(".")[1]) + 1 if "." in where else 0
            message = f"Row {number}: {message}" if number else message
        sections.setdefault(section, []).append(message)
    return sections


def _valid_index(index: str, items: list) -> bool:
    return index.isdigit() and int(index) < len(items)


def _download(draft: FlowDraft, chosen: FieldChoices) -> HttpResponse:
    response = HttpResponse(mapping_csv(chosen.pairs()), content_type="text/csv; charset=utf-8")
    name = "".join(c if c.isalnum() or c in "-_." else "-" for c in draft.title)[:80] or "flow"
    response["Content-Disposition"] = f'attachment; filename="{name}-mapping.csv"'
    return response


def _page(request: HttpRequest, draft: FlowDraft, src, chosen: FieldChoices,
          problems: dict[str, list[str]] | None = None, *, status: int = 200) -> HttpResponse:
    document = draft.data
    mapped_sources = list(dict.fromkeys(m.source for m in chosen.maps))
    described = words.describe(chosen)  # as the review step, the flow page and the run log say them
    context = {
        "source_error": src.error,
        "fields": [{"name": f.name, "type": f.data_type, "mapped": f.name in mapped_sources}
                   for f in src.fields],
        "choices": chosen,
        "formula_lines": list(zip(chosen.formulas, described["formulas"], strict=True)),
        "modification_lines": list(zip(chosen.modifications, described["modifications"], strict=True)),
        "validation_lines": list(zip(chosen.validations, described["validations"], strict=True)),
        "maps": list(enumerate(chosen.maps)),
        "mapped_sources": mapped_sources,
        "destination_fields": common.destination_fields(document) if src.fields else [],
        "types": TYPES,
        "problems": problems or {},
        "posted": request.POST if request.method == "POST" else {},
        "arithmetic": list(ARITHMETIC),
        "formula_slots": FORMULA_SLOTS,
        "modify_words": MODIFY_WORDS,
        "check_words": CHECK_WORDS,
        "actions": {key: engine_words.ACTION_WORDS[action] for key, action in ACTIONS.items()},
        "action_keys": list(ACTIONS),
        "source_entity": shape.entity(shape.config(document, "source"), "source"),
        "destination_entity": shape.entity(shape.config(document, "destination"), "destination"),
        "preview": common.latest_preview(draft),
        "step_slug": SLUG,
        "other_tasks": chosen.other_tasks,
    }
    return frame.render_step(request, draft, SLUG, "flows/wizard/map.html", context, status=status)

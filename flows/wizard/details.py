"""Step 1, Flow details: name, description, data encryption and tags, checked as the user types
(htmx posts the form with validate=1 and gets each field's error slot back out of band) and
again when the step is saved. The rules are the flow document's (flows/document)."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from flows.document.appflow_model import (
    DESCRIPTION_MAX,
    FLOW_NAME_MAX,
    FLOW_NAME_PATTERN,
    KMS_ARN_MAX,
    TAGS_MAX,
)
from flows.document.endpoints import NAME_RULE
from flows.document.validate import _tag_key_problem, _tag_value_problem
from flows.models import Flow, FlowDraft
from flows.wizard import frame

SLUG = "details"
EMPTY_TAG_ROWS = 1  # blank rows offered below the tags already given


class DetailsForm(forms.Form):
    name = forms.CharField(
        label="Flow name", max_length=FLOW_NAME_MAX, strip=True,
        help_text="Letters, digits and ! @ # . - _ , starting with a letter or digit; up to 256 "
                  "characters. It cannot be changed later.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    description = forms.CharField(
        label="Description", required=False, max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"Up to {DESCRIPTION_MAX} characters.",
    )
    encryption = forms.ChoiceField(
        label="Data encryption", widget=forms.RadioSelect,
        choices=[("default", "Use the default key"),
                 ("custom", "Choose a KMS key (for destinations with server-side encryption: Amazon S3)")],
        initial="default",
    )
    kms_key = forms.CharField(
        label="KMS key ID or ARN", required=False, max_length=KMS_ARN_MAX,
        help_text="Kept as the flow's kmsArn. An Amazon S3 destination encrypts what it writes with its "
                  "connection's server-side encryption setting (SSE-S3 or SSE-KMS with this kind of key).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, data=None, *, draft: FlowDraft, document: dict | None = None):
        self.draft = draft
        initial = {}
        if document is not None:
            initial = {
                "name": document.get("flowName", ""),
                "description": document.get("description", ""),
                "encryption": "custom" if document.get("kmsArn") else "default",
                "kms_key": document.get("kmsArn", ""),
            }
        super().__init__(data, initial=initial)
        if draft.flow_id:
            # As in AppFlow: a flow's name (and its key) stay what they were created with.
            for name in ("name", "encryption", "kms_key"):
                self.fields[name].disabled = True
            self.fields["name"].initial = draft.flow.name
        self.tag_rows = tag_rows_from(data) if data is not None else tag_rows_from_document(document or {})
        self.tags_error = ""

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if not FLOW_NAME_PATTERN.fullmatch(name):
            raise forms.ValidationError(f"The name {NAME_RULE}.")
        others = Flow.objects.filter(name=name)
        if self.draft.flow_id:
            others = others.exclude(pk=self.draft.flow_id)
        if others.exists():
            raise forms.ValidationError(f'A flow named "{name}" already exists. Choose another name.')
        return name

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("encryption") == "custom" and not (cleaned.get("kms_key") or "").strip():
            self.add_error("kms_key", "Give the KMS key ID or ARN, or choose the default key.")
        check_tags(self)
        return cleaned

    def apply(self, document: dict) -> dict:
        """The document with this step's keys set (and emptied ones removed)."""
        document = dict(document)
        data = self.cleaned_data
        document["flowName"] = data["name"]
        for key, value in (("description", data.get("description", "")),
                           ("kmsArn", (data.get("kms_key") or "").strip()
                            if data.get("encryption") == "custom" else "")):
            if value:
                document[key] = value
            else:
                document.pop(key, None)
        document["tags"] = {row["key"]: row["value"] for row in self.tag_rows if row["key"] or row["value"]}
        return document


def tag_rows_from(data) -> list[dict]:
    """The tag rows of a posted form (tag_key_N, tag_value_N for N below tag_rows)."""
    try:
        count = min(int(data.get("tag_rows", 0)), TAGS_MAX + 10)
    except (TypeError, ValueError):
        count = 0
    return [{"key": data.get(f"tag_key_{i}", "").strip(), "value": data.get(f"tag_value_{i}", ""),
             "key_error": "", "value_error": ""} for i in range(count)]


def tag_rows_from_document(document: dict) -> list[dict]:
    tags = document.get("tags") if isinstance(document.get("tags"), dict) else {}
    rows = [{"key": str(k), "value": str(v), "key_error": "", "value_error": ""} for k, v in tags.items()]
    return rows + [{"key": "", "value": "", "key_error": "", "value_error": ""}
                   for _ in range(EMPTY_TAG_ROWS)]


def check_tags(form: DetailsForm) -> None:
    """Each row's key and value against AppFlow's rules; keys unique (case-sensitive); at most 50."""
    seen: set[str] = set()
    used = [row for row in form.tag_rows if row["key"] or row["value"]]
    for row in used:
        key = row["key"]
        row["key_error"] = _tag_key_problem(key) or ""
        if not row["key_error"] and key in seen:
            row["key_error"] = f'The key "{key}" is used twice. Keys must be unique.'
        seen.add(key)
        row["value_error"] = _tag_value_problem(row["value"]) or ""
    if len(used) > TAGS_MAX:
        form.tags_error = f"A flow has at most {TAGS_MAX} tags; this one has {len(used)}. Remove some."
    if form.tags_error or any(row["key_error"] or row["value_error"] for row in used):
        form.add_error(None, "Some tags need fixing (see each tag).")


def view(request: HttpRequest, draft: FlowDraft) -> HttpResponse:
    if request.method != "POST":
        form = DetailsForm(draft=draft, document=draft.data)
        return page(request, draft, form)
    form = DetailsForm(request.POST, draft=draft)
    if request.POST.get("validate"):
        # Inline validation (htmx): only the error slots come back, swapped in out of band.
        form.is_valid()
        return render(request, "flows/wizard/_details_errors.html", {"form": form, "oob": True})
    if "add_tag" in request.POST:
        form.tag_rows.append({"key": "", "value": "", "key_error": "", "value_error": ""})
        return page(request, draft, form, focus_row=len(form.tag_rows) - 1, show_errors=False)
    if "remove_tag" in request.POST:
        try:
            del form.tag_rows[int(request.POST["remove_tag"])]
        except (ValueError, IndexError):
            pass
        return page(request, draft, form, show_errors=False)
    if form.is_valid():
        return frame.advance(request, draft, SLUG, form.apply(draft.data))
    return page(request, draft, form, status=400)


def page(request, draft, form, *, status: int = 200, focus_row: int | None = None,
         show_errors: bool = True) -> HttpResponse:
    """Adding or removing a tag row re-renders the form without judging it: errors show once
    the user saves, or as they type (inline validation)."""
    context = {"form": form, "focus_row": focus_row, "show_errors": show_errors and form.is_bound}
    return frame.render_step(request, draft, SLUG, "flows/wizard/details.html", context, status=status)

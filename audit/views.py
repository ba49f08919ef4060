"""The audit log page and its CSV export: the same filters, from GET parameters, so a filtered
view is a link that can be shared (docs/audit.md). Staff only until roles decide (audit:log,
audit:export)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from functools import wraps

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

import audit
from audit.models import AuditEvent

PER_PAGE = 50
CSV_COLUMNS = [
    "at",
    "actor",
    "access_key_id",
    "via",
    "address",
    "action",
    "object_type",
    "object_name",
    "object_id",
    "outcome",
    "message",
    "changes",
]


def staff_only(view: Callable) -> Callable:
    @wraps(view)
    def inner(request: HttpRequest, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("The audit log is for administrators.")
        return view(request, *args, **kwargs)

    return inner


class AuditFilter(forms.Form):
    user = forms.CharField(required=False, label="User")
    object = forms.CharField(required=False, label="Object", help_text="name or type")
    action = forms.CharField(required=False, label="Action")
    outcome = forms.ChoiceField(
        required=False, label="Outcome", choices=[("", "Any"), *AuditEvent.Outcome.choices]
    )
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("From: must be on or before To.")
        return data


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def filtered(data: dict) -> QuerySet:
    rows = AuditEvent.objects.all()
    if data.get("user"):
        rows = rows.filter(Q(actor__iexact=data["user"]) | Q(access_key_id__iexact=data["user"]))
    if data.get("object"):
        rows = rows.filter(Q(object_name__icontains=data["object"]) | Q(object_type__iexact=data["object"]))
    if data.get("action"):
        # "flow" finds every flow action, "flow.update" that one.
        rows = rows.filter(Q(action__iexact=data["action"]) | Q(action__istartswith=data["action"] + "."))
    if data.get("outcome"):
        rows = rows.filter(outcome=data["outcome"])
    if data.get("since"):
        rows = rows.filter(at__gte=_day_start(data["since"]))
    if data.get("until"):
        rows = rows.filter(at__lt=_day_start(data["until"] + timedelta(days=1)))
    return rows.order_by("-at", "-id")


@staff_only
@require_safe
def log(request: HttpRequest) -> HttpResponse:
    form = AuditFilter(request.GET or None)
    valid = form.is_valid() if request.GET else True
    rows = filtered(form.cleaned_data if request.GET and valid else {})
    if not valid:
        rows = rows.none()
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "actions": AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct(),
    }
    return render(request, "audit/log.html", context, status=200 if valid else 400)


class _Echo:
    def write(self, value: str) -> str:
        return value


@staff_only
@require_safe
def export(request: HttpRequest) -> HttpResponse:
    form = AuditFilter(request.GET or None)
    if request.GET and not form.is_valid():
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        return HttpResponse(f"The filter is not valid: {errors}", status=400, content_type="text/plain")
    rows = filtered(form.cleaned_data if request.GET else {})
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(CSV_COLUMNS)
        for row in rows.iterator(chunk_size=1000):
            yield writer.writerow(
                [
                    row.at.isoformat(),
                    _cell(row.actor),
                    row.access_key_id,
                    row.via,
                    row.address or "",
                    row.action,
                    row.object_type,
                    _cell(row.object_name),
                    row.object_id,
                    row.outcome,
                    _cell(row.message),
                    _cell(json.dumps(row.changes, ensure_ascii=False, sort_keys=True)),
                ]
            )

    with transaction.atomic():
        audit.record(
            "audit.export", object_type="audit", name="audit log", changes={"filter": request.GET.dict()}
        )
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="sluice-audit-{timezone.now():%Y%m%d-%H%M%S}.csv"'
    )
    return response


def _cell(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection): a leading = + - @ is quoted."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text

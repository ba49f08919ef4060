"""Flow pages: the list, one flow (details, field settings, document, history), one execution,
import and delete. Views parse, call one service function, render; htmx swaps get partials."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts import access
from console.errors import UserError
from console.run_charts import flow_chart_context
from flows import filters, guardrails, salesforce_events, services
from flows.field_settings import field_settings
from flows.forms import DeleteFlowForm, ImportFlowForm
from flows.models import EventEndpoint, EventSubscription, Execution, Flow, FlowDraft
from flows.schedules import upcoming
from flows.version_views import versions_context

FLOWS_PER_PAGE = 25
EXECUTIONS_PER_PAGE = 20
LOG_LINES_SHOWN = 1000
ACTIVITY_SHOWN = 20
DELIVERIES_SHOWN = 25
SUBSCRIBER_SILENT_AFTER = timedelta(minutes=1)


# --- reading a flow document for people -------------------------------------------------------


def flows_with_last_run(user) -> QuerySet[Flow]:
    """The flows the user may see, with their current version and the status/time of their newest
    execution, in one query."""
    newest = Execution.objects.filter(flow=OuterRef("pk")).order_by("-created_at")
    return (
        access.visible(user, Flow.objects.select_related("current_version"))
        .annotate(
            last_run_status=Subquery(newest.values("status")[:1]),
            last_run_at=Subquery(newest.values("created_at")[:1]),
            last_run_id=Subquery(newest.values("id")[:1]),
        )
        .order_by("name")
    )


def _inner(properties: Any) -> dict:
    """AppFlow nests connector properties under the connector's key: {"S3": {...}} -> {...}."""
    if isinstance(properties, dict) and properties:
        inner = next(iter(properties.values()))
        return inner if isinstance(inner, dict) else {}
    return {}


def describe_endpoint(config: Any, properties_key: str) -> dict[str, str]:
    """Connector, connection, entity and file type of a source or destination config."""
    if not isinstance(config, dict):
        return {}
    inner = _inner(config.get(properties_key))
    entity = inner.get("object") or inner.get("entityName")
    if not entity and inner.get("bucketName"):
        entity = "/".join(filter(None, [inner.get("bucketName"), inner.get("bucketPrefix")]))
    file_type = (inner.get("customProperties") or {}).get("fileType") or (
        inner.get("s3OutputFormatConfig") or {}
    ).get("fileType")
    return {
        "connector_type": str(config.get("connectorType") or ""),
        "connector_label": str(config.get("connectorLabel") or ""),
        "connection": str(config.get("connectorProfileName") or ""),
        "entity": str(entity or ""),
        "file_type": str(file_type or ""),
        "write_operation": str(inner.get("writeOperationType") or ""),
    }


def describe_flow(document: dict) -> dict[str, dict]:
    destinations = document.get("destinationFlowConfigList") or [{}]
    return {
        "source": describe_endpoint(document.get("sourceFlowConfig"), "sourceConnectorProperties"),
        "destination": describe_endpoint(destinations[0], "destinationConnectorProperties"),
    }


# --- pages ---------------------------------------------------------------------------------------


def incremental_field(document: dict) -> str:
    pull = (document.get("sourceFlowConfig") or {}).get("incrementalPullConfig") or {}
    return str(pull.get("datetimeTypeFieldName") or "")


def flow_list(request: HttpRequest) -> HttpResponse:
    chosen, query = filters.flow_filters(request.GET)
    page = Paginator(flows_with_last_run(request.user).filter(query), FLOWS_PER_PAGE).get_page(
        request.GET.get("page"))
    rows = [(flow, describe_flow(flow.definition)) for flow in page]
    drafts = FlowDraft.objects.filter(owner=request.user).select_related("flow")
    context = {"page": page, "rows": rows, "drafts": drafts, "filters": chosen, **filters.choices_context()}
    return render(request, "flows/list.html", context)


def history_context(request: HttpRequest, flow: Flow, page_number: Any = None) -> dict[str, Any]:
    chosen, query = filters.execution_filters(request.GET)
    executions = (flow.executions.filter(query).select_related("started_by")
                  .annotate(version_number=F("version__number")).order_by("-created_at"))
    page: Page = Paginator(executions, EXECUTIONS_PER_PAGE).get_page(page_number or request.GET.get("page"))
    return {
        "flow": flow,
        "page": page,
        "history_filters": chosen,
        # Its runs start when Salesforce events arrive: no Run now, no backfill window.
        "on_salesforce_events": salesforce_events.event_channel(flow) is not None,
        **filters.choices_context(),
        # Poll only while something on this page can still change.
        "polling": any(not execution.is_finished for execution in page),
    }


def flow_detail(request: HttpRequest, name: str, new_secret: str = "") -> HttpResponse:
    flow = get_object_or_404(Flow.objects.select_related("current_version__created_by"), name=name)
    history = history_context(request, flow)
    if request.htmx and request.htmx.target == "history":
        return render(request, "flows/_history.html", history)
    document = flow.definition
    context = {
        **history,
        **schedule_context(flow),
        **webhook_context(request, flow, new_secret),
        **versions_context(flow),
        **flow_chart_context(request, flow),
        "activity": flow.activity.select_related("user")[:ACTIVITY_SHOWN],
        "running": flow.executions.filter(status=Execution.Status.IN_PROGRESS).count(),
        "guardrails": guardrails.describe(flow),
        "version": flow.current_version,
        "summary": describe_flow(document),
        "trigger": document.get("triggerConfig") or {},
        "incremental_field": incremental_field(document),
        "fields": field_settings(document.get("tasks")),
        "document_json": json.dumps(document, indent=2, ensure_ascii=False),
        # Offer only what the person may do (the pages check again); roles are read once per request.
        "may": {action: access.can(request.user, action, flow) for action in ("edit", "delete")},
    }
    return render(request, "flows/detail.html", context)


def schedule_context(flow: Flow) -> dict[str, Any]:
    """The next runs of a Scheduled flow, in its zone and in UTC; a broken schedule is shown as the
    error it is rather than a stack trace."""
    if flow.trigger_type != "Scheduled" or flow.current_version is None:
        return {}
    try:
        config = services.schedule_config(flow)
    except UserError as exc:
        return {"schedule_error": exc.errors[0]}
    active = flow.status == Flow.Status.ACTIVE
    now = timezone.now()
    if active and flow.next_run_at:
        runs = upcoming(config, flow.next_run_at - timedelta(microseconds=1), anchor=flow.activated_at)
    else:
        runs = upcoming(config, now)
    # a flow in UTC gets one column: two would say the same thing under the same heading
    zone_is_utc = config.zone.key in ("UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu")
    return {"schedule": config, "upcoming": runs, "upcoming_is_preview": not active,
            "upcoming_zone_is_utc": zone_is_utc}


def webhook_context(request: HttpRequest, flow: Flow, new_secret: str) -> dict[str, Any]:
    if flow.trigger_type != "Event":
        return {}
    channel = salesforce_events.event_channel(flow)
    if channel:  # runs on Salesforce events: the subscriber's state instead of a webhook
        subscription = EventSubscription.objects.filter(flow=flow).first()
        # The subscriber beats every fraction of a second: a minute of silence on an active flow
        # means its process is not running (or cannot reach the database).
        stale = (flow.status == Flow.Status.ACTIVE and subscription is not None
                 and subscription.heartbeat_at is not None
                 and subscription.heartbeat_at < timezone.now() - SUBSCRIBER_SILENT_AFTER)
        return {"salesforce_channel": channel, "subscription": subscription, "subscriber_silent": stale,
                "events_waiting": flow.received_events.filter(execution__isnull=True).count()}
    endpoint = EventEndpoint.objects.filter(flow=flow).first()
    url = request.build_absolute_uri(reverse("webhook", args=[endpoint.token])) if endpoint else ""
    return {
        "webhook": endpoint,
        "webhook_url": url,
        "new_secret": new_secret,
        "deliveries": flow.event_deliveries.select_related("execution")[:DELIVERIES_SHOWN],
    }


def _act(request: HttpRequest, name: str, action) -> HttpResponse:
    flow = get_object_or_404(Flow.objects.select_related("current_version"), name=name)
    try:
        flow = action(flow, user=request.user)
    except UserError as exc:
        for error in exc.errors:
            messages.error(request, error)
    else:
        if flow.status == Flow.Status.ACTIVE:
            when = f" Next run {flow.next_run_at:%Y-%m-%d %H:%M:%S} UTC." if flow.next_run_at else ""
            messages.success(request, f'Activated "{flow.name}".{when}')
        else:
            messages.info(request, f'Deactivated "{flow.name}": no more {flow.trigger_type.lower()} runs '
                                   "until it is activated again. Its history is kept.")
    return redirect("flows:detail", name=flow.name)


@require_POST
def flow_cancel_all(request: HttpRequest, name: str) -> HttpResponse:
    """CancelFlowExecutions without ids: every run of the flow that is in progress."""
    flow = get_object_or_404(Flow, name=name)
    canceled = services.cancel_executions(flow, user=request.user)
    if canceled:
        runs = f"{len(canceled)} run{'s' if len(canceled) != 1 else ''}"
        messages.info(request, f"Cancel requested for {runs}: each stops after the batch it is working on.")
    else:
        messages.warning(request, "Nothing to cancel: no run of this flow is in progress.")
    return redirect("flows:detail", name=name)


@require_POST
def flow_activate(request: HttpRequest, name: str) -> HttpResponse:
    return _act(request, name, services.activate_flow)


@require_POST
def flow_deactivate(request: HttpRequest, name: str) -> HttpResponse:
    return _act(request, name, services.deactivate_flow)


@require_POST
def flow_retries(request: HttpRequest, name: str) -> HttpResponse:
    flow = get_object_or_404(Flow, name=name)
    try:
        flow = services.set_transient_retries(flow, request.POST.get("retries", ""), user=request.user)
    except UserError as exc:
        for error in exc.errors:
            messages.error(request, error)
    else:
        retries = flow.transient_retries
        messages.success(request, f"Runs of this flow retry transient errors up to {retries} times.")
    return redirect("flows:detail", name=name)


def flow_download(request: HttpRequest, name: str) -> HttpResponse:
    """The stored text itself, not a re-serialisation: what was imported is what comes back."""
    flow = get_object_or_404(Flow.objects.select_related("current_version"), name=name)
    if flow.current_version is None:
        raise Http404(f'The flow "{name}" has no saved definition.')
    response = HttpResponse(flow.current_version.document, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{flow.name}.json"'
    return response


def with_messages(request: HttpRequest, html: str) -> HttpResponse:
    """An htmx answer that also refreshes the messages area (out of band), so a swap that did
    something says so the way a full page would."""
    return HttpResponse(html + render_to_string("_messages.html", {"oob": True}, request=request))


@require_POST
def flow_run(request: HttpRequest, name: str) -> HttpResponse:
    flow = get_object_or_404(Flow.objects.select_related("current_version"), name=name)
    try:
        window = services.backfill_window(_utc_field(request, "window_start", "Backfill start"),
                                          _utc_field(request, "window_end", "Backfill end"))
        execution = services.start_flow(flow, user=request.user, window=window)
    except UserError as exc:
        for error in exc.errors:
            messages.error(request, error)
        execution = None
    else:
        messages.success(request, f"Run started: execution {execution.id}.")
    if request.htmx:
        html = render_to_string("flows/_history.html", history_context(request, flow, 1), request=request)
        return with_messages(request, html)
    if execution is None:
        return redirect("flows:detail", name=flow.name)
    return redirect("flows:execution", name=flow.name, execution_id=execution.id)


@require_POST
def flow_guardrails(request: HttpRequest, name: str) -> HttpResponse:
    flow = get_object_or_404(Flow, name=name)
    try:
        flow = guardrails.configure(
            flow, zero_records=request.POST.get("zero_records") == "on",
            change_percent=request.POST.get("change_percent", ""),
            baseline_runs=request.POST.get("baseline_runs", ""), action=request.POST.get("action", ""),
            user=request.user,
        )
    except UserError as exc:
        for error in exc.errors:
            messages.error(request, error)
    else:
        messages.success(request, f"Guardrails saved: {guardrails.describe(flow)}.")
    return redirect(reverse("flows:detail", args=[name]) + "#guardrails")


@require_POST
def execution_retry_rejected(request: HttpRequest, name: str, execution_id: UUID) -> HttpResponse:
    execution = get_execution(name, execution_id)
    try:
        retry = services.retry_rejected_records(execution, user=request.user)
    except UserError as exc:
        for error in exc.errors:
            messages.error(request, error)
        return redirect("flows:execution", name=name, execution_id=execution_id)
    messages.success(request, f"Retrying the rejected records of execution {execution.id}: "
                              f"execution {retry.id}.")
    return redirect("flows:execution", name=name, execution_id=retry.id)


def _utc_field(request: HttpRequest, name: str, label: str) -> datetime | None:
    """A datetime-local (or ISO 8601) form value; read as UTC when it names no zone."""
    value = (request.POST.get(name) or "").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"{label}: \"{value}\" is not a time; use YYYY-MM-DD HH:MM (UTC).") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def execution_context(execution: Execution) -> dict[str, Any]:
    lines = list(execution.log_lines.all()[: LOG_LINES_SHOWN + 1])
    return {
        "execution": execution,
        "retries_of_rejects": execution.reprocess_runs.order_by("-created_at")[:10],
        "flow": execution.flow,
        "log_lines": lines[:LOG_LINES_SHOWN],
        "more_log_lines": len(lines) > LOG_LINES_SHOWN,
        # a run tried again after its worker was lost lists each attempt (flows/runner.py)
        "attempts": list(execution.attempts.all()) if execution.attempt > 1 else [],
    }


def get_execution(name: str, execution_id: UUID) -> Execution:
    return get_object_or_404(
        Execution.objects.select_related("flow__current_version", "version", "started_by", "reprocess_of"),
        pk=execution_id, flow__name=name,
    )


def execution_detail(request: HttpRequest, name: str, execution_id: UUID) -> HttpResponse:
    context = execution_context(get_execution(name, execution_id))
    if request.htmx and request.htmx.target == "execution-status":
        # The status poll: only the part that changes while the run goes on.
        return render(request, "flows/_execution_status.html", context)
    return render(request, "flows/execution.html", context)


@require_POST
def execution_cancel(request: HttpRequest, name: str, execution_id: UUID) -> HttpResponse:
    execution = get_execution(name, execution_id)
    try:
        canceled = services.cancel_executions(execution.flow, [str(execution.id)], user=request.user)
    except UserError as exc:
        for error in exc.errors:
            messages.error(request, error)
    else:
        if canceled:
            messages.info(request, "Cancel requested: the run stops after the batch it is working on.")
        else:
            execution.refresh_from_db(fields=["status"])
            messages.warning(request, f"Nothing to cancel: this execution is {execution.status}.")
    if request.htmx:
        execution = get_execution(name, execution_id)
        html = render_to_string("flows/_execution_status.html", execution_context(execution), request=request)
        return with_messages(request, html)
    return redirect("flows:execution", name=name, execution_id=execution_id)


@require_http_methods(["GET", "POST"])
def flow_import(request: HttpRequest) -> HttpResponse:
    errors: list[str] = []
    form = ImportFlowForm()
    if request.method == "POST":
        form = ImportFlowForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                flow = services.create_flow(form.cleaned_data["parsed"], user=request.user)
            except UserError as exc:
                errors = exc.errors
            else:
                messages.success(request, f'Imported the flow "{flow.name}".')
                return redirect("flows:detail", name=flow.name)
        else:
            errors = [*form.non_field_errors(), *(error for field in form for error in field.errors)]
        if form.files and hasattr(form, "text"):
            # Show the uploaded text in the textarea so the person can fix it in place.
            form = ImportFlowForm(initial={"document": form.text})
    context = {"form": form, "errors": [split_error(str(error)) for error in errors]}
    return render(request, "flows/import.html", context)


def split_error(text: str) -> tuple[str, str]:
    """"tasks[0].taskType: unknown value" -> ("tasks[0].taskType", "unknown value") so the path
    can be shown as code; errors without a path come back with an empty one."""
    path, sep, message = text.partition(": ")
    if sep and path == "(document)":  # the whole document: the message says where (line, column)
        return "", message
    if sep and path and " " not in path:
        return path, message
    return "", text


@require_http_methods(["GET", "POST"])
def flow_delete(request: HttpRequest, name: str) -> HttpResponse:
    flow = get_object_or_404(Flow, name=name)
    errors: list[str] = []
    form = DeleteFlowForm()
    if request.method == "POST":
        form = DeleteFlowForm(request.POST)
        if form.is_valid():
            try:
                canceled = services.delete_flow(flow, force=form.cleaned_data["force"], user=request.user)
            except UserError as exc:
                errors = exc.errors
            else:
                stopped = f" {len(canceled)} run(s) in progress were cancelled first." if canceled else ""
                messages.success(request, f'Deleted the flow "{name}" and its execution history.{stopped}')
                return redirect("flows:list")
    context = {
        "flow": flow,
        "form": form,
        "errors": errors,
        "running": flow.executions.exclude(status__in=Execution.FINISHED).count(),
        "execution_count": flow.executions.count(),
        "version_count": flow.versions.count(),
        "cancel_url": reverse("flows:detail", args=[flow.name]),
    }
    return render(request, "flows/delete.html", context)

"""The Django admin over flows and their history: read-only (history is a record, and flows change
through the console, the API or the CLI, which validate them), fast at 100,000 executions
(bench/pages.py), and in the console's words — trigger and status names as the pages spell them,
times to the second, a failed run's reason in the list."""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from console.admin_common import CappedPaginator, ReadOnlyAdmin, seconds, time_column
from flows.models import Execution, Flow, FlowVersion

ERROR_COLUMN_CHARS = 90
LOG_LINES_SHOWN = 200
# A search matches executions of at most this many flows (the flow quota's default is 1,000).
SEARCH_FLOWS = 1000


def one_line(text: str) -> str:
    """The first line of a reason, short enough for a table cell."""
    first = (text or "").strip().splitlines()
    return truncatechars(first[0], ERROR_COLUMN_CHARS) if first else ""


class ValueFilter(admin.SimpleListFilter):
    """A choice filter that shows the stored value ("OnDemand", "InProgress") as the console does,
    not Django's generated label ("On Demand")."""

    field = ""

    def lookups(self, request, model_admin):
        choices = model_admin.model._meta.get_field(self.field).choices
        return [(value, value) for value, _label in choices]

    def queryset(self, request, queryset):
        return queryset.filter(**{self.field: self.value()}) if self.value() else queryset


class StatusFilter(ValueFilter):
    title = "status"
    parameter_name = field = "status"


class TriggerFilter(ValueFilter):
    title = "trigger"
    parameter_name = field = "trigger"


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyAdmin):
    # Each filter and the one sort offered have an index (flows/models.py Execution.Meta); the
    # page counts at most CappedPaginator.cap rows and never the whole table.
    list_display = (
        "short_id", "flow_name", "run_status", "trigger_name", "created", "duration_column",
        "records", "failed", "error",
    )
    list_display_links = ("short_id",)
    list_filter = (StatusFilter, TriggerFilter, "created_at")
    sortable_by = ("created",)
    search_fields = ("flow name",)  # a label for the search box; get_search_results does the work
    search_help_text = "Part of a flow's name, or an execution id."
    list_select_related = ("flow",)
    list_per_page = 50
    paginator = CappedPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # a count per filter choice: a full scan each
    fieldsets = (
        (None, {"fields": ("id", "flow", "version", "run_status", "trigger_name", "started_by",
                           "reprocess_of", "error_message", "warning", "output_location",
                           "rejects_location")}),
        ("Times (UTC)", {"fields": ("created", "started", "finished", "heartbeat", "scheduled",
                                    "pull_start", "pull_end")}),
        ("Counters", {"fields": ("records_processed", "records_written", "records_filtered",
                                 "records_dropped", "record_failures", "bytes_processed", "bytes_written",
                                 "source_api_calls", "destination_api_calls", "token_refreshes")}),
        ("Worker", {"fields": ("worker", "attempt")}),
        ("Log", {"fields": ("log",)}),
    )

    created = time_column("created_at", "created", sortable=True)
    started = time_column("started_at", "started")
    finished = time_column("finished_at", "finished")
    heartbeat = time_column("heartbeat_at", "heartbeat")
    scheduled = time_column("scheduled_for", "scheduled for")
    pull_start = time_column("data_pull_start", "data pulled from")
    pull_end = time_column("data_pull_end", "data pulled to")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        """An execution id, or part of a flow's name. The name is matched on the flows table (small:
        bounded by the flow quota), then the executions are found by flow id through the
        (flow, created_at) index — not a LIKE over a join on every execution."""
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(pk=uuid.UUID(term)), False
        except ValueError:
            pass
        flow_ids = list(Flow.objects.filter(name__icontains=term).values_list("pk", flat=True)[:SEARCH_FLOWS])
        return queryset.filter(flow_id__in=flow_ids), False

    @admin.display(description="execution")
    def short_id(self, obj: Execution) -> str:
        return str(obj.id)[:8]

    @admin.display(description="flow")
    def flow_name(self, obj: Execution) -> str:
        return obj.flow.name

    @admin.display(description="status")
    def run_status(self, obj: Execution) -> str:
        return obj.display_status

    @admin.display(description="trigger")
    def trigger_name(self, obj: Execution) -> str:
        return obj.trigger

    @admin.display(description="duration")
    def duration_column(self, obj: Execution) -> str:
        duration = obj.duration
        return f"{duration.total_seconds():.1f} s" if duration is not None else "-"

    @admin.display(description="records")
    def records(self, obj: Execution) -> str:
        return f"{obj.records_processed:,}"

    @admin.display(description="failed")
    def failed(self, obj: Execution) -> str:
        return f"{obj.record_failures:,}"

    @admin.display(description="error")
    def error(self, obj: Execution) -> str:
        """The reason in one line; the full text is on the execution's page (and its tooltip)."""
        reason = obj.error_message or (obj.warning if obj.status == Execution.Status.SUCCESSFUL else "")
        line = one_line(reason)
        return format_html('<span title="{}">{}</span>', reason, line) if line else ""

    @admin.display(description="log lines")
    def log(self, obj: Execution) -> str:
        """The log with its text, newest last, as on the console's execution page (one query)."""
        lines = list(obj.log_lines.all()[: LOG_LINES_SHOWN + 1])
        if not lines:
            return "-"
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((seconds(line.at), line.level, line.message) for line in lines[:LOG_LINES_SHOWN]),
        )
        more = ""
        if len(lines) > LOG_LINES_SHOWN:
            url = reverse("flows:execution", args=[obj.flow.name, obj.id])
            more = format_html('<p>The first {} lines; <a href="{}">the execution\'s page</a> has more.</p>',
                               LOG_LINES_SHOWN, url)
        return format_html('<table class="sluice-log"><thead><tr><th>at</th><th>level</th><th>message</th>'
                           "</tr></thead><tbody>{}</tbody></table>{}", rows, more)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The list needs neither the run's documents nor its samples: keep rows small.
        return super().get_queryset(request).defer("failure_sample")


class FlowVersionInline(admin.TabularInline):
    model = FlowVersion
    fields = ("number", "created", "created_by")
    readonly_fields = fields
    extra = 0
    can_delete = False
    created = time_column("created_at", "created")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Flow)
class FlowAdmin(ReadOnlyAdmin):
    list_display = ("name", "status", "trigger_type", "updated")
    list_filter = ("status", "trigger_type")
    search_fields = ("name",)
    fields = ("name", "description", "status", "status_message", "trigger_type", "current_version",
              "next_run", "created", "updated", "created_by")
    inlines = [FlowVersionInline]
    updated = time_column("updated_at", "updated", sortable=True)
    created = time_column("created_at", "created")
    next_run = time_column("next_run_at", "next run")

from django.contrib import admin

from console.templatetags.sluice import first_line
from flows.models import Execution, ExecutionLog, Flow, FlowVersion


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is a record: admins read it, they do not edit it."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ExecutionLogInline(ReadOnlyInline):
    model = ExecutionLog
    fields = ("at", "level", "message")


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyAdmin):
    list_display = (
        "id", "flow", "status", "error", "trigger", "created_at", "finished_at",
        "records_processed", "record_failures", "bytes_written", "source_api_calls", "destination_api_calls",
    )
    list_filter = ("status", "trigger", ("flow", admin.RelatedOnlyFieldListFilter), "created_at")
    search_fields = ("flow__name", "=id")
    date_hierarchy = "created_at"
    list_select_related = ("flow",)
    inlines = [ExecutionLogInline]

    @admin.display(description="Error")
    def error(self, execution: Execution) -> str:
        """A failed run's one-line reason (the execution page has the whole message)."""
        return first_line(execution.error_message) if execution.status != Execution.Status.SUCCESSFUL else ""


class FlowVersionInline(ReadOnlyInline):
    model = FlowVersion
    fields = ("number", "created_at", "created_by")


@admin.register(Flow)
class FlowAdmin(ReadOnlyAdmin):
    list_display = ("name", "status", "trigger_type", "updated_at")
    list_filter = ("status", "trigger_type")
    search_fields = ("name",)
    exclude = ("connections",)
    inlines = [FlowVersionInline]

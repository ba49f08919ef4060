from django.contrib import admin

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read only: the log is written by the services, never edited by hand."""

    list_display = ["at", "actor", "action", "object_type", "object_name", "outcome", "address"]
    list_filter = ["outcome", "object_type"]
    search_fields = ["actor", "object_name", "action"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

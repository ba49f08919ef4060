from django.contrib import admin

from connections.models import Connection, ConnectionChange
from console.admin_common import CappedPaginator, ReadOnlyAdmin, time_column


@admin.register(Connection)
class ConnectionAdmin(ReadOnlyAdmin):
    """Connections without their secrets: the encrypted blob is never a field here, only whether
    it is set. Read-only: connections change through the console, the API or the CLI, which test
    them and record the change in the audit trail."""

    list_display = ("name", "connector_type", "connector_label", "status", "connection_mode", "updated")
    list_filter = ("connector_type", "status", "connection_mode")
    search_fields = ("name",)
    fields = (
        "name", "connector_type", "connector_label", "connection_mode", "properties",
        "credentials_set", "status", "status_message", "last_test_ok",
        "created_by", "created", "updated_by", "updated",
    )
    updated = time_column("updated_at", "updated", sortable=True)
    created = time_column("created_at", "created")
    last_test_ok = time_column("last_test_ok_at", "last test passed")

    @admin.display(boolean=True, description="credentials set")
    def credentials_set(self, obj: Connection) -> bool:
        return obj.has_credentials


@admin.register(ConnectionChange)
class ConnectionChangeAdmin(ReadOnlyAdmin):
    """The audit trail: nobody edits history. It only grows: counted up to a cap, as executions."""

    list_display = ("when", "connection_name", "action", "user", "address")
    list_filter = ("action",)
    search_fields = ("connection_name",)
    paginator = CappedPaginator
    show_full_result_count = False
    when = time_column("at", "at", sortable=True)

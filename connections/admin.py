from django.contrib import admin

from connections.models import Connection, ConnectionChange


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    """Connections without their secrets: the encrypted blob is never a field here, only whether
    it is set. Secrets change through the console or the CLI, which re-test the connection."""

    list_display = ("name", "connector_type", "connector_label", "status", "connection_mode", "updated_at")
    list_filter = ("connector_type", "status", "connection_mode")
    search_fields = ("name",)
    fields = (
        "name", "connector_type", "connector_label", "connection_mode", "properties",
        "credentials_set", "status", "status_message", "last_test_ok_at",
        "created_by", "created_at", "updated_by", "updated_at",
    )
    readonly_fields = (
        "connector_type", "connector_label", "credentials_set", "status", "status_message",
        "last_test_ok_at", "created_by", "created_at", "updated_by", "updated_at",
    )

    @admin.display(boolean=True, description="credentials set")
    def credentials_set(self, obj: Connection) -> bool:
        return obj.has_credentials

    def has_add_permission(self, request) -> bool:
        return False  # created through the console / CLI, which test them first


@admin.register(ConnectionChange)
class ConnectionChangeAdmin(admin.ModelAdmin):
    """The audit trail, read-only: nobody edits history."""

    list_display = ("at", "connection_name", "action", "user", "address")
    list_filter = ("action",)
    search_fields = ("connection_name",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

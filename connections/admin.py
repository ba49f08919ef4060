from django.contrib import admin

from connections.models import Connection


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    """Connections without their secrets: the encrypted blob is never a field here, only whether
    it is set. Secrets change through the console or the CLI, which re-test the connection."""

    list_display = ("name", "connector_type", "connector_label", "connection_mode", "updated_at")
    list_filter = ("connector_type", "connection_mode")
    search_fields = ("name",)
    fields = (
        "name", "connector_type", "connector_label", "connection_mode", "properties",
        "credentials_set", "created_by", "created_at", "updated_at",
    )
    readonly_fields = (
        "connector_type", "connector_label", "credentials_set", "created_by", "created_at", "updated_at"
    )

    @admin.display(boolean=True, description="credentials set")
    def credentials_set(self, obj: Connection) -> bool:
        return obj.has_credentials

    def has_add_permission(self, request) -> bool:
        return False  # created through the console / CLI, which test them first

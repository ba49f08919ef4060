from django.contrib import admin

from signin.models import LoginThrottle, SingleSignOnIdentity


@admin.register(LoginThrottle)
class LoginThrottleAdmin(admin.ModelAdmin):
    """Deleting a row unlocks that username or address at once."""

    list_display = ["key", "failures", "last_failure_at", "locked_until"]
    search_fields = ["key"]
    readonly_fields = ["key", "failures", "last_failure_at", "locked_until"]

    def has_add_permission(self, request):
        return False


@admin.register(SingleSignOnIdentity)
class SingleSignOnIdentityAdmin(admin.ModelAdmin):
    list_display = ["user", "email", "issuer", "subject", "last_login_at"]
    search_fields = ["email", "subject", "user__username"]
    readonly_fields = ["issuer", "subject", "email", "teams", "last_login_at"]

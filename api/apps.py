from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The AppFlow-compatible HTTP API (/api/appflow/) and its access keys."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "api"
    verbose_name = "AppFlow API"

from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    name = "connections"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from connections import (
            checks,  # noqa: F401  (registers the encryption key check)
            registrations,  # noqa: F401  (the registry learns the registered connectors)
        )

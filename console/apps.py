from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from console.security import stamp_login

        # Every login, whatever the path (a form, the admin, force_login in tests), starts the
        # session's idle clock (console/security.py SlidingSessionMiddleware).
        user_logged_in.connect(stamp_login, dispatch_uid="sluice-session-seen")

from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_save

        from console.initial_password import forget_when_changed
        from console.security import stamp_login

        # Every login, whatever the path (a form, the admin, force_login in tests), starts the
        # session's idle clock (console/security.py SlidingSessionMiddleware).
        user_logged_in.connect(stamp_login, dispatch_uid="sluice-session-seen")
        # The generated admin password's file goes at its first change (console/initial_password.py).
        post_save.connect(forget_when_changed, sender=get_user_model(),
                          dispatch_uid="sluice-initial-password")

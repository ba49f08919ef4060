from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.db import transaction

import audit
from audit.address import client_address
from signin import lockout


class LockoutAuthenticationForm(AuthenticationForm):
    """Django's login form, refusing while the username or the address is locked out
    (signin/lockout.py) and recording each attempt in the audit log."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request) if self.request else None
        wait = lockout.locked_for(username, address)
        if wait:
            self._record(username, "refused", "locked out after repeated failures")
            raise forms.ValidationError(
                f"Too many failed logins. Try again in {wait} seconds (each further failure makes the wait "
                "longer), or ask an administrator to reset your password.",
                code="locked",
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if username:
                lockout.failed(username, address)
                self._record(username, "refused", "wrong username or password")
            raise
        lockout.succeeded(username)
        self._record(username, "ok", "", user=self.get_user())
        return cleaned

    def _record(self, username: str, outcome: str, message: str, user=None) -> None:
        with transaction.atomic():
            audit.record(
                "user.login",
                user,
                object_type="user",
                name=username[:150],
                outcome=outcome,
                message=message,
                user=user,
            )

from __future__ import annotations

from django.conf import settings
from django.db import models


class LoginThrottle(models.Model):
    """Failed logins for one username ("user:ada") or from one address ("addr:10.0.0.7"):
    signin/lockout.py. A row exists only while failures count; a successful login deletes the
    username's row."""

    key = models.CharField(max_length=200, unique=True)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)


class SingleSignOnIdentity(models.Model):
    """A person as the OpenID Connect provider knows them (issuer + subject) -> the Sluice user.
    `teams` is what the claim mapping gave at the last sign-in ([[team, role], ...]), for the
    people and teams code to apply (signin/mapping.py)."""

    issuer = models.CharField(max_length=512)
    subject = models.CharField(max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identities"
    )
    email = models.EmailField(blank=True)
    teams = models.JSONField(default=list, blank=True)
    last_login_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="one_user_per_sso_subject")]

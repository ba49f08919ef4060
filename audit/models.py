"""The audit log: one row per state change (or refused / failed attempt at one), written in the
same transaction as the change it records. Never a secret: see audit/changes.py."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    class Outcome(models.TextChoices):
        OK = "ok"
        REFUSED = "refused"  # a clear "no" to the person: invalid input, conflict, not allowed
        FAILED = "failed"  # an unexpected error

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Who: a user, and the access key they signed with when it came through the API (its id only).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text too: the record outlives a deleted user. "system" for the scheduler and workers.
    actor = models.CharField(max_length=150, db_index=True)
    access_key_id = models.CharField(max_length=32, blank=True)
    via = models.CharField(max_length=16, blank=True)  # console, api, cli, system
    address = models.GenericIPAddressField(null=True, blank=True)
    # What: "flow.update", "connection.delete", ...; the object by type, name and id.
    action = models.CharField(max_length=48, db_index=True)
    object_type = models.CharField(max_length=32, db_index=True)
    object_name = models.CharField(max_length=256, blank=True, db_index=True)
    object_id = models.CharField(max_length=64, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.OK)
    message = models.CharField(max_length=1024, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.object_name} ({self.outcome})"

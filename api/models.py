from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from connections.crypto import StrictEncryptedTextField

KEY_ID_PREFIX = "SLK"


def new_key_id() -> str:
    # AWS key ids are 20 upper-case characters; boto3 and the AWS CLI accept any, but keep the look.
    return KEY_ID_PREFIX + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(17))


class AccessKey(models.Model):
    """A user's key for the HTTP API. The secret is kept encrypted, not hashed: verifying a
    Signature Version 4 request means computing the same HMAC, which needs the secret itself.
    It is shown once, when created, and never again."""

    access_key_id = models.CharField(max_length=32, unique=True, default=new_key_id)
    secret_encrypted = StrictEncryptedTextField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_keys")
    description = models.CharField(max_length=256, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.access_key_id

    @property
    def status(self) -> str:
        return "Active" if self.is_active else "Inactive"


class SeenSignature(models.Model):
    """Signatures of mutating requests accepted within the clock-skew window: the same signed
    request sent again is a replay, refused. Rows older than the window are deleted."""

    signature = models.CharField(max_length=64, unique=True)
    seen_at = models.DateTimeField(db_index=True)


class StartToken(models.Model):
    """StartFlow's clientToken: the same token for the same flow answers the run it started
    instead of starting another (botocore fills one in for every call)."""

    flow = models.ForeignKey("flows.Flow", on_delete=models.CASCADE, related_name="+")
    client_token = models.CharField(max_length=256)
    execution_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["flow", "client_token"], name="api_start_token_once")]


class ConnectionTag(models.Model):
    """Tags of a connection (AppFlow tags connector profiles through TagResource only). A flow's
    tags live in its document."""

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=128)
    value = models.CharField(max_length=256, blank=True)

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["connection", "key"], name="api_connection_tag_key")]

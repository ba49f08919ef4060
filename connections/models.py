from __future__ import annotations

import json

from django.conf import settings
from django.db import models
from encrypted_model_fields.fields import EncryptedTextField

from connections.connectors.base import ConnectionInfo
from connections.connectors.registry import resolve_key


class Connection(models.Model):
    """A connection ("connector profile" in AppFlow): where and how to reach one application."""

    class Mode(models.TextChoices):
        PUBLIC = "Public"
        PRIVATE = "Private"

    name = models.CharField(max_length=256, unique=True, help_text="connectorProfileName")
    connector_type = models.CharField(max_length=64, help_text="AppFlow connectorType")
    connector_label = models.CharField(max_length=256, blank=True, help_text="for CustomConnector")
    connection_mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.PUBLIC)
    properties = models.JSONField(default=dict, blank=True)
    # All secrets of a connection as one JSON object, encrypted at rest. Never rendered.
    credentials_encrypted = EncryptedTextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def connector_key(self) -> str:
        return resolve_key(self.connector_type, self.connector_label)

    @property
    def credentials(self) -> dict:
        return json.loads(self.credentials_encrypted) if self.credentials_encrypted else {}

    @credentials.setter
    def credentials(self, value: dict) -> None:
        self.credentials_encrypted = json.dumps(value) if value else ""

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials_encrypted)

    def info(self) -> ConnectionInfo:
        """The plain value the engine and connectors get: never the ORM row."""
        return ConnectionInfo(
            name=self.name,
            connector_type=self.connector_type,
            label=self.connector_label,
            properties=dict(self.properties),
            credentials=self.credentials,
        )

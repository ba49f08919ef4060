from __future__ import annotations

import json
import uuid

from django.conf import settings
from django.db import models

from accounts.models import default_team_id
from connections.connectors.base import ConnectionInfo
from connections.connectors.registry import resolve_key
from connections.crypto import StrictEncryptedTextField


class Connection(models.Model):
    """A connection ("connector profile" in AppFlow): where and how to reach one application."""

    class Mode(models.TextChoices):
        PUBLIC = "Public"
        PRIVATE = "Private"

    class Status(models.TextChoices):
        AVAILABLE = "Available"
        ERROR = "Error"
        NEEDS_REAUTHORIZATION = "NeedsReauthorization", "Needs re-authorization"

    name = models.CharField(max_length=256, unique=True, help_text="connectorProfileName")
    connector_type = models.CharField(max_length=64, help_text="AppFlow connectorType")
    connector_label = models.CharField(max_length=256, blank=True, help_text="for CustomConnector")
    connection_mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.PUBLIC)
    properties = models.JSONField(default=dict, blank=True)
    # All secrets of a connection as one JSON object, encrypted at rest. Never rendered.
    credentials_encrypted = StrictEncryptedTextField(blank=True, default="")
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.AVAILABLE)
    # The connector's own message for the last failure (never a secret: connectors write them).
    status_message = models.CharField(max_length=2048, blank=True)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_test_ok_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Who may see and change it: the members of this team, each as their role allows (accounts/access.py).
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="+",
                             default=default_team_id)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
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


class ConnectionChange(models.Model):
    """The audit trail of connections: who changed what, when, from where. `fields` names what
    changed (plain property values, but for secrets only that they were set or replaced)."""

    class Action(models.TextChoices):
        CREATED = "created"
        UPDATED = "updated"
        DELETED = "deleted"
        TESTED = "tested"
        AUTHORIZED = "authorized"

    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    # Kept as text too: the record outlives a deleted connection.
    connection_name = models.CharField(max_length=256)
    action = models.CharField(max_length=16, choices=Action.choices)
    fields = models.JSONField(default=list, blank=True)
    detail = models.CharField(max_length=2048, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    address = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.connection_name} {self.action}"


class ConnectionTest(models.Model):
    """One press of "Test connection": queued here, run by a worker, polled by the page."""

    class Status(models.TextChoices):
        QUEUED = "Queued"
        RUNNING = "Running"
        PASSED = "Passed"
        FAILED = "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="tests")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    message = models.CharField(max_length=2048, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def done(self) -> bool:
        return self.status in (self.Status.PASSED, self.Status.FAILED)


class EncryptionSentinel(models.Model):
    """One row encrypted with the key in use: startup decrypts it to prove the key is right."""

    value = StrictEncryptedTextField()


class PendingAuthorization(models.Model):
    """One OAuth 2.0 authorization on its way through a provider's consent page: the state and
    PKCE verifier stay here, server-side, one row per attempt (two tabs make two rows). Bound to
    the user and their session; used once (deleted by the callback); short-lived."""

    state_hash = models.CharField(max_length=64, unique=True)  # sha256 of the state sent out
    session_hash = models.CharField(max_length=64)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    connector_key = models.CharField(max_length=256)
    # For a new connection: its name, mode and properties; for Re-authorize: the connection.
    name = models.CharField(max_length=256, blank=True)
    connection_mode = models.CharField(max_length=16, default="Public")
    properties = models.JSONField(default=dict, blank=True)
    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # The PKCE verifier and the client secret typed in the form, as one encrypted JSON object.
    secrets_encrypted = StrictEncryptedTextField(blank=True, default="")
    redirect_uri = models.CharField(max_length=2048)
    # A path on this site to go back to once authorized (the flow wizard's step 2), or "".
    return_to = models.CharField(max_length=2048, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    @property
    def secrets(self) -> dict:
        return json.loads(self.secrets_encrypted) if self.secrets_encrypted else {}

    @secrets.setter
    def secrets(self, value: dict) -> None:
        self.secrets_encrypted = json.dumps(value) if value else ""


class ConnectionMetadata(models.Model):
    """What a connection's service said it has, kept so the wizard does not spend the user's API
    quota on every visit (AppFlow caches too, and resets hourly): the entities under a parent, or
    the fields of an entity, as JSON. Read and written by connections/metadata.py only."""

    class Kind(models.TextChoices):
        ENTITIES = "entities", "Objects"
        FIELDS = "fields", "Fields"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="metadata_cache")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # ENTITIES: the parent ("" for the top level); FIELDS: the entity.
    key = models.CharField(max_length=1024, blank=True)
    data = models.JSONField(default=list)
    item_count = models.PositiveIntegerField(default=0)
    fetched_at = models.DateTimeField()

    class Meta:
        ordering = ["kind", "key"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "kind", "key"], name="one_metadata_entry_per_key"),
        ]

    def __str__(self) -> str:
        return f"{self.connection_id} {self.kind} {self.key}"


class ConnectorRegistration(models.Model):
    """An installed connector package an admin registered (RegisterConnector): only registered
    packages are imported and offered as connectors. The version is the one that was checked;
    a different installed version does not run until UpdateConnectorRegistration checks it."""

    connector_label = models.CharField(max_length=256, unique=True, help_text="connectorLabel")
    description = models.CharField(max_length=2048, blank=True)
    package = models.CharField(max_length=256, help_text="the installed distribution")
    version = models.CharField(max_length=64)
    entry_point = models.CharField(max_length=512, help_text='"module:Class" of sluice.connectors')
    registered_by = models.CharField(max_length=256, blank=True)
    registered_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["connector_label"]

    def __str__(self) -> str:
        return f"{self.connector_label} ({self.package} {self.version})"
class SpecVersion(models.Model):
    """One saved version of a connection's spec (Generic REST, Connector.versioned_field): every
    save that changes the spec keeps the new text, numbered from 1, so the connection page lists
    them with their dates and each can be exported. A spec holds no secrets (genericrest/spec.py
    refuses one that does), so the text is kept as it is. Written by connections/services.py."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="spec_versions")
    number = models.PositiveIntegerField()
    text = models.TextField()
    saved_at = models.DateTimeField(auto_now_add=True)
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "number"], name="one_spec_version_per_number"),
        ]

    def __str__(self) -> str:
        return f"{self.connection_id} v{self.number}"

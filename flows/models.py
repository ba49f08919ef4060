from __future__ import annotations

import json
import uuid

from django.conf import settings
from django.db import models
from django.utils.functional import cached_property


class Flow(models.Model):
    class Status(models.TextChoices):
        DRAFT = "Draft"
        ACTIVE = "Active"
        SUSPENDED = "Suspended"
        ERRORED = "Errored"
        DEPRECATED = "Deprecated"

    name = models.CharField(max_length=256, unique=True)
    description = models.CharField(max_length=2048, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    status_message = models.CharField(max_length=2048, blank=True)
    trigger_type = models.CharField(max_length=16, default="OnDemand")
    current_version = models.ForeignKey(
        "FlowVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The connections the current version uses, kept in step by services.create_flow_version.
    connections = models.ManyToManyField("connections.Connection", related_name="flows", blank=True)
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
    def definition(self) -> dict:
        return self.current_version.definition if self.current_version else {}


class FlowVersion(models.Model):
    """One saved definition of a flow. Immutable: an edit makes a new version."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    # The document as text, exactly as given: PostgreSQL's jsonb would reorder its keys, and users
    # who keep flows as code must get back what they wrote (AppFlow's drift complaint).
    document = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["flow", "-number"]
        constraints = [models.UniqueConstraint(fields=["flow", "number"], name="unique_flow_version")]

    def __str__(self) -> str:
        return f"{self.flow.name} v{self.number}"

    @cached_property
    def definition(self) -> dict:
        return json.loads(self.document)

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("A flow version is immutable; save a new version instead.")
        super().save(*args, **kwargs)


class Execution(models.Model):
    class Status(models.TextChoices):
        IN_PROGRESS = "InProgress"
        SUCCESSFUL = "Successful"
        ERROR = "Error"
        CANCEL_STARTED = "CancelStarted"
        CANCELED = "Canceled"

    class Trigger(models.TextChoices):
        ON_DEMAND = "OnDemand"
        SCHEDULED = "Scheduled"
        EVENT = "Event"

    FINISHED = (Status.SUCCESSFUL, Status.ERROR, Status.CANCELED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="executions")
    # RESTRICT, not PROTECT: a version cannot go while executions point at it, except when the
    # flow itself is deleted and takes both with it.
    version = models.ForeignKey(FlowVersion, on_delete=models.RESTRICT, related_name="executions")
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.ON_DEMAND)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True, help_text="when a worker claimed it")
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=256, blank=True)
    records_processed = models.BigIntegerField(default=0)
    records_written = models.BigIntegerField(default=0)
    record_failures = models.BigIntegerField(default=0)
    bytes_processed = models.BigIntegerField(default=0)
    bytes_written = models.BigIntegerField(default=0)
    # Sluice's own counters: records left out by Filter tasks and by Validate tasks (DropRecord).
    # With them, records_processed = written + filtered + dropped + failures.
    records_filtered = models.BigIntegerField(default=0)
    records_dropped = models.BigIntegerField(default=0)
    error_message = models.TextField(blank=True)
    output_location = models.CharField(max_length=1024, blank=True)
    data_pull_start = models.DateTimeField(null=True, blank=True)
    data_pull_end = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["flow", "-created_at"], name="execution_flow_newest"),
            models.Index(fields=["status"], name="execution_status"),
        ]

    def __str__(self) -> str:
        return f"{self.flow.name} {self.id}"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class ExecutionLog(models.Model):
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="log_lines")
    at = models.DateTimeField(auto_now_add=True)
    level = models.CharField(max_length=8, default="INFO")
    message = models.TextField()

    class Meta:
        ordering = ["id"]

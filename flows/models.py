from __future__ import annotations

import json
import uuid

from django.conf import settings
from django.db import models
from django.utils.functional import cached_property

from accounts.models import default_team_id
from connections.crypto import StrictEncryptedTextField


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
    # Copied from the current version's document (flows/services.py) so the flows list can filter
    # and search with a query rather than by reading every document: the connector keys of the
    # source and destination (an edit cannot change them) and the tags as "key=value" lines.
    source_connector = models.CharField(max_length=256, blank=True)
    destination_connector = models.CharField(max_length=256, blank=True)
    tags_text = models.TextField(blank=True)
    current_version = models.ForeignKey(
        "FlowVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The connections the current version uses, kept in step by services.create_flow_version.
    connections = models.ManyToManyField("connections.Connection", related_name="flows", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Who may see and change it: the members of this team, each as their role allows (accounts/access.py).
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="+",
                             default=default_team_id)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The next scheduled slot (UTC). Set only while a Scheduled flow is Active, so the dispatcher's
    # one query is "next_run_at <= now" on a partial index of the flows that have one.
    next_run_at = models.DateTimeField(null=True, blank=True)
    # When it was last activated: where a rate schedule without a scheduleStartTime counts from.
    activated_at = models.DateTimeField(null=True, blank=True)
    # How often a run retries a transient connector failure (timeout, 429, 5xx) before it fails.
    # How often a run retries a transient connector failure (timeouts, 429, 5xx) before it fails.
    transient_retries = models.PositiveSmallIntegerField(default=3)
    # Anomaly guardrails (flows/guardrails.py), off unless chosen: a run that reads no record, or
    # whose records processed differ from the median of the last `guardrail_baseline_runs`
    # successful runs by more than `guardrail_change_percent` %, is flagged or failed.
    guardrail_zero_records = models.BooleanField(default=False)
    guardrail_change_percent = models.PositiveIntegerField(null=True, blank=True)
    guardrail_baseline_runs = models.PositiveSmallIntegerField(default=5)
    guardrail_action = models.CharField(
        max_length=8, default="warn", choices=[("warn", "Warn"), ("fail", "Fail the run")]
    )

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(
                fields=["next_run_at"], name="flow_due", condition=models.Q(next_run_at__isnull=False)
            ),
        ]

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
        # Sluice's own: a scheduled slot that did not run (the previous run was still going).
        SKIPPED = "Skipped"

    class Trigger(models.TextChoices):
        ON_DEMAND = "OnDemand"
        SCHEDULED = "Scheduled"
        EVENT = "Event"

    FINISHED = (Status.SUCCESSFUL, Status.ERROR, Status.CANCELED, Status.SKIPPED)

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
    # HTTP requests the run sent to the source's and the destination's service, and to OAuth token
    # endpoints (connections/connectors/apicalls.py): people pay for them against their API quota.
    source_api_calls = models.BigIntegerField(default=0)
    destination_api_calls = models.BigIntegerField(default=0)
    token_refreshes = models.BigIntegerField(default=0)
    error_message = models.TextField(blank=True)
    output_location = models.CharField(max_length=1024, blank=True)
    # The first record failures, [{"where": "record 17", "reason": "..."}] (Counters.SAMPLE_SIZE),
    # for the execution page: structured, so the page can show them as a table however long the
    # log grows. The records themselves are not kept here.
    failure_sample = models.JSONField(default=list, blank=True)
    # Where errorHandlingConfig wrote every rejected record with its reason ("" if nowhere).
    rejects_location = models.CharField(max_length=1024, blank=True)
    data_pull_start = models.DateTimeField(null=True, blank=True)
    data_pull_end = models.DateTimeField(null=True, blank=True)
    # The schedule slot this execution is for; unique per flow, so racing dispatchers make one.
    scheduled_for = models.DateTimeField(null=True, blank=True)
    # Written by the worker every few seconds while it runs; the reconciler reads it.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The lease (flows/runner.py): the attempt now running the execution and the token of the worker
    # holding it ("" until a worker claims the attempt). Only the holder may commit or set the outcome;
    # the reconciler moves a silent execution to a new attempt, which fences the old holder out.
    attempt = models.PositiveIntegerField(default=1)
    lease = models.CharField(max_length=64, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set by a guardrail on a run that succeeded but looks wrong (flows/guardrails.py): the pages
    # show "Successful with warning" and this reason.
    warning = models.TextField(blank=True)
    # A retry of another execution's rejected records (flows/reprocess.py): it read those instead
    # of the flow's source.
    reprocess_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.RESTRICT, related_name="reprocess_runs"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["flow", "-created_at"], name="execution_flow_newest"),
            # The admin's filters, each with the list's order (flows/admin.py, bench/pages.py); the
            # first also serves every "status = / status in" lookup of the dispatcher and reconciler.
            models.Index(fields=["status", "-created_at"], name="execution_status_newest"),
            models.Index(fields=["trigger", "-created_at"], name="execution_trigger_newest"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["flow", "scheduled_for"], name="one_execution_per_slot"),
        ]

    def __str__(self) -> str:
        return f"{self.flow.name} {self.id}"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def display_status(self) -> str:
        """The status as the pages show it: a guardrail's warning qualifies a success."""
        if self.warning and self.status == self.Status.SUCCESSFUL:
            return "Successful with warning"
        return self.status

    @property
    def api_calls(self) -> int:
        return self.source_api_calls + self.destination_api_calls + self.token_refreshes

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class ExecutionAttempt(models.Model):
    """One try at an execution by one worker, for the execution page: a lost worker's run is tried
    again (SLUICE_RUN_ATTEMPTS), and each try shows who ran it and how it ended."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    worker = models.CharField(max_length=256, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=64, blank=True)  # "" while it runs

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["execution", "number"], name="one_row_per_attempt")]


class ExecutionLog(models.Model):
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="log_lines")
    at = models.DateTimeField(auto_now_add=True)
    level = models.CharField(max_length=8, default="INFO")
    message = models.TextField()

    class Meta:
        ordering = ["id"]


class FlowActivity(models.Model):
    """Who changed a flow's state, and why: activations, deactivations (by a person or after
    failures), skipped slots. The flow page shows it; AppFlow keeps this in CloudTrail."""

    class Action(models.TextChoices):
        ACTIVATED = "activated", "Activated"
        DEACTIVATED = "deactivated", "Deactivated"
        AUTO_DEACTIVATED = "auto-deactivated", "Deactivated by Sluice"
        SCHEDULE_ENDED = "schedule-ended", "Schedule ended"
        SECRET_ROTATED = "webhook-key", "Webhook key"
        SETTINGS_CHANGED = "settings", "Settings changed"
        VERSION_SAVED = "version", "New version"

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="activity")
    at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["flow", "-at"], name="flow_activity_newest")]


class EventEndpoint(models.Model):
    """The webhook of an Event-triggered flow: a secret URL and the HMAC key that signs requests.
    The key is stored encrypted (it must be read back to verify signatures) and shown only once."""

    flow = models.OneToOneField(Flow, on_delete=models.CASCADE, related_name="event_endpoint")
    token = models.CharField(max_length=64, unique=True)  # the unguessable part of the URL
    secret = StrictEncryptedTextField()
    # Where the idempotency key is: "header:<Name>" or "json:<dotted.path>"; empty: none.
    idempotency_key = models.CharField(max_length=256, default="header:Idempotency-Key", blank=True)
    dedupe_seconds = models.PositiveIntegerField(default=24 * 3600)
    rotated_at = models.DateTimeField(auto_now_add=True)


class EventDelivery(models.Model):
    """One request to a flow's webhook and what became of it: the event log on the flow page."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted"
        DUPLICATE = "duplicate"
        REJECTED = "rejected"

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="event_deliveries")
    received_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.CharField(max_length=512, blank=True)
    idempotency_key = models.CharField(max_length=256, blank=True)
    # SHA-256 of the request's valid signature: the same signed request sent again (a replay,
    # whatever idempotency key it carries) is found by it. Empty for requests not validly signed.
    signature_digest = models.CharField(max_length=64, blank=True, default="")
    body_bytes = models.PositiveIntegerField(default=0)
    execution = models.ForeignKey(
        Execution, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["flow", "-received_at"], name="event_delivery_newest"),
            models.Index(fields=["flow", "idempotency_key", "received_at"], name="event_delivery_key"),
            models.Index(fields=["flow", "signature_digest", "received_at"], name="event_delivery_signature"),
        ]


class RunEvent(models.Model):
    """A run event in the shape of AppFlow's EventBridge notifications: recorded always, and sent
    to the notification channels that want it."""

    class Kind(models.TextChoices):
        START = "AppFlow Start Flow Run Report"
        END = "AppFlow End Flow Run Report"
        SCHEDULED_DEACTIVATED = "AppFlow Scheduled Flow Deactivated"
        EVENT_DEACTIVATED = "AppFlow Event Flow Deactivated"
        EVENT_REPORT = "AppFlow Event Flow Report"
        # Sluice's own: a run tripped one of its flow's guardrails (flows/guardrails.py)
        RUN_ANOMALY = "Sluice Flow Run Anomaly"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="run_events")
    execution = models.ForeignKey(Execution, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="run_events")
    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=64, choices=Kind.choices)
    failure = models.BooleanField(default=False)  # for channels that want failures only
    detail = models.JSONField(default=dict)

    class Meta:
        ordering = ["at"]
        indexes = [models.Index(fields=["flow", "-at"], name="run_event_newest")]


class NotificationChannel(models.Model):
    class Kind(models.TextChoices):
        WEBHOOK = "webhook", "Webhook (JSON)"
        EMAIL = "email", "Email"

    class When(models.TextChoices):
        ALWAYS = "always", "Every run event"
        FAILURES = "failures", "Failures only"

    name = models.CharField(max_length=128, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    target = models.CharField(max_length=1024, help_text="the URL, or the email addresses (comma-separated)")
    secret = StrictEncryptedTextField(blank=True, default="")  # webhook HMAC key; optional
    flow = models.ForeignKey(Flow, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="notification_channels", help_text="empty: every flow")
    when = models.CharField(max_length=16, choices=When.choices, default=When.FAILURES)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class NotificationDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"

    event = models.ForeignKey(RunEvent, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(NotificationChannel, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=1024, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["event", "channel"], name="one_delivery_per_channel")]


class FlowDraft(models.Model):
    """A flow being built (or edited) in the wizard: the CreateFlow-shaped document so far, saved
    after each valid step. Kept in the database, never in the session, and never holding a
    secret: the document names connections, it does not copy them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="flow_drafts")
    # Set when the draft edits an existing flow: saving it adds a version to that flow.
    flow = models.ForeignKey(Flow, null=True, blank=True, on_delete=models.CASCADE, related_name="drafts")
    document = models.TextField(default="{}")
    # The furthest step completed so far (a slug of flows.wizard.steps.STEPS).
    step = models.CharField(max_length=16, default="details")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"draft {self.id} ({self.flow.name if self.flow_id else 'new flow'})"

    @property
    def data(self) -> dict:
        try:
            value = json.loads(self.document or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    @property
    def title(self) -> str:
        return str(self.data.get("flowName") or "Untitled flow")

    @property
    def step_title(self) -> str:
        from flows.wizard import steps  # the wizard's step list; it imports no models

        step = steps.get(self.step)
        return f"{step.number}. {step.title}" if step else self.step


class DraftPreview(models.Model):
    """The Preview of wizard steps 3 and 4 (flows/wizard/preview.py): the first records of a
    draft's source through its tasks, computed by a worker. `document` is the draft as it was when
    the preview was asked for, so the result matches what the user saw; `result` is
    flows.engine.preview's Preview as JSON text. Holds sample records, never a secret; deleted
    with its draft and replaced by the next preview."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        ERROR = "error", "Error"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    draft = models.ForeignKey(FlowDraft, on_delete=models.CASCADE, related_name="previews")
    step = models.CharField(max_length=16)
    limit = models.PositiveIntegerField(default=20)
    document = models.TextField(default="{}")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    records_read = models.PositiveIntegerField(default=0)
    result = models.TextField(blank=True, default="")
    message = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"preview {self.id} of {self.draft_id} ({self.status})"


class EventSubscription(models.Model):
    """A Salesforce event flow's place in its channel (the Streaming API's replay id) and the
    subscriber's state, shown on the flow page. The replay id moves on only once a run's
    destination has committed the events up to it (flows/salesforce_events.commit_replay)."""

    flow = models.OneToOneField(Flow, on_delete=models.CASCADE, related_name="event_subscription")
    channel = models.CharField(max_length=256)
    replay_id = models.BigIntegerField(null=True, blank=True)  # the last committed event's
    replay_at = models.DateTimeField(null=True, blank=True)  # when it was received
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    subscriber = models.CharField(max_length=256, blank=True)  # host:pid of the process
    note = models.CharField(max_length=2048, blank=True)  # the subscriber's last word
    gap = models.CharField(max_length=2048, blank=True)  # events that may have been lost, and why


class ReceivedEvent(models.Model):
    """One event the subscriber received, kept until a run delivered it. Unique per flow and
    replay id: an event Salesforce sends again (a replay after a crash) is stored once, so it is
    delivered once."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="received_events")
    replay_id = models.BigIntegerField()
    channel = models.CharField(max_length=256)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    execution = models.ForeignKey(
        Execution, null=True, blank=True, on_delete=models.SET_NULL, related_name="received_events"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["flow", "replay_id"], name="received_event_once")]
        indexes = [models.Index(fields=["flow", "execution"], name="received_event_pending")]
